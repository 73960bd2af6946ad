/**
 * The signaling contract shared by the server, the browser adapter and the tests, in the shape
 * socket.io's typed events use. docs/protocol.md is the prose version of this file.
 */
import { SignalingError, type SignalingErrorPayload } from './signaling-error.js';
import type { InspectionEvent, InspectorPayload } from './inspection-events.js';

export type { InspectionEvent, InspectorPayload } from './inspection-events.js';

/** The room a client joins when it names none: the original example's single room. */
export const DEFAULT_ROOM = 'room';

/** A session description relayed between the two peers (the original example's shape). */
export interface DescriptionSignal {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
}

/** A trickled ICE candidate; `null` marks the end of candidates. */
export interface CandidateSignal {
  readonly type: 'candidate';
  readonly candidate: IceCandidateJson | null;
}

/** What `RTCIceCandidate.toJSON()` produces, which is what browsers put on the wire. */
export interface IceCandidateJson {
  readonly candidate: string;
  readonly sdpMid?: string | null;
  readonly sdpMLineIndex?: number | null;
  readonly usernameFragment?: string | null;
}

/** The payload of a `data` event, in either direction. */
export type SignalPayload = DescriptionSignal | CandidateSignal;

/** Which side of perfect negotiation a peer plays. */
export type PeerRole = 'polite' | 'impolite';

/** Sent to a peer when it joins: its room and its role for perfect negotiation. */
export interface RolePayload {
  readonly room: string;
  readonly role: PeerRole;
  /**
   * True when the peer got its old seat and role back with a resume token (after the server
   * restarted): the same call goes on, nothing is to be renegotiated. Absent on a fresh join.
   */
  readonly resumed?: true;
}

/**
 * A peer's resume token (src/signaling/resume-token.ts): present it as `auth.resume` when
 * reconnecting and the room gives the seat back. Sent after `role`, and again whenever the call
 * it names changes (`ready`, `peer-left`); only the latest is worth keeping.
 */
export interface ResumeTokenPayload {
  readonly token: string;
}

/** One ICE server entry, as `RTCPeerConnection`'s `iceServers` takes it. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** Fresh ICE servers for this client, with TURN credentials valid for `ttl` seconds. */
export interface IceServersPayload {
  readonly iceServers: readonly IceServer[];
  readonly ttl: number;
}

/** Events the server emits to a client. */
export interface ServerToClientEvents {
  /** The room now holds two peers; sent to the peer that was waiting (it offers). */
  ready: () => void;
  /** A signal from the other peer, relayed unchanged. */
  data: (payload: SignalPayload) => void;
  /** The other peer left; the room is back to waiting. */
  'peer-left': () => void;
  /** This peer's room and perfect-negotiation role. */
  role: (payload: RolePayload) => void;
  /** The token to resume this seat with after a reconnection to another server process. */
  'resume-token': (payload: ResumeTokenPayload) => void;
  /** ICE servers with fresh TURN credentials. */
  'ice-servers': (payload: IceServersPayload) => void;
  /** A request was refused; the connection stays up unless the server closes it. */
  error: (payload: SignalingErrorPayload) => void;
  /**
   * The server runs the live state inspector (`parley serve --inspect`): publish this peer's
   * machines with `inspect`. Sent right after `role`, only when inspection is on.
   */
  inspector: (payload: InspectorPayload) => void;
}

/** Events a client emits to the server. */
export interface ClientToServerEvents {
  /** Relay a signal to the other peer of the room. */
  data: (payload: SignalPayload) => void;
  /** Leave the room; the server then disconnects this socket. */
  leave: () => void;
  /**
   * A batch of this browser's inspection events (its own actor ids), once the server said
   * `inspector`. See src/protocol/inspection-events.ts for the limits.
   */
  inspect: (batch: readonly InspectionEvent[]) => void;
}

/** The handshake auth payload (`io(url, { auth })`). */
export interface HandshakeAuth {
  readonly room?: string;
  /**
   * The room's secret, if it has one: set by the first peer, required of the second (see
   * docs/security.md). Only ever in the auth payload, never in the query string.
   */
  readonly secret?: string;
  /** The last `resume-token` the server gave this peer, when reconnecting: "I was in this call". */
  readonly resume?: string;
}

