/**
 * HTTP long-polling over uWebSockets.js: the handshake GET, the waiting GET, the POST of
 * packets, and the CORS preflight. Everything needed is copied out of `req` before any
 * callback runs; every response written outside its request tick is corked.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { answerPreflight } from './cors.js';
import type { EngineContext } from './engine-context.js';
import { EngineErrorCode, writeEngineError } from './engine-error.js';
import { EngineSession } from './engine-session.js';
import { parseEngineQuery, verifyEngineRequest, type EngineQuery } from './handshake-request.js';
import { endResponse, readResponseStyle, writeResponseHead, type ResponseStyle } from './response-style.js';
import { generateId } from './socket-io-socket.js';

/** The uWS handler for every HTTP method on the engine's path. */
export function createPollingHandler(context: EngineContext): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    try {
      handleHttpRequest(context, res, req);
    } catch (error) {
      // Never let an exception escape a uWS callback: it would abort the process.
      console.error('engine: HTTP request failed', error);
      try {
        res.cork(() => res.writeStatus('500 Internal Server Error').end());
      } catch {
        // The response was already ended or aborted.
      }
    }
  };
}

function handleHttpRequest(context: EngineContext, res: HttpResponse, req: HttpRequest): void {
  const method = req.getMethod().toLowerCase();
  const style = readResponseStyle(req, context.options.corsOrigins);
  if (method === 'options') {
    const requestedHeaders = req.getHeader('access-control-request-headers');
    answerPreflight(res, style.origin, requestedHeaders, style.corsOrigins, style.closeConnection);
    return;
  }
  const query = parseEngineQuery(req.getQuery());
  const verdict = verifyEngineRequest(query, method, false, context.sessions);
  if (!verdict.ok) {
    if (takeTombstoneOfGet(context, method, query, verdict.code)) {
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
    openPollingSession(context, res, query.params, style);
    return;
  }
  if (query.transport !== 'polling' || session.ws !== null) {
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
  if (method === 'get') pollRequest(session, res, style);
  else if (method === 'post') dataRequest(session, res, req.getHeader('content-length'), style);
  else writeEngineError(res, EngineErrorCode.badRequest, style);
}

/** True if this is a long-poll GET for a closed session with a tombstone, which it uses up. */
function takeTombstoneOfGet(
  context: EngineContext,
  method: string,
  query: EngineQuery,
  code: EngineErrorCode,
): boolean {
  return (
    code === EngineErrorCode.unknownSid &&
    method === 'get' &&
    query.transport === 'polling' &&
    query.sid !== null &&
    context.tombstones.take(query.sid)
  );
}

function openPollingSession(
  context: EngineContext,
  res: HttpResponse,
  query: URLSearchParams,
  style: ResponseStyle,
): void {
  const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
  const session = new EngineSession(generateId(), context, query, remoteAddress, style.origin);
  context.sessions.set(session.id, session);
  // The handshake GET is the first poll: the open packet answers it.
  session.poll = res;
  session.pollStyle = style;
  session.send({ type: 'transport.open', transport: 'polling' });
}

function pollRequest(session: EngineSession, res: HttpResponse, style: ResponseStyle): void {
  if (session.poll !== null) {
    // engine.io: "overlap from client" is a transport error.
    writeEngineError(res, EngineErrorCode.badRequest, style);
    session.send({ type: 'transport.close', reason: 'transport error' });
    return;
  }
  res.onAborted(() => {
    if (session.poll !== res) return;
    session.poll = null;
    session.pollStyle = null;
    session.send({ type: 'transport.close', reason: 'transport close' });
  });
  session.poll = res;
  session.pollStyle = style;
  if (session.pollBuffer.length > 0) session.flushPoll();
  else if (session.snapshot.matches({ open: { upgrading: 'probed' } })) session.respondToPoll('6');
}

function dataRequest(
  session: EngineSession,
  res: HttpResponse,
  contentLengthHeader: string,
  style: ResponseStyle,
): void {
  const { maxPayload } = session.context.options;
  const declaredLength = contentLengthHeader === '' ? 0 : Number(contentLengthHeader);
  if (declaredLength > maxPayload) {
    writeResponseHead(res, '413 Payload Too Large', style);
    endResponse(res, style);
    session.send({ type: 'transport.close', reason: 'payload too large' });
    return;
  }
  if (session.posting) {
    writeEngineError(res, EngineErrorCode.badRequest, style);
    session.send({ type: 'transport.close', reason: 'transport error' });
    return;
  }
  session.posting = true;
  let finished = false;
  let received = 0;
  const chunks: Buffer[] = [];
  res.onAborted(() => {
    if (finished) return;
    finished = true;
    session.posting = false;
    session.send({ type: 'transport.close', reason: 'transport error' });
  });
  res.onData((chunk, isLast) => {
    if (finished) return;
    try {
      received += chunk.byteLength;
      if (received > maxPayload) {
        finished = true;
        session.posting = false;
        res.cork(() => {
          writeResponseHead(res, '413 Payload Too Large', style);
          res.writeHeader('Connection', 'close');
          res.end(undefined, true);
        });
        session.send({ type: 'transport.close', reason: 'payload too large' });
        return;
      }
      // uWS reuses the chunk's memory after this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      finished = true;
      session.posting = false;
      res.cork(() => {
        writeResponseHead(res, '200 OK', style);
        res.writeHeader('Content-Type', 'text/html');
        endResponse(res, style, 'ok');
      });
      if (session.isOpen) session.receivePayload(Buffer.concat(chunks, received).toString('utf8'));
    } catch (error) {
      console.error('engine: POST handling failed', error);
      if (session.isOpen) session.send({ type: 'transport.close', reason: 'transport error' });
    }
  });
}
