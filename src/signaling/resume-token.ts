/**
 * Resume tokens: a peer's identity that outlasts its connection, and even the server process.
 *
 * On admission the server gives each peer a token that names a random peer identity, its
 * perfect-negotiation role, the identity of the peer it is in a call with (if any) and an expiry,
 * signed with HMAC-SHA256 over those fields and the room's key. A client that reconnects to a
 * fresh process (after a restart: docs/protocol.md, "Resume after a restart") presents it in its
 * CONNECT auth, and the room re-forms around the two identities in their old roles, without
 * either peer renegotiating.
 *
 * A token is a bearer credential for its room until it expires. It never contains the room's
 * name or secret: the room key is only part of what the MAC covers, so a token presented for any
 * other room (or without the room's secret) fails verification. Anything that does not verify is
 * ignored and the peer joins afresh; a token is never trusted on its shape alone.
 *
 *   token = base64url(body) "." base64url(HMAC-SHA256(secret, "parley-resume-1" NUL roomKey NUL body))
 *   body  = version (1 byte) | role (1: 0 impolite, 1 polite) | expiry (4: Unix seconds, big-endian)
 *           | peer identity (15) | partner identity (15, absent when alone)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_RESUME_TOKEN_LENGTH, type PeerRole } from '../protocol/signaling-events.js';

/** How long a token stays valid after it was issued, by default: longer than any sensible call. */
export const DEFAULT_RESUME_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Bytes of a peer identity: 15, the size of a socket id (engine/ids.ts), so that a peer's
 * identity can be the id of the socket it first joined with.
 */
const IDENTITY_BYTES = 15;
const VERSION = 1;
const HEADER_BYTES = 6;
const MAC_DOMAIN = 'parley-resume-1';

/** What a verified token says about its bearer. */
export interface ResumeGrant {
  /** The peer's identity in its room (base64url, 20 characters). */
  readonly peerId: string;
  readonly role: PeerRole;
  /** The identity of the peer it was in a call with when the token was issued, if any. */
  readonly partnerId: string | undefined;
  /** When the token stops being accepted, in ms since the epoch (whole seconds). */
  readonly expiresAt: number;
}

/** A fresh random peer identity: 120 bits, base64url (20 characters). */
export function newPeerIdentity(): string {
  return randomBytes(IDENTITY_BYTES).toString('base64url');
}

/** Whether `id` has the shape of a peer identity (a socket id of this server has it). */
export function isPeerIdentity(id: string): boolean {
  return id.length === 20 && Buffer.from(id, 'base64url').toString('base64url') === id;
}

/** Issues and verifies the resume tokens of one server (or of every process that shares its secret). */
export class ResumeTokens {
  readonly #secret: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /**
   * `secret`: the HMAC key, at least 16 bytes of it (`--resume-secret`, or the state file of
   * resume-secret.ts). `ttlMs`: how long an issued token stays valid.
   */
  constructor(secret: string | Buffer, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#secret = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (this.#secret.length < 16) throw new RangeError('a resume secret needs at least 16 bytes');
    this.#ttlMs = options.ttlMs ?? DEFAULT_RESUME_TOKEN_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** A token for `peerId` in room `roomKey` (room-registry.ts's `roomKey`), valid for the TTL from now. */
  issue(roomKey: string, grant: Omit<ResumeGrant, 'expiresAt'>): string {
    const peer = identityBytes(grant.peerId);
    const partner = grant.partnerId === undefined ? undefined : identityBytes(grant.partnerId);
    const body = Buffer.alloc(HEADER_BYTES + IDENTITY_BYTES * (partner === undefined ? 1 : 2));
    body[0] = VERSION;
    body[1] = grant.role === 'polite' ? 1 : 0;
    body.writeUInt32BE(Math.ceil((this.#now() + this.#ttlMs) / 1000), 2);
    peer.copy(body, HEADER_BYTES);
    partner?.copy(body, HEADER_BYTES + IDENTITY_BYTES);
    return `${body.toString('base64url')}.${this.#mac(roomKey, body).toString('base64url')}`;
  }

  /**
   * What `token` grants in room `roomKey`, or undefined when it was not issued for that room
   * with this secret, was altered, is malformed or has expired. Compares MACs in constant time.
   */
  verify(roomKey: string, token: string): ResumeGrant | undefined {
    if (token.length > MAX_RESUME_TOKEN_LENGTH) return undefined;
    const dot = token.indexOf('.');
    if (dot < 0) return undefined;
    const body = fromBase64url(token.slice(0, dot));
    const mac = fromBase64url(token.slice(dot + 1));
    if (body === undefined || mac === undefined) return undefined;
    const expected = this.#mac(roomKey, body);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    // Signed by us, so well formed unless the format changed: check anyway, it costs nothing.
    const identities = (body.length - HEADER_BYTES) / IDENTITY_BYTES;
    if (body[0] !== VERSION || (identities !== 1 && identities !== 2) || body[1] > 1) return undefined;
    const expiresAt = body.readUInt32BE(2) * 1000;
    if (expiresAt <= this.#now()) return undefined;
    const identityAt = (index: number) =>
      body
        .subarray(HEADER_BYTES + index * IDENTITY_BYTES, HEADER_BYTES + (index + 1) * IDENTITY_BYTES)
        .toString('base64url');
    return {
      peerId: identityAt(0),
      role: body[1] === 1 ? 'polite' : 'impolite',
      partnerId: identities === 2 ? identityAt(1) : undefined,
      expiresAt,
    };
  }

  #mac(roomKey: string, body: Buffer): Buffer {
    return createHmac('sha256', this.#secret).update(`${MAC_DOMAIN}\u0000${roomKey}\u0000`).update(body).digest();
  }
}

function identityBytes(identity: string): Buffer {
  const bytes = Buffer.from(identity, 'base64url');
  if (bytes.length !== IDENTITY_BYTES) throw new RangeError(`not a peer identity: ${identity}`);
  return bytes;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: Node's decoder skips foreign characters, which would let altered tokens through the same MAC. */
function fromBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Non-canonical trailing bits would also decode to the same bytes: refuse them.
  return bytes.toString('base64url') === text ? bytes : undefined;
}
