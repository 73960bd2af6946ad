/**
 * Engine.IO request validation, shared by polling and WebSocket: the checks engine.io's
 * `verify()` and `handshake()` make, in the same order, with the same error codes.
 */
import { EngineErrorCode } from './engine-error.js';

/** The query of an Engine.IO request, copied out of uWS's request. */
export interface EngineQuery {
  readonly params: URLSearchParams;
  readonly transport: string | null;
  readonly sid: string | null;
  readonly protocol: string | null;
}

/** Reads the Engine.IO parameters of a raw query string. */
export function parseEngineQuery(rawQuery: string | undefined): EngineQuery {
  const params = new URLSearchParams(rawQuery ?? '');
  return { params, transport: params.get('transport'), sid: params.get('sid'), protocol: params.get('EIO') };
}

/** Why a request is refused, or the session it belongs to (undefined: a new handshake). */
export type RequestVerdict<S> =
  { readonly ok: true; readonly session: S | undefined } | { readonly ok: false; readonly code: EngineErrorCode };

/**
 * Checks a request: known transport, protocol v4, a known sid (looked up in `sessions`), and
 * GET for a handshake.
 */
export function verifyEngineRequest<S>(
  query: EngineQuery,
  method: string,
  isUpgrade: boolean,
  sessions: ReadonlyMap<string, S>,
): RequestVerdict<S> {
  const { transport, sid } = query;
  if (transport !== 'polling' && transport !== 'websocket')
    return { ok: false, code: EngineErrorCode.unknownTransport };
  if (sid !== null) {
    const session = sessions.get(sid);
    if (session === undefined) return { ok: false, code: EngineErrorCode.unknownSid };
    if (query.protocol !== '4') return { ok: false, code: EngineErrorCode.badRequest };
    return { ok: true, session };
  }
  if (method !== 'get') return { ok: false, code: EngineErrorCode.badHandshakeMethod };
  if (transport === 'websocket' && !isUpgrade) return { ok: false, code: EngineErrorCode.badRequest };
  if (query.protocol !== '4') return { ok: false, code: EngineErrorCode.unsupportedProtocolVersion };
  return { ok: true, session: undefined };
}
