/**
 * The inspector's HTTP side on the server's uWS app: the stream (WebSocket, `/inspector/events`)
 * and the viewer page (`GET /inspector`), both behind the token when one is required (401
 * otherwise, before anything is sent). Without `--inspect` every `/inspector` path answers 404.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocket } from 'uWebSockets.js';
import { uws } from '../uws.js';
import { endWith, getAndHead } from '../head-response.js';
import type { AllowedOrigins } from '../engine/engine-options.js';
import { isOriginAllowed } from '../engine/origin-policy.js';
import { sendStaticFile, type StaticFile } from '../static-files.js';
import type { InspectionHub } from './inspection-hub.js';
import type { InspectionViewer } from './inspection-viewer.js';
import { isInspectorTokenAccepted, type InspectorAccess } from './inspector-access.js';

/** Path of the stream. */
export const INSPECTOR_EVENTS_PATH = '/inspector/events';

/** How the inspector's routes are set up. */
export interface InspectorRouteOptions {
  readonly access: InspectorAccess;
  /** Page origins allowed besides the server's own and loopback (as for the engine). */
  readonly allowedOrigins: AllowedOrigins;
  /** The web app's files: the viewer page is its `/inspector.html` or `/inspector/index.html`. */
  readonly files: ReadonlyMap<string, StaticFile>;
}

/** What each viewer socket keeps. */
interface ViewerData {
  viewer: InspectionViewer | undefined;
}

/** Registers the inspector's routes: the real ones with a hub, 404s without. */
export function routeInspector(
  app: TemplatedApp,
  hub: InspectionHub | undefined,
  options: InspectorRouteOptions,
): void {
  if (hub === undefined) {
    getAndHead(app, '/inspector', (res, _req, head) => notFound(res, head));
    getAndHead(app, '/inspector/*', (res, _req, head) => notFound(res, head));
    return;
  }
  const { access, allowedOrigins, files } = options;
  // The WebSocket route first: uWS yields a plain GET of the same path to the next route.
  app.ws<ViewerData>(INSPECTOR_EVENTS_PATH, {
    compression: uws.DISABLED,
    // Viewers only listen; anything they send is ignored, and small.
    maxPayloadLength: 4096,
    // Above the hub's own limit by a frame's worth or so: the hub drops before uWS would.
    maxBackpressure: hub.viewerLimits.maxBufferedBytes + 1_048_576,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      const token = req.getQuery('token') ?? '';
      const origin = req.getHeader('origin');
      const host = req.getHeader('host');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (!isInspectorTokenAccepted(access, token)) return unauthorized(res, false);
      if (!isOriginAllowed(origin, host, allowedOrigins)) return refuse(res, '403 Forbidden', 'Origin not allowed\n');
      if (hub.viewerCount >= hub.maxViewers) return refuse(res, '503 Service Unavailable', 'Too many viewers\n');
      res.upgrade<ViewerData>({ viewer: undefined }, key, protocol, extensions, context);
    },
    open: (ws: WebSocket<ViewerData>) => {
      ws.getUserData().viewer = hub.addViewer({
        send: (frame) => ws.send(frame, false),
        getBufferedAmount: () => ws.getBufferedAmount(),
        end: (code, reason) => ws.end(code, reason),
      });
    },
    drain: (ws: WebSocket<ViewerData>) => ws.getUserData().viewer?.drained(),
    close: (ws: WebSocket<ViewerData>) => {
      const { viewer } = ws.getUserData();
      if (viewer !== undefined) hub.removeViewer(viewer);
    },
  });
  const page = (res: HttpResponse, req: HttpRequest, head: boolean): void => {
    if (!isInspectorTokenAccepted(access, req.getQuery('token') ?? '')) return unauthorized(res, head);
    const file = files.get('/inspector.html') ?? files.get('/inspector/index.html');
    if (file === undefined) return sendFallbackPage(res, head);
    sendStaticFile(res, file, {
      ifNoneMatch: req.getHeader('if-none-match'),
      acceptEncoding: req.getHeader('accept-encoding'),
      head,
    });
  };
  getAndHead(app, '/inspector', page);
  getAndHead(app, '/inspector/', page);
  // The page's own files, if it was built under /inspector/ (its assets carry no token).
  getAndHead(app, '/inspector/*', (res, req, head) => {
    const file = files.get(req.getUrl());
    if (file === undefined) return notFound(res, head);
    sendStaticFile(res, file, {
      ifNoneMatch: req.getHeader('if-none-match'),
      acceptEncoding: req.getHeader('accept-encoding'),
      head,
    });
  });
}

function notFound(res: HttpResponse, head: boolean): void {
  res.cork(() => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain');
    endWith(res, 'Not found\n', head);
  });
}

function unauthorized(res: HttpResponse, head: boolean): void {
  res.cork(() => {
    res
      .writeStatus('401 Unauthorized')
      .writeHeader('content-type', 'text/plain')
      .writeHeader('cache-control', 'no-store');
    endWith(res, 'The inspector needs its token: ?token=... (printed when the server started).\n', head);
  });
}

function refuse(res: HttpResponse, status: string, body: string): void {
  res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(body));
}

/** Served when the web app has no viewer page: where the stream is. No script, so no CSP question. */
function sendFallbackPage(res: HttpResponse, head: boolean): void {
  const body =
    '<!doctype html><meta charset="utf-8"><title>Parley inspector</title>' +
    '<h1>Parley live state inspector</h1>' +
    `<p>The stream of Stately inspection events is the WebSocket at <code>${INSPECTOR_EVENTS_PATH}</code> ` +
    '(with the same <code>?token=</code> as this page, if the server needs one). ' +
    'This server has no viewer page built: <code>npm run build</code> builds one.</p>\n';
  res.cork(() => {
    res
      .writeHeader('content-type', 'text/html; charset=utf-8')
      .writeHeader('cache-control', 'no-store')
      .writeHeader('referrer-policy', 'no-referrer')
      .writeHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    endWith(res, body, head);
  });
}
