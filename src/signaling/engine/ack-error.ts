/** Why an acknowledgement the server asked a client for will never come. */
import type { DisconnectReason } from './namespace-handler.js';

/** The two ways a server-to-client ack fails; programs switch on these, not on the message. */
export type AckErrorCode = 'ack-timeout' | 'disconnected';

/** Rejects the promise of `emitWithAck` when no ACK can arrive in time, or at all. */
export class AckError extends Error {
  override readonly name = 'AckError';

  constructor(
    readonly code: AckErrorCode,
    /** The event whose acknowledgement was awaited. */
    readonly event: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The client did not acknowledge `event` within `timeoutMs`. */
  static timedOut(event: string, timeoutMs: number): AckError {
    return new AckError('ack-timeout', event, `No acknowledgement of "${event}" within ${timeoutMs} ms.`);
  }

  /** The socket left before (or while) `event` was sent; `reason` when known. */
  static disconnected(event: string, reason?: DisconnectReason): AckError {
    const why = reason === undefined ? 'the socket is disconnected' : `the socket disconnected (${reason})`;
    return new AckError('disconnected', event, `No acknowledgement of "${event}": ${why}.`);
  }
}
