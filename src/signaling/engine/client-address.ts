/**
 * The address a client's limits are counted against. Behind a reverse proxy every connection
 * comes from the proxy; when the peer is one of `trustedProxies`, the client is the address the
 * proxy appended to `X-Forwarded-For` (its last entry: earlier ones are the client's to forge).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { HttpResponse } from 'uWebSockets.js';

/** Reads the client's address (call in the request tick). */
export function clientAddress(res: HttpResponse, forwardedFor: string, trustedProxies: readonly string[]): string {
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
  if (trustedProxies.length === 0 || forwardedFor === '' || !trustedProxies.includes(peer)) return peer;
  const last = forwardedFor.slice(forwardedFor.lastIndexOf(',') + 1).trim();
  return last === '' ? peer : last;
}

/**
 * The key an address is limited under: an IPv4 address as itself (also when written as an
 * IPv4-mapped IPv6 address, as a dual-stack listener reports it), an IPv6 address by its /64
 * (one subscriber usually holds a whole /64, so its single addresses are free to pick).
 * Anything else is used as it is.
 */
export function addressKey(address: string): string {
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = expandIPv6(address);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function expandIPv6(address: string): number[] {
  let text = address.split('%')[0];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined): number[] =>
    part === undefined || part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const front = parse(head);
  const back = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back];
}
