/**
 * The engine's WebSocket route: a direct session (`transport=websocket`, no sid) or the probe of
 * an upgrade from polling. The upgrade request is checked (origin, query, address limits)
 * before any socket exists; each socket's user data holds only its transport.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { uws } from '../uws.js';
import type { Refusal } from './address-table.js';
import { clientAddress } from './client-address.js';
import { EngineErrorCode, engineErrorBody, engineErrorMessage } from './engine-error.js';
import type { EngineRuntime } from './engine-runtime.js';
import { parseEngineQuery, verifyEngineRequest } from './handshake-request.js';
import { isOriginAllowed } from './origin-policy.js';
import type { SessionTable } from './session-table.js';
import { WebSocketTransport, type WebSocketData } from './websocket-transport.js';

/** The uWS WebSocket behavior for the engine's path. */
export function createWebSocketRoute(runtime: EngineRuntime, sessions: SessionTable): WebSocketBehavior<WebSocketData> {
  const guarded =
    <A extends unknown[]>(run: (...args: A) => void) =>
    (...args: A): void => {
      try {
        run(...args);
      } catch (error) {
        // Never let an exception escape a uWS callback: it would abort the process.
        runtime.faults.report({ error: String(error) }, 'engine: WebSocket callback failed');
      }
    };
  return {
    compression: uws.DISABLED,
    maxPayloadLength: runtime.options.maxPayload,
    maxBackpressure: runtime.options.maxBufferedBytes,
    // Engine.IO's own ping/pong keeps sessions alive and detects dead peers.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: guarded((res: HttpResponse, req: HttpRequest, context: us_socket_context_t) =>
      upgrade(runtime, sessions, res, req, context),
    ),
    open: guarded((ws: WebSocket<WebSocketData>) => open(sessions, ws)),
    message: guarded((ws: WebSocket<WebSocketData>, frame: ArrayBuffer, isBinary: boolean) =>
      ws.getUserData().transport.receiveFrame(frame, isBinary),
    ),
    close: guarded((ws: WebSocket<WebSocketData>, code: number, message: ArrayBuffer) => {
      const { transport } = ws.getUserData();
      runtime.addresses.releaseConnection(transport.handshake.address);
      transport.closedBy(code, message);
    }),
  };
}

function upgrade(
  runtime: EngineRuntime,
  sessions: SessionTable,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
): void {
  const query = parseEngineQuery(req.getQuery());
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const origin = req.getHeader('origin');
  const address = clientAddress(res, req.getHeader('x-forwarded-for'), runtime.options.trustedProxies);
  if (!isOriginAllowed(origin, req.getHeader('host'), runtime.options.allowedOrigins)) {
    runtime.stats.countRefusal('origin');
    refuse(res, '403 Forbidden', engineErrorBody(EngineErrorCode.forbidden, 'Origin not allowed'));
    return;
  }
  const verdict = verifyEngineRequest(query, 'get', true, sessions.byId);
  if (!verdict.ok || query.transport !== 'websocket') {
    refuse(res, '400 Bad Request', verdict.ok ? 'Bad request' : engineErrorMessage(verdict.code));
    return;
  }
  const session = verdict.session;
  if (session === undefined) {
    const refusal = sessions.admit(address);
    if (refusal !== undefined) {
      refuseFor(res, refusal);
      return;
    }
  }
  const refusal = runtime.addresses.takeConnection(address);
  if (refusal !== undefined) {
    if (session === undefined) runtime.addresses.closeSession(address);
    refuseFor(res, refusal);
    return;
  }
  // An upgrade for a session that already upgraded or is upgrading is accepted, then closed
  // (engine.io does the same: the client sees a close, not an HTTP error).
  const transport = new WebSocketTransport({ query: query.params, address, origin }, session?.id ?? null);
  res.upgrade<WebSocketData>({ transport }, key, protocol, extensions, context);
}

function refuseFor(res: HttpResponse, refusal: Refusal): void {
  refuse(res, refusal.status, engineErrorBody(EngineErrorCode.forbidden, refusal.message));
}

function refuse(res: HttpResponse, status: string, body: string): void {
  res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(body, true);
}

function open(sessions: SessionTable, ws: WebSocket<WebSocketData>): void {
  const { transport } = ws.getUserData();
  transport.opened(ws);
  if (transport.upgradeOf === null) {
    const [session] = sessions.open(transport.handshake, () => transport);
    transport.attach(session);
    session.send({ type: 'transport.open', transport: 'websocket' });
    return;
  }
  const session = sessions.byId.get(transport.upgradeOf);
  if (session === undefined || !session.isOpen || !session.canProbe()) {
    transport.refuse();
    return;
  }
  transport.attach(session);
  session.acceptProbe(transport);
}
