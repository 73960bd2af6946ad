/**
 * The WebSocket transport over uWebSockets.js: a direct session (`transport=websocket`, no
 * sid) or the probe of an upgrade from polling. Each socket's user data points at its session;
 * there are no per-socket closures.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { TransportFailure } from '../../machines/engine-session-machine.js';
import type { EngineContext } from './engine-context.js';
import { engineErrorMessage } from './engine-error.js';
import { EngineSession, type WebSocketData } from './engine-session.js';
import { parseEngineQuery, verifyEngineRequest } from './handshake-request.js';
import { generateId } from './socket-io-socket.js';
import { uws } from '../uws.js';

/** How many bytes may wait in a socket's send buffer before uWS drops frames (then we close). */
const MAX_BACKPRESSURE = 4 * 1024 * 1024;

/** What uWS reports (with code 1006) when it cut a client off for a frame over maxPayloadLength. */
const TOO_BIG_MESSAGE = 'Received too big message';

/** The uWS WebSocket behavior for the engine's path. */
export function createWebSocketBehavior(context: EngineContext): WebSocketBehavior<WebSocketData> {
  return {
    compression: uws.DISABLED,
    maxPayloadLength: context.options.maxPayload,
    maxBackpressure: MAX_BACKPRESSURE,
    // Engine.IO's own ping/pong keeps sessions alive and detects dead peers.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, socketContext) => guarded(() => upgrade(context, res, req, socketContext)),
    open: (ws) => guarded(() => open(context, ws)),
    message: (ws, frame, isBinary) => guarded(() => message(ws, frame, isBinary)),
    close: (ws, code, message) => guarded(() => close(ws, code, message)),
  };
}

function guarded(run: () => void): void {
  try {
    run();
  } catch (error) {
    // Never let an exception escape a uWS callback: it would abort the process.
    console.error('engine: WebSocket callback failed', error);
  }
}

function upgrade(
  context: EngineContext,
  res: HttpResponse,
  req: HttpRequest,
  socketContext: us_socket_context_t,
): void {
  const query = parseEngineQuery(req.getQuery());
  const key = req.getHeader('sec-websocket-key');
  const protocol = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const origin = req.getHeader('origin');
  const verdict = verifyEngineRequest(query, 'get', true, context.sessions);
  if (!verdict.ok || query.transport !== 'websocket') {
    const message = verdict.ok ? 'Bad request' : engineErrorMessage(verdict.code);
    res.writeStatus('400 Bad Request').writeHeader('Content-Type', 'text/html').end(message, true);
    return;
  }
  const session = verdict.session;
  // An upgrade for a session that already upgraded or is upgrading is accepted, then closed
  // (engine.io does the same: the client sees a close, not an HTTP error).
  const role = session === undefined ? 'main' : canProbe(session) ? 'probe' : 'reject';
  const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
  const data: WebSocketData = { session: session ?? null, role, query: query.params, remoteAddress, origin };
  res.upgrade(data, key, protocol, extensions, socketContext);
}

function canProbe(session: EngineSession): boolean {
  return session.snapshot.matches({ open: 'polling' });
}

function open(context: EngineContext, ws: WebSocket<WebSocketData>): void {
  const data = ws.getUserData();
  if (data.role === 'main') {
    const session = new EngineSession(generateId(), context, data.query, data.remoteAddress, data.origin);
    data.session = session;
    context.sessions.set(session.id, session);
    session.ws = ws;
    session.send({ type: 'transport.open', transport: 'websocket' });
    return;
  }
  const session = data.session;
  if (data.role === 'probe' && session !== null && session.isOpen && canProbe(session)) {
    session.probe = ws;
    session.send({ type: 'transport.upgradeStart' });
    return;
  }
  data.session = null;
  data.role = 'reject';
  ws.end(1008, 'upgrade refused');
}

function message(ws: WebSocket<WebSocketData>, frame: ArrayBuffer, isBinary: boolean): void {
  const data = ws.getUserData();
  const session = data.session;
  if (session === null) return;
  if (data.role === 'main') session.receiveWebSocketFrame(frame, isBinary);
  else if (data.role === 'probe') session.receiveProbeFrame(frame, isBinary);
}

function close(ws: WebSocket<WebSocketData>, code: number, message: ArrayBuffer): void {
  const data = ws.getUserData();
  const session = data.session;
  data.session = null;
  if (session === null) return;
  if (session.ws === ws) {
    session.ws = null;
    session.send({ type: 'transport.close', reason: transportFailureOf(code, message) });
  } else if (session.probe === ws) {
    session.probe = null;
    session.send({ type: 'transport.upgradeFail' });
  }
}

/** Why a WebSocket went away, from its close code (and uWS's own message for 1006). */
function transportFailureOf(code: number, message: ArrayBuffer): TransportFailure {
  if (code === 1000 || code === 1001 || code === 1005) return 'transport close';
  if (code === 1009 || (code === 1006 && Buffer.from(message).toString() === TOO_BIG_MESSAGE))
    return 'payload too large';
  return 'transport error';
}
