/**
 * Socket.IO's connection state recovery (v4.6 and later), as stock socket.io-client expects it:
 * - the CONNECT acknowledgement carries `{ sid, pid }`, pid a private session id;
 * - every EVENT the server emits without an ack id gets one more argument, a string offset;
 * - a reconnecting client sends `{ ...auth, pid, offset }` in its CONNECT, offset the last such
 *   string it received (absent when it received none);
 * - if the socket can be restored, CONNECT is acknowledged with the same sid and pid, the socket
 *   keeps its `data`, `recovered` is true and every packet after `offset` is replayed in order.
 *
 * A socket is held when its transport went away (the reasons below, socket.io's list); its
 * emits are retained meanwhile. Anything that cannot be restored exactly (unknown or expired
 * pid, another namespace, an offset the log cannot serve) gets a fresh socket, never an error.
 * See docs/protocol.md, "Connection state recovery".
 */
import type { EngineClock } from './clock.js';
import type { ResolvedEngineOptions } from './engine-options.js';
import type { DisconnectReason } from './namespace-handler.js';
import { RecoveryOffsets } from './recovery-offsets.js';
import type { RetainedPacket } from './retained-log.js';
import { MemorySessionStore, type RecoverableSocket, type SessionStore } from './session-store.js';

/** Disconnect reasons after which a socket is held: its client did not mean to leave. */
export const RECOVERABLE_REASONS: ReadonlySet<DisconnectReason> = new Set<DisconnectReason>([
  'transport error',
  'transport close',
  'forced close',
  'ping timeout',
  'server shutting down',
]);

/** Longest pid accepted in a CONNECT (ours are 22 characters). */
const MAX_PID_LENGTH = 64;

/** What recovery needs of a socket beyond what the store does. */
export interface RestorableSocket extends RecoverableSocket {
  /**
   * The packets after `clientOffset` ('none': the client received none of this socket's),
   * or undefined when the socket cannot be restored from there.
   */
  replayAfter(clientOffset: number | 'none'): RetainedPacket[] | undefined;
}

/** A socket claimed for a reconnecting client, and what to replay to it. */
export interface Restoration<S> {
  readonly socket: S;
  readonly replay: RetainedPacket[];
}

/** One engine's recovery: its options, offsets and store. */
export class ConnectionStateRecovery<S extends RestorableSocket> {
  readonly offsets = new RecoveryOffsets();
  readonly store: SessionStore<S>;

  constructor(
    readonly options: Exclude<ResolvedEngineOptions['connectionStateRecovery'], false>,
    clock: EngineClock,
  ) {
    this.store = new MemorySessionStore<S>(options.maxDisconnectionDuration, clock);
  }

  /**
   * The socket a CONNECT to `nsp` with `auth` asks back, claimed, with what to replay; undefined
   * for a fresh socket. A socket that was found but cannot be restored from the client's offset
   * is ended (the client is given a fresh one and will not ask for it again).
   */
  restore(nsp: string, auth: unknown): Restoration<S> | undefined {
    if (typeof auth !== 'object' || auth === null) return undefined;
    const { pid, offset } = auth as { pid?: unknown; offset?: unknown };
    if (typeof pid !== 'string' || pid.length === 0 || pid.length > MAX_PID_LENGTH) return undefined;
    if (offset !== undefined && typeof offset !== 'string') return undefined;
    const socket = this.store.claim(pid, nsp);
    if (socket === undefined) return undefined;
    const clientOffset = offset === undefined ? 'foreign' : this.offsets.parse(offset);
    const replay = socket.replayAfter(clientOffset === 'foreign' ? 'none' : clientOffset);
    if (replay === undefined) {
      // A held socket its client gave up on ends now; a connected one carries on as it was.
      socket.expire();
      return undefined;
    }
    return { socket, replay };
  }
}