/** What a CONNECT asks for: a room, and the secret it was opened with, if any. */
export interface JoinRequest {
  readonly room: string;
  readonly secret: string | undefined;
  /** A resume token to verify (it may be forged, expired or another room's). */
  readonly resume: string | undefined;
}

/** Longest resume token accepted in the auth payload, in characters. */
export const MAX_RESUME_TOKEN_LENGTH = 256;

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest room secret, in characters. */
export const MAX_ROOM_SECRET_LENGTH = 128;

/** Returns the room name if valid, or throws `bad-room-name` saying why. */
export function parseRoomName(value: unknown): string {
  if (typeof value !== 'string') throw SignalingError.badRoomName(`expected a string, got ${describe(value)}`);
  if (value.length === 0) throw SignalingError.badRoomName('it is empty');
  if (value.length > 64) throw SignalingError.badRoomName(`it has ${value.length} characters, at most 64 are allowed`);
  if (!ROOM_NAME.test(value)) throw SignalingError.badRoomName('only A-Z, a-z, 0-9, "_" and "-" are allowed');
  return value;
}

/** Returns the room secret if valid (absent is valid), or throws `bad-handshake` saying why. */
export function parseRoomSecret(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ROOM_SECRET_LENGTH) {
    const got = typeof value === 'string' ? `${value.length} characters` : describe(value);
    throw SignalingError.badHandshake(
      `"secret" must be a string of 1 to ${MAX_ROOM_SECRET_LENGTH} characters, got ${got}`,
    );
  }
  return value;
}

/**
 * Reads the join request from the handshake. The room is `auth.room`, else the `room` query
 * parameter, else the default room; the secret is `auth.secret`, the resume token `auth.resume`.
 * Throws `bad-handshake` for a
 * wrongly typed auth payload or secret, or a secret in the query string (where it would end up
 * in proxy logs), and `bad-room-name` for an invalid name.
 */
export function parseHandshake(auth: unknown, query: URLSearchParams): JoinRequest {
  if (auth !== undefined && auth !== null && (typeof auth !== 'object' || Array.isArray(auth))) {
    throw SignalingError.badHandshake(`auth must be an object, got ${describe(auth)}`);
  }
  if (query.has('secret')) {
    throw SignalingError.badHandshake('send the room secret in the auth payload, not in the query string');
  }
  const fields = (auth ?? {}) as { room?: unknown; secret?: unknown; resume?: unknown };
  const fromQuery = query.get('room');
  const room =
    fields.room !== undefined
      ? parseRoomName(fields.room)
      : fromQuery !== null
        ? parseRoomName(fromQuery)
        : DEFAULT_ROOM;
  return { room, secret: parseRoomSecret(fields.secret), resume: parseResumeToken(fields.resume) };
}

/**
 * Returns the resume token if it is a plausible string (absent is valid), or throws
 * `bad-handshake`. Whether it verifies is the server's question (resume-token.ts).
 */
export function parseResumeToken(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RESUME_TOKEN_LENGTH) {
    const got = typeof value === 'string' ? `${value.length} characters` : describe(value);
    throw SignalingError.badHandshake(
      `"resume" must be a string of 1 to ${MAX_RESUME_TOKEN_LENGTH} characters, got ${got}`,
    );
  }
  return value;
}

/** Returns the payload as a `SignalPayload`, or throws `bad-payload` saying what is wrong. */
export function parseSignal(value: unknown): SignalPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw SignalingError.badPayload('data', `expected an object, got ${describe(value)}`);
  }
  const signal = value as Record<string, unknown>;
  switch (signal['type']) {
    case 'offer':
    case 'answer':
      if (typeof signal['sdp'] !== 'string') {
        throw SignalingError.badPayload('data', `"${signal['type']}" needs a string "sdp"`);
      }
      return value as DescriptionSignal;
    case 'candidate': {
      const candidate = signal['candidate'];
      if (candidate === null || candidate === undefined) return value as CandidateSignal;
      if (
        typeof candidate !== 'object' ||
        Array.isArray(candidate) ||
        typeof (candidate as IceCandidateJson).candidate !== 'string'
      ) {
        throw SignalingError.badPayload('data', '"candidate" must be an RTCIceCandidate in JSON form, or null');
      }
      return value as CandidateSignal;
    }
    default:
      throw SignalingError.badPayload('data', '"type" must be "offer", "answer" or "candidate"');
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
