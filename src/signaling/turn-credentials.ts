/**
 * Time-limited TURN credentials in the "TURN REST API" scheme that coturn checks with
 * `use-auth-secret` / `static-auth-secret`
 * (https://datatracker.ietf.org/doc/html/draft-uberti-behave-turn-rest-00):
 * username `<expiry unix time>:<id>`, password base64(HMAC-SHA1(secret, username)).
 * The secret stays on the server; clients only ever see derived, expiring credentials.
 */
import { createHmac } from 'node:crypto';
import type { IceServer, IceServersPayload } from '../protocol/signaling-events.js';

/** Where the TURN and STUN servers are and how to sign for them. */
export interface TurnConfig {
  readonly turnUrls: readonly string[];
  readonly turnSecret: string | undefined;
  /** Credential lifetime in seconds. */
  readonly turnTtl: number;
  readonly stunUrls: readonly string[];
}

/** The default credential lifetime: one day, as coturn's documentation suggests. */
export const DEFAULT_TURN_TTL = 86_400;

/** Derives the coturn REST password for a username. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Issues the ICE servers for one client: STUN URLs as they are, TURN URLs with a fresh username
 * and password that expire `turnTtl` seconds from `nowMs`.
 */
export function issueIceServers(config: TurnConfig, clientId: string, nowMs: number = Date.now()): IceServersPayload {
  const iceServers: IceServer[] = [];
  if (config.stunUrls.length > 0) iceServers.push({ urls: [...config.stunUrls] });
  if (config.turnUrls.length > 0 && config.turnSecret !== undefined) {
    const expiry = Math.floor(nowMs / 1000) + config.turnTtl;
    const username = `${expiry}:${clientId}`;
    iceServers.push({ urls: [...config.turnUrls], username, credential: turnPassword(config.turnSecret, username) });
  }
  return { iceServers, ttl: config.turnTtl };
}
