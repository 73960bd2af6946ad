/**
 * Time-limited TURN credentials in the "TURN REST API" scheme that coturn checks with
 * `use-auth-secret` / `static-auth-secret`
 * (https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00):
 * username `<expiry unix time>:<id>`, password base64(HMAC-SHA1(secret, username)).
 * The secret stays on the server; clients only ever see derived, expiring credentials.
 */
import { createHmac } from 'node:crypto';
import type { IceServer, IceServersPayload } from '../protocol/signaling-events.js';
import type { RateLimit } from './address-rate-limiter.js';

/** Where the TURN and STUN servers are and how to sign for them. */
export interface TurnConfig {
  readonly turnUrls: readonly string[];
  readonly turnSecret: string | undefined;
  /** Credential lifetime in seconds. */
  readonly turnTtl: number;
  readonly stunUrls: readonly string[];
}

/**
 * The default credential lifetime: one hour. Credentials cannot be revoked, so whoever copies
 * them out of a page can relay through the TURN server until they expire; a call that outlives
 * them keeps its allocation (coturn checks the expiry when a session is created, not after:
 * https://github.com/coturn/coturn/issues/774), and the signaling server sends a peer that stays
 * fresh ones before they expire (`TURN_REFRESH_FRACTION` in signaling-namespace.ts).
 */
export const DEFAULT_TURN_TTL = 3_600;

/** How many credentials one client address gets by default: 10 at once, then 10 a minute. */
export const DEFAULT_TURN_RATE: RateLimit = { perMinute: 10, burst: 10 };

/** Derives the coturn REST password for a username. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Issues the ICE servers for one client: STUN URLs as they are, TURN URLs with a fresh username
 * and password that expire `turnTtl` seconds from `nowMs`.
 */
export function issueIceServers(config: TurnConfig, clientId: string, nowMs: number = Date.now()): IceServersPayload {
  const iceServers = stunServers(config);
  if (issuesTurnCredentials(config)) {
    const expiry = Math.floor(nowMs / 1000) + config.turnTtl;
    const username = `${expiry}:${clientId}`;
    iceServers.push({ urls: [...config.turnUrls], username, credential: turnPassword(config.turnSecret, username) });
  }
  return { iceServers, ttl: config.turnTtl };
}

/** The ICE servers without TURN, for a client that gets no TURN credentials this time. */
export function issueStunServers(config: TurnConfig): IceServersPayload {
  return { iceServers: stunServers(config), ttl: config.turnTtl };
}

/** Whether `config` has TURN servers and a secret to sign credentials for them with. */
export function issuesTurnCredentials(config: TurnConfig): config is TurnConfig & { readonly turnSecret: string } {
  return config.turnUrls.length > 0 && config.turnSecret !== undefined;
}

function stunServers(config: TurnConfig): IceServer[] {
  return config.stunUrls.length > 0 ? [{ urls: [...config.stunUrls] }] : [];
}
