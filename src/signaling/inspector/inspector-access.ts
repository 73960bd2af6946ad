/**
 * Who may watch the inspector. On a loopback address only this machine can connect, so no token
 * is needed; on any other address a token is: the one given (`--inspect-token`), else a fresh
 * random one that the server prints once when it starts. A token given on loopback is required
 * all the same. The token travels as `?token=` on `/inspector` and `/inspector/events`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** What the operator asked for. */
export interface InspectorAccessRequest {
  /** The address the server listens on. */
  readonly host: string;
  /** `--inspect-token`, if given. */
  readonly token?: string;
  /** Treat the address as reachable by others even if it is loopback (tests, proxies). */
  readonly public?: boolean;
}

/** The decision: the token viewers must bring, or none. */
export interface InspectorAccess {
  readonly token: string | undefined;
  /** True when the server made the token up, so it must say it once. */
  readonly generated: boolean;
}

/** Decides whether the inspector needs a token, and which. */
export function resolveInspectorAccess(request: InspectorAccessRequest): InspectorAccess {
  if (request.token !== undefined && request.token !== '') return { token: request.token, generated: false };
  if (isLoopbackHost(request.host) && request.public !== true) return { token: undefined, generated: false };
  return { token: randomBytes(32).toString('base64url'), generated: true };
}

/** True when `given` (the `token` query parameter, '' when absent) opens the inspector. */
export function isInspectorTokenAccepted(access: InspectorAccess, given: string): boolean {
  if (access.token === undefined) return true;
  const wanted = Buffer.from(access.token);
  const offered = Buffer.from(given);
  return offered.length === wanted.length && timingSafeEqual(offered, wanted);
}
