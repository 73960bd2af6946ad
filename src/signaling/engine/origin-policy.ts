/**
 * Which page origins may use the engine, and the CORS headers they get. Browsers send `Origin`
 * on WebSocket upgrades and on cross-origin (and most same-origin) requests; a request without
 * it does not come from a page and passes. A page's origin passes when it is the server's own
 * (same host as the request's `Host`), a loopback origin, or on the allowlist. With `'*'` any
 * origin passes and CORS answers `*`: a wildcard is never combined with credentials, as the
 * Fetch standard requires (https://fetch.spec.whatwg.org/#cors-protocol-and-credentials).
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { AllowedOrigins } from './engine-options.js';

/** True when a request with `origin` (maybe '') to `host` may use the engine. */
export function isOriginAllowed(origin: string, host: string, allowed: AllowedOrigins): boolean {
  if (origin === '' || allowed === '*') return true;
  if (allowed.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    // 'null' (sandboxed frames, file: pages) and garbage are not origins we know.
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.host === host.toLowerCase() || isLoopbackHost(url.hostname);
}

function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/** Writes the CORS headers of a response to an allowed `origin` (nothing without one). */
export function writeCorsHeaders(res: HttpResponse, origin: string, allowed: AllowedOrigins): void {
  if (origin === '') return;
  if (allowed === '*') {
    res.writeHeader('Access-Control-Allow-Origin', '*');
    return;
  }
  res.writeHeader('Access-Control-Allow-Origin', origin);
  res.writeHeader('Access-Control-Allow-Credentials', 'true');
  res.writeHeader('Vary', 'Origin');
}
