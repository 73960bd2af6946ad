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
import { parseOffsetOf, RecoveryOffsets } from './recovery-offsets.js';
import type { RetainedPacket } from './retained-log.js';
import { MemorySessionStore, type SessionStore } from './session-store.js';
import {
  packetWithoutOffset,
  TieredSessionStore,
  type HeldLog,
  type HandOver,
  type HandOverRequest,
  type SharedClaim,
  type SharedSessionStore,
  type SharedSocket,
} from './shared-session-store.js';

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
export interface RestorableSocket extends SharedSocket {
  /**
   * The packets after `clientOffset` ('none': the client received none of this socket's),
   * or undefined when the socket cannot be restored from there.
   */
  replayAfter(clientOffset: number | 'none'): RetainedPacket[] | undefined;
  /** Its client recovered it on another node: it leaves this one, keeping what it holds there. */
  moveAway(): void;
}

/** A socket claimed for a reconnecting client, and what to replay to it. */
export interface Restoration<S> {
  readonly socket: S;
  readonly replay: RetainedPacket[];
}

/** One engine's recovery: its options, offsets and store. */
export class ConnectionStateRecovery<S extends RestorableSocket> {
  readonly offsets = new RecoveryOffsets();
  store: SessionStore<S>;
  readonly #local: MemorySessionStore<S>;
  /** With several nodes, the store they share (see {@link ConnectionStateRecovery.share}); else null. */
  #shared: SharedSessionStore | null = null;

  constructor(
    readonly options: Exclude<ResolvedEngineOptions['connectionStateRecovery'], false>,
    clock: EngineClock,
  ) {
    this.store = this.#local = new MemorySessionStore<S>(options.maxDisconnectionDuration, clock);
  }

  /**
   * Records every recoverable socket in `shared` too, and claims there what a CONNECT asks for
   * that this node does not hold. Called before the engine serves anyone.
   */
  share(shared: SharedSessionStore): void {
    this.#shared = shared;
    this.store = new TieredSessionStore(this.#local, shared);
  }

  /**
   * For a CONNECT that {@link ConnectionStateRecovery.restore} could not serve: the claim of its
   * pid from the shared store, or undefined (no shared store, no usable pid: a fresh socket now).
   */
  claimShared(nsp: string, auth: unknown): Promise<SharedClaim | undefined> | undefined {
    const shared = this.#shared;
    if (shared === null) return undefined;
    const asked = askedSession(auth);
    if (asked === undefined) return undefined;
    // The store promises not to reject; a broken one still only costs a fresh socket.
    return shared.claim(asked.pid, nsp, asked.offset).then(
      (claim) => {
        if (claim?.held === undefined) return claim;
        const replay = ConnectionStateRecovery.replayOfHeld(claim.held, asked.offset);
        return replay === undefined ? undefined : { sid: claim.sid, data: claim.data, replay };
      },
      () => undefined,
    );
  }

  /**
   * Another node claimed `request.pid`: its socket here leaves (handler told `moved()`) with
   * what its client missed, or stays (recovered here meanwhile, or not restorable from that
   * offset), recorded again in the shared store. Undefined when this node has no such socket.
   */
  handOver(request: HandOverRequest): HandOver | undefined {
    const socket = this.#local.find(request.pid);
    if (socket === undefined || socket.nsp !== request.nsp) return undefined;
    const kept = (): HandOver => {
      this.#shared?.track(socket);
      return { outcome: 'kept', socket };
    };
    if (socket.generation !== request.generation) return kept();
    const clientOffset = request.offset === undefined ? 'foreign' : this.offsets.parse(request.offset);
    const replay = socket.replayAfter(clientOffset === 'foreign' ? 'none' : clientOffset);
    if (replay === undefined) return kept();
    socket.moveAway();
    // Our offsets mean nothing to the claimant: it tags the packets with its own.
    return { outcome: 'moved', replay: replay.map(packetWithoutOffset) };
  }

  /**
   * What a claimed session whose holder died replays to a client whose last offset is `offset`,
   * or undefined when that cannot be told exactly (the client read less than the holder kept).
   */
  static replayOfHeld(held: HeldLog, offset: string | undefined): RetainedPacket[] | undefined {
    const parsed = offset === undefined ? 'foreign' : parseOffsetOf(held.tag, offset);
    // An offset of another engine: the client read nothing of this socket's on its holder.
    const read = parsed === 'foreign' || parsed < held.first ? held.first - 1 : parsed;
    if (read < held.floor) return undefined;
    return held.packets.filter((kept) => kept.offset > read).map((kept) => kept.packet);
  }

  /**
   * The socket a CONNECT to `nsp` with `auth` asks back, claimed, with what to replay; undefined
   * for a fresh socket. A socket that was found but cannot be restored from the client's offset
   * is ended (the client is given a fresh one and will not ask for it again).
   */
  restore(nsp: string, auth: unknown): Restoration<S> | undefined {
    const asked = askedSession(auth);
    if (asked === undefined) return undefined;
    const { pid, offset } = asked;
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

/** The pid and offset a CONNECT's auth asks back, or undefined when they are absent or malformed. */
function askedSession(auth: unknown): { pid: string; offset: string | undefined } | undefined {
  if (typeof auth !== 'object' || auth === null) return undefined;
  const { pid, offset } = auth as { pid?: unknown; offset?: unknown };
  if (typeof pid !== 'string' || pid.length === 0 || pid.length > MAX_PID_LENGTH) return undefined;
  if (offset !== undefined && typeof offset !== 'string') return undefined;
  return { pid, offset };
}
