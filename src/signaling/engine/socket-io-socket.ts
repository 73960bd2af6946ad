/**
 * One Socket.IO socket: an Engine.IO session joined to one namespace. With connection state
 * recovery on, the socket outlives its session when the transport went away: it is held, its
 * emits retained, until a reconnecting client claims it and it is bound to the new session
 * (./connection-state-recovery.ts).
 */
import { randomBytes } from 'node:crypto';
import { PacketType, type Packet } from 'socket.io-parser';
import type {
  Ack,
  AckRequester,
  ConnectRefusal,
  DisconnectReason,
  Handshake,
  NamespaceHandler,
  ServerSocket,
} from './namespace-handler.js';
import type { RestorableSocket } from './connection-state-recovery.js';
import { packetWithoutOffset, type HeldLog } from './shared-session-store.js';
import { isEventWithoutAckId, withOffset } from './recovery-offsets.js';
import { RetainedLog, type RetainedPacket } from './retained-log.js';
import { checkAckTimeout, type AckDeadline } from './ack-deadlines.js';
import { AckError } from './ack-error.js';
import type { DeadlineTarget, EngineRuntime } from './engine-runtime.js';
import { generateId } from './ids.js';

/** What a socket needs from the client (and session) carrying it. */
export interface SocketCarrier {
  /** Sends an Engine.IO message holding Socket.IO packet text. */
  writeMessageText(text: string): void;
  /** Sends an Engine.IO binary message (a packet attachment). */
  writeMessageBinary(data: Buffer): void;
  /** Forgets the socket; the session stays open. */
  releaseSocket(socket: SocketIoSocket): void;
}

/** An emit waiting for the client's ACK: settled once, by the ACK, its deadline or a disconnect. */
class PendingAck implements AckDeadline {
  constructor(
    readonly socket: SocketIoSocket,
    readonly id: number,
    readonly event: string,
    readonly resolve: (args: unknown[]) => void,
    readonly reject: (error: AckError) => void,
  ) {}

  expire(timeoutMs: number): void {
    this.socket.expireAck(this, timeoutMs);
  }
}

/** What `connect()` of a handler may return. */
type ConnectOutcome = ConnectRefusal | undefined | Promise<ConnectRefusal | undefined>;

/** The engine's {@link ServerSocket}. */
export class SocketIoSocket implements ServerSocket, DeadlineTarget, RestorableSocket {
  readonly id: string;
  connected = false;
  recovered = false;
  /** True while the transport is gone and the socket waits to be recovered. */
  held = false;
  data: unknown = undefined;
  /** The private session id (128 random bits) given to the client; '' without recovery. */
  readonly pid: string;
  /** Bumped on each recovery, so that another node's claim of an older one is refused (./shared-session-store.ts). */
  generation = 0;
  /** Packets the client may not have read, with their offsets; null without recovery. */
  readonly log: RetainedLog | null;
  /** Packets emitted from inside `connect()`, sent once CONNECT is acknowledged. */
  private early: (string | Buffer)[] | null = null;
  /** The id of the next EVENT that asks for an ack; ids are never reused on a socket. */
  private nextAckId = 0;
  /** Emits awaiting the client's ACK, by id; null whenever none is, so idle sockets hold no map. */
  private pendingAcks: Map<number, PendingAck> | null = null;

  constructor(
    private readonly runtime: EngineRuntime,
    /** The client carrying the socket; another one after a recovery. */
    private carrier: SocketCarrier,
    readonly nsp: string,
    readonly handler: NamespaceHandler,
    /** The handshake of the session carrying the socket now. */
    public handshake: Handshake,
    /** A session claimed from another node: its pid, id and data are kept, and it counts as recovered. */
    claimed?: { readonly pid: string; readonly sid: string; readonly data: unknown },
  ) {
    const { recovery } = runtime;
    this.id = claimed?.sid ?? generateId();
    if (recovery === null) {
      this.pid = '';
      this.log = null;
    } else {
      this.pid = claimed?.pid ?? randomBytes(16).toString('base64url');
      this.log = new RetainedLog(recovery.offsets.next, recovery.options);
    }
    if (claimed !== undefined) {
      this.data = claimed.data;
      this.recovered = true;
    }
  }

