/**
 * The engine's HTTP route: the polling handshake GET, the waiting GET, the POST of packets and
 * the CORS preflight. The origin is checked before anything else, so a disallowed page's POST
 * is never read. Everything needed is copied out of `req` before any callback runs.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { endHeadResponse } from '../head-response.js';
import { clientAddress } from './client-address.js';
import { EngineErrorCode, writeEngineError, writeRefusal } from './engine-error.js';
import type { EngineRuntime } from './engine-runtime.js';
import { parseEngineQuery, verifyEngineRequest, type EngineQuery } from './handshake-request.js';
import { isOriginAllowed, writeCorsHeaders } from './origin-policy.js';
import { PollingTransport } from './polling-transport.js';
import { endResponse, readResponseStyle, writeResponseHead, type ResponseStyle } from './response-style.js';
import type { SessionTable } from './session-table.js';

/** The uWS handler for every HTTP method on the engine's path. */
export function createPollingRoute(
  runtime: EngineRuntime,
  sessions: SessionTable,
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    try {
      handleRequest(runtime, sessions, res, req);
    } catch (error) {
      // Never let an exception escape a uWS callback: it would abort the process.
      runtime.faults.report({ error: String(error) }, 'engine: HTTP request failed');
      try {
        res.cork(() => res.writeStatus('500 Internal Server Error').end(undefined, true));
      } catch {
        // The response was already ended or aborted.
      }
    }
  };
}

function handleRequest(runtime: EngineRuntime, sessions: SessionTable, res: HttpResponse, req: HttpRequest): void {
  const method = req.getMethod().toLowerCase();
  const style = readResponseStyle(req, runtime.options.allowedOrigins);
  if (!isOriginAllowed(style.origin, style.host, style.allowedOrigins)) {
    runtime.stats.countRefusal('origin');
    // engine.io answers a refused origin 403 {code: 4}; no CORS headers, so the page reads nothing.
    const body = JSON.stringify({ code: EngineErrorCode.forbidden, message: 'Origin not allowed' });
    res.writeStatus('403 Forbidden').writeHeader('Content-Type', 'application/json');
    if (style.closeConnection) res.writeHeader('Connection', 'close');
    // uWS would write the body to a HEAD too, and the client would read it as the next response.
    if (method === 'head') endHeadResponse(res, Buffer.byteLength(body));
    else res.end(body, style.closeConnection);
    return;
  }
  if (method === 'head') {
    // No body (see head-response.ts), but a Content-Length: without one Node's keep-alive
    // agent takes the response as ending at close, and drops the connection after it.
    res.writeStatus('400 Bad Request');
    if (style.closeConnection) res.writeHeader('Connection', 'close');
    endHeadResponse(res, 0);
    return;
  }
  if (method === 'options') {
    answerPreflight(res, req.getHeader('access-control-request-headers'), style);
    return;
  }
  const query = parseEngineQuery(req.getQuery());
  const verdict = verifyEngineRequest(query, method, false, sessions.byId);
  if (!verdict.ok) {
    if (takeTombstoneOfGet(runtime, method, query, verdict.code)) {
      // The server closed this session while no GET was pending: the close packet, once.
      writeResponseHead(res, '200 OK', style);
      res.writeHeader('Content-Type', 'text/plain; charset=UTF-8');
      endResponse(res, style, '1');
      return;
    }
    writeEngineError(res, verdict.code, style);
    return;
  }
  const session = verdict.session;
  if (session === undefined) {
    const address = clientAddress(res, req.getHeader('x-forwarded-for'), runtime.options.trustedProxies);
    openSession(sessions, res, address, query.params, style);
    return;
  }
  const transport = session.transport;
  if (query.transport !== 'polling' || !(transport instanceof PollingTransport)) {
    // After an upgrade the WebSocket alone carries the session (engine.io: TRANSPORT_MISMATCH).
    writeEngineError(res, EngineErrorCode.badRequest, style);
    return;
  }
  if (session.isPongOverdue()) {
    // The pong deadline passed and its timer is about to fire: the session is already dead.
    session.send({ type: 'heartbeat.timeout' });
    writeEngineError(res, EngineErrorCode.unknownSid, style);
    return;
  }
  if (method === 'get') {
    transport.receiveGet(res, style);
    // A probed upgrade pauses polling: the client waits for this GET to end before it upgrades.
    if (session.snapshot.matches({ open: { transport: { upgrading: 'probed' } } })) transport.releaseWithNoop();
  } else if (method === 'post') transport.receivePost(res, req.getHeader('content-length'), style);
  else writeEngineError(res, EngineErrorCode.badRequest, style);
}

/** True if this is a long-poll GET for a closed session with a tombstone, which it uses up. */
function takeTombstoneOfGet(
  runtime: EngineRuntime,
  method: string,
  query: EngineQuery,
  code: EngineErrorCode,
): boolean {
  return (
    code === EngineErrorCode.unknownSid &&
    method === 'get' &&
    query.transport === 'polling' &&
    query.sid !== null &&
    runtime.tombstones.take(query.sid)
  );
}

function openSession(
  sessions: SessionTable,
  res: HttpResponse,
  address: string,
  query: URLSearchParams,
  style: ResponseStyle,
): void {
  const refusal = sessions.admit(address);
  if (refusal !== undefined) {
    writeRefusal(res, refusal, style);
    return;
  }
  const [session, transport] = sessions.open(
    { query, address, origin: style.origin },
    (sid) => new PollingTransport(sessions.runtime, sid, address),
  );
  transport.attach(session);
  // The handshake GET is the first poll: the open packet answers it.
  transport.acceptHandshake(res, style);
  session.send({ type: 'transport.open', transport: 'polling' });
}

/** Answers an OPTIONS preflight of an allowed origin: 204 with the allowed methods and headers. */
function answerPreflight(res: HttpResponse, requestedHeaders: string, style: ResponseStyle): void {
  res.writeStatus('204 No Content');
  writeCorsHeaders(res, style.origin, style.allowedOrigins);
  res.writeHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  if (requestedHeaders !== '') res.writeHeader('Access-Control-Allow-Headers', requestedHeaders);
  res.writeHeader('Access-Control-Max-Age', '86400');
  if (style.closeConnection) res.writeHeader('Connection', 'close');
  res.end(undefined, style.closeConnection);
}
