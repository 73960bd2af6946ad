/** One Socket.IO socket: an Engine.IO session joined to one namespace. */
import { PacketType, type Packet } from 'socket.io-parser';
import type {
  Ack,
  AckRequester,
  DisconnectReason,
  Handshake,
  NamespaceHandler,
  ServerSocket,
} from './namespace-handler.js';
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

/** The engine's {@link ServerSocket}. */
export class SocketIoSocket implements ServerSocket, DeadlineTarget {
  readonly id = generateId();
  connected = false;
  data: unknown = undefined;
  /** Packets emitted from inside `connect()`, sent once CONNECT is acknowledged. */
  private early: (string | Buffer)[] | null = null;
  /** The id of the next EVENT that asks for an ack; ids are never reused on a socket. */
  private nextAckId = 0;
  /** Emits awaiting the client's ACK, by id; null whenever none is, so idle sockets hold no map. */
  private pendingAcks: Map<number, PendingAck> | null = null;

  constructor(
    private readonly runtime: EngineRuntime,
    private readonly carrier: SocketCarrier,
    readonly nsp: string,
    readonly handler: NamespaceHandler,
    readonly handshake: Handshake,
  ) {}

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
    if (!this.connected) return;
    if (this.early !== null) this.early.push(packet);
    else this.carrier.writeMessageText(packet);
  }

  disconnect(): void {
    if (!this.connected) return;
    this.sendPacket({ type: PacketType.DISCONNECT, nsp: this.nsp });
    this.carrier.releaseSocket(this);
    this.left('server namespace disconnect');
  }

  /**
   * The socket is gone (either side left the namespace, or the session ended): fails the acks
   * still awaited, then tells the handler. Called once per socket, after it was released.
   */
  left(reason: DisconnectReason): void {
    this.connected = false;
    this.failPendingAcks(reason);
    try {
      this.handler.disconnect(this, reason);
    } catch (error) {
      console.error(`namespace ${this.nsp}: disconnect handler threw`, error);
    }
  }

  /** Encodes and sends a packet; the encoder turns EVENT/ACK with binary into BINARY_*. */
  sendPacket(packet: Packet): void {
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

  /** Runs the handler's `connect()` with emits held back; returns its refusal, if any. */
  runConnectHandler(): ReturnType<NamespaceHandler['connect']> {
    this.connected = true;
    this.early = [];
    try {
      const refusal = this.handler.connect(this);
      if (refusal !== undefined) {
        this.connected = false;
        this.early = null;
        // Acks asked for inside a refused connect(): their EVENTs were never sent.
        this.failPendingAcks(undefined);
      }
      return refusal;
    } catch (error) {
      this.connected = false;
      this.early = null;
      this.failPendingAcks(undefined);
      console.error(`namespace ${this.nsp}: connect handler threw`, error);
      return { message: 'Internal server error' };
    }
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
    this.notifyConnected();
  }

  /** The early-packet delay passed: sends what `connect()` emitted, then calls `connected()`. */
  deadlinePassed(): void {
    const early = this.early;
    this.early = null;
    if (early === null || !this.connected) return;
    for (const item of early) {
      if (typeof item === 'string') this.carrier.writeMessageText(item);
      else this.carrier.writeMessageBinary(item);
    }
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
