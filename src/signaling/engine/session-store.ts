/**
 * Where connection state recovery keeps the sockets that may be recovered, by private session
 * id (pid): this node's live socket objects. The engine uses {@link MemorySessionStore}; with
 * several nodes it is the first level of a `TieredSessionStore` (./shared-session-store.ts, which
 * says what a store shared by nodes must guarantee), so that a client may recover on another node.
 *
 * What an implementation must guarantee:
 * - `claim` hands a session out at most once while it is held: two reconnects with the same pid
 *   never both get it;
 * - a claim matches the pid and the namespace both, and never returns a session whose window
 *   passed;
 * - `append` sees every packet emitted to a held socket, in order, with its offset (the socket
 *   keeps them itself; a store may keep a copy elsewhere);
 * - a held socket that is not claimed in time is `expire()`d once, on its node, so that the
 *   application releases what it held (a seat in a room);
 * - a pid is never guessable: it is made from 128 random bits, and the store never lists them.
 */
import type { EngineClock } from './clock.js';
import { DeadlineQueue, type Deadline } from './deadline-queue.js';
import type { RetainedPacket } from './retained-log.js';

/** What a store needs of a recoverable socket. */
export interface RecoverableSocket {
  /** The private session id the client was given in its CONNECT acknowledgement. */
  readonly pid: string;
  readonly nsp: string;
  /**
   * If held, end the socket: it releases itself from the store and its handler's `expired()`
   * is called. A connected socket carries on.
   */
  expire(): void;
}

/** The store of recoverable sockets. */
export interface SessionStore<S extends RecoverableSocket> {
  /** A socket whose client was given its pid: it may be claimed from now on. */
  track(socket: S): void;
  /** The socket's transport went away: hold it for `maxDisconnectionDuration`, then `expire()` it. */
  persist(socket: S): void;
  /** A packet emitted to a held socket, at `offset`, to replay if it is claimed. */
  append(socket: S, offset: number, packet: RetainedPacket): void;
  /**
   * The socket of `pid` in namespace `nsp`, held or still connected elsewhere (a client that
   * reconnects before the server saw its old transport fail), its window stopped; undefined
   * when there is none.
   */
  claim(pid: string, nsp: string): S | undefined;
  /** The socket ended (it left, expired or could not be recovered): forget it. */
  release(socket: S): void;
  /** The engine is closing: expire every held socket and forget every socket. */
  clear(): void;
}

/** A socket in the store and, while held, its deadline. */
interface Entry<S> {
  readonly socket: S;
  deadline: Deadline | null;
}

/**
 * The in-memory store: sockets by pid, held ones on one deadline queue of the engine's clock.
 * A held socket keeps its retained packets itself (./retained-log.ts), so `append` has nothing
 * to do here.
 */
export class MemorySessionStore<S extends RecoverableSocket> implements SessionStore<S> {
  private readonly byPid = new Map<string, Entry<S>>();
  private readonly windows: DeadlineQueue<Entry<S>>;

  constructor(maxDisconnectionDuration: number, clock: EngineClock) {
    this.windows = new DeadlineQueue<Entry<S>>(maxDisconnectionDuration, clock, (entry) => {
      if (this.byPid.get(entry.socket.pid) !== entry) return;
      this.byPid.delete(entry.socket.pid);
      entry.deadline = null;
      entry.socket.expire();
    });
  }

  /** Sockets held now. */
  get heldCount(): number {
    let count = 0;
    for (const entry of this.byPid.values()) if (entry.deadline !== null) count += 1;
    return count;
  }

  track(socket: S): void {
    this.byPid.set(socket.pid, { socket, deadline: null });
  }

  persist(socket: S): void {
    const entry = this.byPid.get(socket.pid);
    if (entry === undefined || entry.socket !== socket) return;
    entry.deadline?.cancel();
    entry.deadline = this.windows.schedule(entry);
  }

  append(): void {}

  /** The socket of `pid`, held or connected, without claiming it. */
  find(pid: string): S | undefined {
    return this.byPid.get(pid)?.socket;
  }

  claim(pid: string, nsp: string): S | undefined {
    const entry = this.byPid.get(pid);
    if (entry === undefined || entry.socket.nsp !== nsp) return undefined;
    entry.deadline?.cancel();
    entry.deadline = null;
    return entry.socket;
  }

  release(socket: S): void {
    const entry = this.byPid.get(socket.pid);
    if (entry?.socket !== socket) return;
    entry.deadline?.cancel();
    this.byPid.delete(socket.pid);
  }

  clear(): void {
    const entries = [...this.byPid.values()];
    this.byPid.clear();
    this.windows.clear();
    for (const entry of entries) if (entry.deadline !== null) entry.socket.expire();
  }
}
