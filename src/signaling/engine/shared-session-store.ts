/**
 * Connection state recovery across several nodes: the seam through which the engine records its
 * recoverable sockets in a store other nodes share, and claims there a session it does not hold.
 * The engine knows nothing of Redis; the cluster implements this interface
 * (src/signaling/cluster/cluster-sessions.ts). Without a shared store nothing here runs.
 *
 * Two levels: the node's own {@link MemorySessionStore} first, synchronously, as on one node;
 * only a CONNECT whose pid is not held here asks the shared store, and is answered once that
 * claim settles. What a shared store must guarantee:
 * - `claim` hands a session out at most once (two reconnects with the same pid, on any nodes:
 *   one gets it), and only in the namespace that gave it;
 * - the node that holds the socket gives it up ({@link HandOver}) before the claimant answers,
 *   with the packets its client had not read, so that nothing is replayed twice or lost while
 *   both nodes live; a holder that is gone gives nothing (docs/scaling.md says what is lost);
 * - `release` forgets only the record this node wrote (a socket that moved on is another's).
 */
import { withoutOffset } from './recovery-offsets.js';
import type { RetainedPacket } from './retained-log.js';
import type { MemorySessionStore, RecoverableSocket, SessionStore } from './session-store.js';

/** What a shared store records of a socket, so that another node can make it again. */
export interface SharedSocket extends RecoverableSocket {
  /** The Socket.IO socket id, kept across nodes. */
  readonly id: string;
  /** The application's socket data; the store decides how much of it travels. */
  readonly data: unknown;
  /** Bumped each time the socket is recovered: a claim names the generation it took. */
  readonly generation: number;
  /** While held: what it keeps for its client, for a claimant should this node die meanwhile. */
  heldLog(): HeldLog;
}

/** A packet kept for a held socket's client, without its offset (a claimant tags it with its own). */
export interface HeldPacket {
  readonly offset: number;
  readonly packet: RetainedPacket;
}

/**
 * What a held socket keeps for its client, written to the shared store while it is held (one
 * write on hold, one per packet emitted to it meanwhile), so that a claimant can still replay
 * it exactly if the holding node dies before it can hand the socket over.
 */
export interface HeldLog {
  /** The tag of the holder's offsets: the client's offset is compared with `packets` only if it has it. */
  readonly tag: string;
  /** The socket's first offset on the holder. */
  readonly first: number;
  /** Every packet at or below this offset is gone: a client that read less cannot be restored exactly. */
  readonly floor: number;
  readonly packets: readonly HeldPacket[];
  /** How long the socket is held (the recovery window), in ms: the record of its packets lives as long. */
  readonly windowMillis: number;
}

/** A session claimed from another node: what to make the socket of, and what its client missed. */
export interface SharedClaim {
  readonly sid: string;
  readonly data: unknown;
  /** Packets the client had not read, oldest first, without their offsets (they get ours). */
  readonly replay: readonly RetainedPacket[];
  /**
   * Instead of `replay`, when the holder could not be asked (it died): what it wrote to the
   * shared store while it held the socket. The engine picks what the client had not read, or
   * gives a fresh socket when it cannot tell exactly.
   */
  readonly held?: HeldLog;
}

/** A store of recoverable sessions shared by several nodes. */
export interface SharedSessionStore {
  /** A socket's client has its pid (a fresh or recovered socket): other nodes may claim it. */
  track(socket: SharedSocket): void;
  /** The socket ended here (it left, expired, or moved on): forget its record if it is still ours. */
  release(socket: SharedSocket): void;
  /** The socket is held here from now on, keeping `held` for its client. */
  persist(socket: SharedSocket, held: HeldLog): void;
  /** A packet emitted to the held socket, without its offset. */
  append(socket: SharedSocket, packet: HeldPacket): void;
  /**
   * Claims `pid`'s session of namespace `nsp` held on another node, `offset` being the last one
   * the client received (as it sent it). Resolves undefined when there is none to recover; never
   * rejects (a store that cannot be reached gives a fresh socket).
   */
  claim(pid: string, nsp: string, offset: string | undefined): Promise<SharedClaim | undefined>;
}

/** Another node claimed session `pid`: the request its holder answers. */
export interface HandOverRequest {
  readonly pid: string;
  readonly nsp: string;
  /** The generation the claim took: an older one than the socket's is refused. */
  readonly generation: number;
  /** The client's last offset, as it sent it. */
  readonly offset: string | undefined;
}

/**
 * The holder's answer: `moved` (the socket is gone from this node, its handler told `moved()`,
 * `replay` what its client missed, without offsets) or `kept` (recovered here meanwhile, or it
 * cannot be restored exactly from that offset: the record is written again, the claimant gives
 * a fresh socket).
 */
export type HandOver =
  | { readonly outcome: 'moved'; readonly replay: RetainedPacket[] }
  | { readonly outcome: 'kept'; readonly socket: SharedSocket };

/** A retained packet without the offset this engine gave it. */
export function packetWithoutOffset(packet: RetainedPacket): RetainedPacket {
  if (typeof packet === 'string') return withoutOffset(packet);
  const [text, ...attachments] = packet;
  return [withoutOffset(text), ...attachments];
}

/**
 * The node's own sockets in memory, every tracked one also recorded in the shared store. Held
 * sockets and their windows stay in memory: another node gets them by asking (see
 * {@link HandOver}). What a held socket keeps for its client is written to the shared store
 * too, only while it is held, for the case where its node dies before it is asked.
 */
export class TieredSessionStore<S extends SharedSocket> implements SessionStore<S> {
  constructor(
    readonly local: MemorySessionStore<S>,
    readonly shared: SharedSessionStore,
  ) {}

  track(socket: S): void {
    this.local.track(socket);
    this.shared.track(socket);
  }

  persist(socket: S): void {
    this.local.persist(socket);
    if (this.local.find(socket.pid) === socket) this.shared.persist(socket, socket.heldLog());
  }

  append(socket: S, offset: number, packet: RetainedPacket): void {
    this.shared.append(socket, { offset, packet: packetWithoutOffset(packet) });
  }

  claim(pid: string, nsp: string): S | undefined {
    return this.local.claim(pid, nsp);
  }

  release(socket: S): void {
    if (this.local.find(socket.pid) !== socket) return;
    this.local.release(socket);
    this.shared.release(socket);
  }

  clear(): void {
    this.local.clear();
  }
}