  emit(event: string, ...args: unknown[]): void {
    this.sendPacket({ type: PacketType.EVENT, nsp: this.nsp, data: [event, ...args] });
  }

  emitWithAck(event: string, ...args: unknown[]): Promise<unknown[]> {
    return this.requestAck(event, args, undefined);
  }

  timeout(timeoutMs: number): AckRequester {
    checkAckTimeout(timeoutMs);
    return { emitWithAck: (event, ...args) => this.requestAck(event, args, timeoutMs) };
  }

  /** Acks awaited from the client right now. */
  get pendingAckCount(): number {
    return this.pendingAcks?.size ?? 0;
  }

  private requestAck(event: string, args: unknown[], timeoutMs: number | undefined): Promise<unknown[]> {
    return new Promise<unknown[]>((resolve, reject) => {
      if (!this.connected) {
        reject(AckError.disconnected(event));
        return;
      }
      const id = this.nextAckId++;
      const pending = new PendingAck(this, id, event, resolve, reject);
      // Registered before sending: a send that ends the session (slow consumer) rejects it.
      (this.pendingAcks ??= new Map()).set(id, pending);
      try {
        this.sendPacket({ type: PacketType.EVENT, nsp: this.nsp, id, data: [event, ...args] });
      } catch (error) {
        // Arguments the encoder refuses (a cyclic object): nothing went out.
        this.forgetAck(id);
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (timeoutMs !== undefined) this.runtime.acks.schedule(pending, timeoutMs);
    });
  }

  /** The client's ACK (or BINARY_ACK) for `id`; unknown, late and repeated ACKs are ignored. */
  receiveAck(id: number, args: unknown[]): void {
    const pending = this.pendingAcks?.get(id);
    if (pending === undefined) return;
    this.forgetAck(id);
    pending.resolve(args);
  }

  /** The deadline of `pending` passed; it fails unless its ACK came first. */
  expireAck(pending: PendingAck, timeoutMs: number): void {
    if (this.pendingAcks?.get(pending.id) !== pending) return;
    this.forgetAck(pending.id);
    pending.reject(AckError.timedOut(pending.event, timeoutMs));
  }

  private failPendingAcks(reason: DisconnectReason | undefined): void {
    const acks = this.pendingAcks;
    this.pendingAcks = null;
    if (acks === null) return;
    for (const pending of acks.values()) pending.reject(AckError.disconnected(pending.event, reason));
  }

  private forgetAck(id: number): void {
    const acks = this.pendingAcks;
    if (acks === null) return;
    acks.delete(id);
    if (acks.size === 0) this.pendingAcks = null;
  }

  sendEncoded(packet: string): void {
    if (this.log !== null && (this.connected || this.held)) {
      if (isEventWithoutAckId(packet)) {
        const { offsets } = this.runtime.recovery!;
        const offset = offsets.take();
        this.sendRetained(offset, withOffset(packet, offsets.format(offset)));
        return;
      }
      if (packet.charCodeAt(0) === 50 /* '2' */) {
        // An EVENT text of an unusual shape: decoded once, so that it is tagged like any other.
        this.sendPacket(this.runtime.codec.decodeText(packet));
        return;
      }
    }
    if (!this.connected) return;
    if (this.early !== null) this.early.push(packet);
    else this.carrier.writeMessageText(packet);
  }

  disconnect(): void {
    if (this.held) {
      // The application lets a held socket go: it will not be recovered.
      this.held = false;
      this.runtime.recovery!.store.release(this);
      this.log!.clear();
      this.tellDisconnect('server namespace disconnect', false);
      return;
    }
    if (!this.connected) return;
    this.sendDisconnect();
    this.carrier.releaseSocket(this);
    this.left('server namespace disconnect');
  }

  /**
   * Tells the client the socket is closed: after what `connect()` emitted, if that still waits
   * behind CONNECT ({@link SocketIoSocket.acknowledged}), so that DISCONNECT is not queued there
   * and dropped with it.
   */
  private sendDisconnect(): void {
    this.writeEarly();
    this.sendPacket({ type: PacketType.DISCONNECT, nsp: this.nsp });
  }

  /** Writes the packets held back behind CONNECT, if any, and stops holding packets back. */
  private writeEarly(): void {
    const early = this.early;
    this.early = null;
    for (const item of early ?? []) {
      if (typeof item === 'string') this.carrier.writeMessageText(item);
      else this.carrier.writeMessageBinary(item);
    }
  }

  /**
   * The socket is gone (either side left the namespace, or the session ended): fails the acks
   * still awaited, then tells the handler. Called once per socket, after it was released.
   */
  left(reason: DisconnectReason): void {
    this.connected = false;
    this.early = null;
    this.failPendingAcks(reason);
    if (this.log !== null) {
      this.runtime.recovery!.store.release(this);
      this.log.clear();
    }
    this.tellDisconnect(reason, false);
  }

  /**
   * The session carrying the socket ended for `reason`, which its client did not choose: the
   * socket is held for recovery and its handler told so. Emits from now on are retained.
   */
  hold(reason: DisconnectReason, persist = true): void {
    this.connected = false;
    this.held = true;
    this.early = null;
    this.failPendingAcks(reason);
    this.runtime.stats.recovery.held += 1;
    if (persist) this.runtime.recovery!.store.persist(this);
    this.tellDisconnect(reason, true);
  }

  /** True when `carrier` carries the socket now (it may have moved to another by recovery). */
  isCarriedBy(carrier: SocketCarrier): boolean {
    return this.carrier === carrier;
  }

  /** True when the socket may be held after its session ends (recovery is on, its client has its pid). */
  get holdable(): boolean {
    return this.log !== null && this.connected;
  }

  /** If held, the socket ends for good: forgotten, and its handler's `expired()` told. */
  expire(): void {
    if (!this.held) return;
    this.held = false;
    this.runtime.recovery!.store.release(this);
    this.log!.clear();
    this.runtime.stats.recovery.expired += 1;
    this.tellExpired();
  }

  replayAfter(clientOffset: number | 'none'): RetainedPacket[] | undefined {
    const log = this.log;
    if (log === null) return undefined;
    // An offset from before this socket existed: the client received nothing of this socket's.
    const after = clientOffset === 'none' || clientOffset < log.firstOffset ? log.firstOffset - 1 : clientOffset;
    return log.replayAfter(after);
  }

  /**
   * The socket's client came back on another session: the socket moves to it (taken from the
   * session that still carried it, if the server had not noticed that one fail yet, which is
   * told DISCONNECT, as when another node takes the socket: {@link SocketIoSocket.moveAway}).
   */
  bindForRecovery(carrier: SocketCarrier, handshake: Handshake): void {
    if (this.connected) {
      // Claimed already: the session that carried it is told (its client may still be reading
      // it), and the socket is held only to tell the handler, with no window of its own.
      this.sendDisconnect();
      this.carrier.releaseSocket(this);
      this.hold('transport close', false);
    }
    this.carrier = carrier;
    this.handshake = handshake;
    this.held = false;
    this.recovered = true;
    this.generation += 1;
  }

  /**
   * Packets another node kept for this socket's client (claimed with its session): tagged with
   * this engine's offsets and retained, so that they are replayed again if the client drops
   * before reading them. Returns them tagged, for {@link SocketIoSocket.runConnectHandler}.
   */
  retainHandedOver(packets: readonly RetainedPacket[]): RetainedPacket[] {
    const log = this.log;
    if (log === null) return [];
    const { offsets } = this.runtime.recovery!;
    return packets.map((packet) => {
      const offset = offsets.take();
      let tagged: RetainedPacket;
      if (typeof packet === 'string') tagged = withOffset(packet, offsets.format(offset));
      else {
        const [text, ...attachments] = packet;
        tagged = [withOffset(text, offsets.format(offset)), ...attachments];
      }
      log.append(offset, tagged);
      return tagged;
    });
  }

  /**
   * Its client recovered the socket on another node (./shared-session-store.ts, HandOver): it
   * leaves this node without ending what it holds (a seat moves with it), so its handler is told
   * `moved()`, not `disconnect()`. A session still carrying it is told DISCONNECT.
   */
  moveAway(): void {
    if (this.connected) {
      this.sendDisconnect();
      this.carrier.releaseSocket(this);
    }
    this.connected = false;
    this.held = false;
    this.early = null;
    this.failPendingAcks('transport close');
    this.runtime.recovery!.store.release(this);
    this.log!.clear();
    try {
      if (this.handler.moved !== undefined) this.handler.moved(this);
      else this.handler.disconnect(this, 'transport close', false);
    } catch (error) {
      console.error(`namespace ${this.nsp}: moved handler threw`, error);
    }
  }

  heldLog(): HeldLog {
    const log = this.log!;
    const { offsets, options } = this.runtime.recovery!;
    return {
      tag: offsets.tag,
      first: log.firstOffset,
      floor: log.discardedThrough,
      packets: log.retained().map(({ offset, packet }) => ({ offset, packet: packetWithoutOffset(packet) })),
      windowMillis: options.maxDisconnectionDuration,
    };
  }

  /** An Engine.IO ping was written after every packet written so far. */
  pingWritten(): void {
    const log = this.log;
    if (log !== null && this.connected) log.pingMark = log.writtenThrough;
  }

  /** The client answered that ping: it read every packet written before it. */
  pongReceived(): void {
    if (this.connected) this.log?.pongReceived();
  }

  /**
   * A packet that gets an offset: retained, then written unless the socket is held (or queued
   * behind CONNECT). A held socket whose log had to drop a packet never written expires: its
   * client can no longer get everything it missed.
   */
  private sendRetained(offset: number, packet: RetainedPacket): void {
    const log = this.log!;
    log.append(offset, packet);
    if (this.held) {
      this.runtime.recovery!.store.append(this, offset, packet);
      if (log.discardedThrough > log.writtenThrough) this.expire();
      return;
    }
    if (this.early !== null) {
      if (typeof packet === 'string') this.early.push(packet);
      else this.early.push(...packet);
      return;
    }
    log.writtenThrough = offset;
    if (typeof packet === 'string') {
      this.carrier.writeMessageText(packet);
      return;
    }
    const [text, ...attachments] = packet;
    this.carrier.writeMessageText(text);
    for (const attachment of attachments) this.carrier.writeMessageBinary(attachment);
  }

  private tellDisconnect(reason: DisconnectReason, held: boolean): void {
    try {
      this.handler.disconnect(this, reason, held);
    } catch (error) {
      console.error(`namespace ${this.nsp}: disconnect handler threw`, error);
    }
  }

  private tellExpired(): void {
    try {
      this.handler.expired?.(this);
    } catch (error) {
      console.error(`namespace ${this.nsp}: expired handler threw`, error);
    }
  }

  /** Encodes and sends a packet; the encoder turns EVENT/ACK with binary into BINARY_*. */
  sendPacket(packet: Packet): void {
    const { log } = this;
    if (log !== null && packet.type === PacketType.EVENT && packet.id === undefined && (this.connected || this.held)) {
      // The offset goes last, where socket.io-client looks for it (its arguments are ours: see emit()).
      const offset = this.runtime.recovery!.offsets.take();
      (packet.data as unknown[]).push(this.runtime.recovery!.offsets.format(offset));
      const encoded = this.runtime.codec.encode(packet);
      this.sendRetained(offset, encoded.length === 1 ? encoded[0] : encoded);
      return;
    }
    if (!this.connected) return;
    const [text, ...attachments] = this.runtime.codec.encode(packet);
    if (this.early !== null) {
      this.early.push(text, ...attachments);
      return;
    }
    this.carrier.writeMessageText(text);
    for (const attachment of attachments) this.carrier.writeMessageBinary(attachment);
  }

  /** An ack callback for the client's packet `id`: the first call sends ACK, later ones do nothing. */
  createAck(id: number): Ack {
    let sent = false;
    return (...args: unknown[]) => {
      if (sent) return;
      sent = true;
      this.sendPacket({ type: PacketType.ACK, nsp: this.nsp, id, data: args });
    };
  }

  /**
   * Runs the handler's `connect()` with emits held back (behind `replay`, the packets a
   * recovered client missed); returns its refusal, if any, or a promise of it when the handler
   * answers asynchronously. A refused recovered socket ends (`expired()`).
   */
  runConnectHandler(replay: readonly RetainedPacket[] = []): ConnectOutcome {
    this.connected = true;
    this.early = [];
    for (const packet of replay) {
      if (typeof packet === 'string') this.early.push(packet);
      else this.early.push(...packet);
    }
    let outcome: ConnectOutcome;
    try {
      outcome = this.handler.connect(this);
    } catch (error) {
      console.error(`namespace ${this.nsp}: connect handler threw`, error);
      return this.connectSettled({ message: 'Internal server error' });
    }
    if (outcome instanceof Promise) {
      return outcome.then(
        (refusal) => this.connectSettled(refusal),
        (error: unknown) => {
          console.error(`namespace ${this.nsp}: connect handler rejected`, error);
          return this.connectSettled({ message: 'Internal server error' });
        },
      );
    }
    return this.connectSettled(outcome);
  }

  private connectSettled(refusal: ConnectRefusal | undefined): ConnectRefusal | undefined {
    if (refusal === undefined) return undefined;
    this.connected = false;
    this.early = null;
    // Acks asked for inside a refused connect(): their EVENTs were never sent.
    this.failPendingAcks(undefined);
    if (this.recovered) {
      this.held = true;
      this.expire();
    }
    return refusal;
  }

  /**
   * CONNECT was admitted but its session closed before it could be acknowledged (an async
   * `connect()`): a recovered socket is held again (its client still has its pid), any other
   * leaves with 'transport close'.
   */
  lostBeforeAcknowledged(): void {
    if (this.recovered && this.log !== null) this.hold('transport close');
    else this.left('transport close');
  }

  /**
   * Called once CONNECT went out: sends what `connect()` emitted, then tells the handler
   * `connected()`. Without early packets that happens at once. With some, it happens a few
   * milliseconds later so the CONNECT frame reaches the client in a TCP segment of its own:
   * socket.io writes them in separate ticks too, and clients that await frames one by one rely
   * on it (the official protocol test suite reads CONNECT, then awaits the next frame; with
   * both frames in one read it misses the second, and socket.io itself fails those tests now
   * and then on a loaded machine). Emits made meanwhile queue behind; one timer serves all.
   */
  acknowledged(): void {
    if (this.early !== null && this.early.length > 0) {
      this.runtime.earlyPackets.schedule(this);
      return;
    }
    this.early = null;
    if (this.log !== null) this.log.writtenThrough = this.log.lastOffset;
    this.notifyConnected();
  }

  /** The early-packet delay passed: sends what `connect()` emitted, then calls `connected()`. */
  deadlinePassed(): void {
    if (this.early === null || !this.connected) {
      this.early = null;
      return;
    }
    this.writeEarly();
    if (this.log !== null) this.log.writtenThrough = this.log.lastOffset;
    this.notifyConnected();
  }

  private notifyConnected(): void {
    if (!this.connected) return;
    try {
      this.handler.connected(this);
    } catch (error) {
      console.error(`namespace ${this.nsp}: connected handler threw`, error);
    }
  }
}
