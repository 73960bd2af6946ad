/**
 * Stable error codes of the signaling protocol. Clients switch on these; the human message may
 * change between releases, the code never does. See docs/protocol.md.
 */
export type SignalingErrorCode =
  | 'room-full'
  | 'bad-room-name'
  | 'bad-handshake'
  | 'bad-payload'
  | 'no-peer'
  | 'unknown-event'
  | 'rate-limited'
  | 'inspect-refused'
  | 'unavailable';

/** Every code, for validation and exhaustive tests. */
export const SIGNALING_ERROR_CODES: ReadonlySet<SignalingErrorCode> = new Set<SignalingErrorCode>([
  'room-full',
  'bad-room-name',
  'bad-handshake',
  'bad-payload',
  'no-peer',
  'unknown-event',
  'rate-limited',
  'inspect-refused',
  'unavailable',
]);

/** Characters of a client-chosen event name quoted back in a message; the rest is cut. */
export const QUOTED_EVENT_NAME_LENGTH = 64;

/** The wire shape of an error: the payload of the `error` event and of CONNECT_ERROR's `data`. */
export interface SignalingErrorPayload {
  readonly code: SignalingErrorCode;
  readonly message: string;
}

/** A protocol error with a literal code and a message meant for people. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';

  constructor(
    readonly code: SignalingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The serialisable form sent to clients. */
  toPayload(): SignalingErrorPayload {
    return { code: this.code, message: this.message };
  }

  /**
   * A third peer asked to join a room that already holds a call. `reconnecting`: one of its two
   * seats is held for a peer whose connection dropped (the same code: the room is full all the same).
   */
  static roomFull(room: string, reconnecting = false): SignalingError {
    return new SignalingError(
      'room-full',
      reconnecting
        ? `Room "${room}" is full: it holds two peers, one of them reconnecting.`
        : `Room "${room}" is full: it already holds two peers.`,
    );
  }

  /** The room name is not 1 to 64 characters of A-Z, a-z, 0-9, `_` and `-`. */
  static badRoomName(reason: string): SignalingError {
    return new SignalingError('bad-room-name', `Invalid room name: ${reason}.`);
  }

  /** The handshake (auth payload or query) has the wrong shape. */
  static badHandshake(reason: string): SignalingError {
    return new SignalingError('bad-handshake', `Invalid handshake: ${reason}.`);
  }

  /** An event's payload does not match the protocol. */
  static badPayload(event: string, reason: string): SignalingError {
    return new SignalingError('bad-payload', `Invalid "${event}" payload: ${reason}.`);
  }

  /** A `data` message was sent while the room holds no other peer to relay it to. */
  static noPeer(): SignalingError {
    return new SignalingError('no-peer', 'Nothing relayed: no other peer is in the room yet.');
  }

  /** The client emitted an event the protocol does not define. */
  static unknownEvent(event: string): SignalingError {
    return new SignalingError('unknown-event', `Unknown event "${quoteEventName(event)}".`);
  }

  /** The client sends messages faster than the server takes them: this one was dropped. */
  static rateLimited(event: string): SignalingError {
    return new SignalingError(
      'rate-limited',
      `Too many messages: "${quoteEventName(event)}" was dropped. Slow down, or the server closes the connection.`,
    );
  }

  /**
   * An `inspect` batch was not taken: the socket is not a peer of a room (any more), or the
   * batch is larger than the inspector takes. Nothing of it reached a viewer.
   */
  static inspectRefused(reason: string): SignalingError {
    return new SignalingError('inspect-refused', `Inspection events refused: ${reason}.`);
  }

  /**
   * The server cannot decide right now because its shared state (Redis, with `--redis`) is out of
   * reach: nothing was changed, and the same request may succeed in a moment.
   */
  static unavailable(why: string): SignalingError {
    return new SignalingError(
      'unavailable',
      `The server cannot reach its shared state right now (${why}) Try again in a moment.`,
    );
  }

  /** This client's address was issued too many TURN credentials lately: it got STUN servers only. */
  static turnRateLimited(): SignalingError {
    return new SignalingError(
      'rate-limited',
      'TURN credentials are rate-limited: too many were issued to your address lately, so only STUN servers were given. Rejoin later to get TURN.',
    );
  }
}

/** The event name as quoted in a message: a client may send a long one, and the message must stay short. */
function quoteEventName(event: string): string {
  return event.length > QUOTED_EVENT_NAME_LENGTH ? `${event.slice(0, QUOTED_EVENT_NAME_LENGTH)}…` : event;
}
