/**
 * CORS for the polling transport. Like engine.io, an allowed origin is reflected with
 * credentials allowed (the session cookie and auth headers may ride along); a request without
 * an `Origin` header is same-origin and gets no CORS headers at all.
 */
import type { HttpResponse } from 'uWebSockets.js';

/** Which origins may poll cross-origin. */
export type CorsOrigins = readonly string[] | '*';

/** True when `origin` (non-empty) may make cross-origin requests. */
export function isOriginAllowed(origin: string, allowed: CorsOrigins): boolean {
  return origin !== '' && (allowed === '*' || allowed.includes(origin));
}

/** Writes the CORS headers of a simple request (GET/POST) when `origin` is allowed. */
export function writeCorsHeaders(res: HttpResponse, origin: string, allowed: CorsOrigins): void {
  if (!isOriginAllowed(origin, allowed)) return;
  res.writeHeader('Access-Control-Allow-Origin', origin);
  res.writeHeader('Access-Control-Allow-Credentials', 'true');
  res.writeHeader('Vary', 'Origin');
}

/**
 * Answers an OPTIONS preflight: 204 with the allowed methods and the requested headers when the
 * origin is allowed, 403 otherwise.
 */
export function answerPreflight(
  res: HttpResponse,
  origin: string,
  requestedHeaders: string,
  allowed: CorsOrigins,
  closeConnection: boolean,
): void {
  if (!isOriginAllowed(origin, allowed)) {
    res.writeStatus('403 Forbidden');
    if (closeConnection) res.writeHeader('Connection', 'close');
    res.end(undefined, closeConnection);
    return;
  }
  res.writeStatus('204 No Content');
  writeCorsHeaders(res, origin, allowed);
  res.writeHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  if (requestedHeaders !== '') res.writeHeader('Access-Control-Allow-Headers', requestedHeaders);
  res.writeHeader('Access-Control-Max-Age', '86400');
  if (closeConnection) res.writeHeader('Connection', 'close');
  res.end(undefined, closeConnection);
}
