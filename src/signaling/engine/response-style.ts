/**
 * How one HTTP request wants its response: CORS for its origin, and whether the connection
 * closes after it. uWS closes a connection whose request said `Connection: close` but does not
 * say so in the response; Node's keep-alive agent would then reuse the dead socket (ECONNRESET),
 * so the header is written explicitly, as Node's own HTTP server does.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { AllowedOrigins } from './engine-options.js';
import { writeCorsHeaders } from './origin-policy.js';

/** Copied out of the request synchronously; enough to finish its response later. */
export interface ResponseStyle {
  /** The `Origin` header, '' when absent. */
  readonly origin: string;
  /** The `Host` header. */
  readonly host: string;
  readonly allowedOrigins: AllowedOrigins;
  readonly closeConnection: boolean;
}

/** Reads the response style of `req` (call in the request tick). */
export function readResponseStyle(req: HttpRequest, allowedOrigins: AllowedOrigins): ResponseStyle {
  return {
    origin: req.getHeader('origin'),
    host: req.getHeader('host'),
    allowedOrigins,
    closeConnection: req.getHeader('connection').toLowerCase().includes('close'),
  };
}

/** Writes the status and the headers every engine response carries. */
export function writeResponseHead(res: HttpResponse, status: string, style: ResponseStyle): void {
  res.writeStatus(status);
  writeCorsHeaders(res, style.origin, style.allowedOrigins);
  if (style.closeConnection) res.writeHeader('Connection', 'close');
}

/** Ends the response (after {@link writeResponseHead} and any own headers). */
export function endResponse(res: HttpResponse, style: ResponseStyle, body?: string): void {
  res.end(body, style.closeConnection);
}
