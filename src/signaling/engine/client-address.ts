/**
 * The address a client's limits are counted against. Behind a reverse proxy every connection
 * comes from the proxy; when the peer is one of `trustedProxies`, the client is the address the
 * proxy appended to `X-Forwarded-For` (its last entry: earlier ones are the client's to forge).
 */
import type { HttpResponse } from 'uWebSockets.js';

/** Reads the client's address (call in the request tick). */
export function clientAddress(res: HttpResponse, forwardedFor: string, trustedProxies: readonly string[]): string {
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
  if (trustedProxies.length === 0 || forwardedFor === '' || !trustedProxies.includes(peer)) return peer;
  const last = forwardedFor.slice(forwardedFor.lastIndexOf(',') + 1).trim();
  return last === '' ? peer : last;
}
