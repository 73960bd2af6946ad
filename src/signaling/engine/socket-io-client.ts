/**
 * The Socket.IO side of one Engine.IO session, as socket.io's own `Client` is: it owns the
 * session's namespace sockets, its binary-packet decoder and its connect deadline, and turns
 * incoming Engine.IO messages into CONNECT, DISCONNECT, EVENT and ACK per namespace.
 *
 * Bounds: every packet a client sends (CONNECT, EVENT, ACK) takes a token from its bucket
 * (`messageRate`/s, `messageBurst` at once); an EVENT over the rate is dropped and the handler's
 * `rateLimited()` tells the client; more than `maxDroppedMessages` drops within 10 s close it.
 * A binary packet may announce at most `maxAttachments`, of `maxAttachmentBytes` in all, which
 * must arrive within `attachmentTimeout`.
 */
import { PacketType, type Decoder, type Packet } from 'socket.io-parser';
import type { ClientFault } from '../../machines/engine-session-machine.js';
import type { Deadline } from './deadline-queue.js';
import type { DeadlineTarget, EngineRuntime } from './engine-runtime.js';
import { RECOVERABLE_REASONS } from './connection-state-recovery.js';
import type { ConnectRefusal, DisconnectReason, Handshake, NamespaceHandler } from './namespace-handler.js';
import { isBinaryPacketText } from './socket-io-codec.js';
import { SocketIoSocket, type SocketCarrier } from './socket-io-socket.js';
import { fullBucket, takeToken, WindowCounter, type BucketState } from './token-bucket.js';

/** The window in which dropped packets are counted against `maxDroppedMessages`. */
const DROP_WINDOW_MS = 10_000;

/** What a client needs from the session carrying it. */
export interface ClientCarrier {
  readonly isOpen: boolean;
  /** Handshake facts of the session (query, address, origin). */
  readonly query: URLSearchParams;
  readonly remoteAddress: string;
  readonly origin: string;
  writeMessageText(text: string): void;
  writeMessageBinary(data: Buffer): void;
  /** The client broke the protocol or a limit: close the session. */
  fault(fault: ClientFault, detail: string): void;
  /** No namespace was joined within `connectTimeout`. */
  connectTimedOut(): void;
}

/** One binary packet whose attachments are still arriving. */
class PendingBinary implements DeadlineTarget {
  bytes = 0;
  deadline: Deadline | null = null;

  constructor(
    private readonly client: SocketIoClient,
    readonly decoder: Decoder,
  ) {}

  deadlinePassed(): void {
    this.client.attachmentsTimedOut(this);
  }
}

/** The Socket.IO client of one session. */
export class SocketIoClient implements DeadlineTarget, SocketCarrier, BucketState {
  /** Sockets by namespace; created on the first CONNECT. */
  private sockets: Map<string, SocketIoSocket> | null = null;
  /** Namespaces whose async `connect()` has not settled yet. */
  private connecting: Set<string> | null = null;
  /** True once the session ended. */
  private closed = false;
  private binary: PendingBinary | null = null;
  /** The message-rate bucket's state (see takeToken): two numbers, not an object per client. */
  tokens: number;
  refilledAt: number;
  private drops: WindowCounter | null = null;

  constructor(
    private readonly runtime: EngineRuntime,
    private readonly carrier: ClientCarrier,
    private readonly namespaces: ReadonlyMap<string, NamespaceHandler>,
  ) {
    ({ tokens: this.tokens, refilledAt: this.refilledAt } = fullBucket(
      runtime.options.messageBurst,
      runtime.clock.now(),
    ));
    // No handle to cancel: on expiry the client checks whether a namespace was joined.
    runtime.connects.add(this);
  }

  /** The connect deadline passed: without a namespace joined, the session ends. */
  deadlinePassed(): void {
    if (this.sockets === null && this.carrier.isOpen) this.carrier.connectTimedOut();
  }

  /** Takes a token of the client's message rate. */
  private takeToken(): boolean {
    const { messageRate, messageBurst } = this.runtime.options;
    return takeToken(this, this.runtime.clock.now(), messageRate, messageBurst);
  }

  /** Handles one Engine.IO message: packet text or a binary attachment. */
  receive(data: string | Buffer): void {
    if (typeof data !== 'string' || this.binary !== null || isBinaryPacketText(data)) {
      this.receiveBinaryPart(data);
      return;
    }
    const { codec } = this.runtime;
    let packet: Packet;
    try {
      packet = codec.decodeText(data);
    } catch {
      if (data.charCodeAt(0) === 48 /* '0' */) this.refuseMalformedConnect(data);
      else this.carrier.fault('parse error', 'undecodable Socket.IO packet');
      return;
    }
    this.handle(packet, data);
  }

  /**
   * The session ended: every socket leaves with `reason`, every deadline is cancelled. With
   * connection state recovery, a socket whose transport went away (not its client) is held.
   */
  close(reason: DisconnectReason): void {
    this.closed = true;
    this.dropBinary();
    const sockets = this.sockets;
    this.sockets = null;
    if (sockets === null) return;
    const recoverable = RECOVERABLE_REASONS.has(reason);
    for (const socket of sockets.values()) {
      if (recoverable && socket.holdable) socket.hold(reason);
      else socket.left(reason);
    }
  }

  /** An Engine.IO ping was written: every packet written before it is read once its pong comes. */
  pingWritten(): void {
    if (this.sockets !== null) for (const socket of this.sockets.values()) socket.pingWritten();
  }

  /** The client answered the last ping. */
  pongReceived(): void {
    if (this.sockets !== null) for (const socket of this.sockets.values()) socket.pongReceived();
  }

  // ---- SocketCarrier ------------------------------------------------------------------------

  writeMessageText(text: string): void {
    this.carrier.writeMessageText(text);
  }

  writeMessageBinary(data: Buffer): void {
    this.carrier.writeMessageBinary(data);
  }

  releaseSocket(socket: SocketIoSocket): void {
    if (this.sockets?.get(socket.nsp) === socket) this.sockets.delete(socket.nsp);
  }

  // ---- Binary packets -----------------------------------------------------------------------

  /** A BINARY_EVENT/BINARY_ACK header or one of its attachments. */
  private receiveBinaryPart(data: string | Buffer): void {
    let pending = this.binary;
    if (pending === null) {
      if (typeof data !== 'string') {
        this.carrier.fault('parse error', 'an attachment nobody announced');
        return;
      }
      const headerFault = this.runtime.codec.checkBinaryHeader(data);
      if (headerFault !== undefined) {
        this.carrier.fault(headerFault.fault, headerFault.detail);
        return;
      }
      const created = new PendingBinary(this, this.runtime.codec.createBinaryDecoder());
      pending = created;
      this.binary = created;
      created.decoder.on('decoded', (packet: Packet) => {
        if (this.binary !== created) return;
        this.dropBinary();
        this.handle(packet, undefined);
      });
      created.deadline = this.runtime.attachments.schedule(created);
    } else if (typeof data !== 'string') {
      pending.bytes += data.length;
      const max = this.runtime.options.maxAttachmentBytes;
      if (pending.bytes > max) {
        this.carrier.fault('limit exceeded', `attachments of one packet over ${max} bytes`);
        return;
      }
    }
    try {
      pending.decoder.add(data);
    } catch {
      this.carrier.fault('parse error', 'malformed binary packet');
    }
  }

  /** The attachments of `pending` did not all arrive in time. */
  attachmentsTimedOut(pending: PendingBinary): void {
    if (this.binary !== pending) return;
    const timeout = this.runtime.options.attachmentTimeout;
    this.carrier.fault('limit exceeded', `attachments not received within ${timeout} ms`);
  }

  private dropBinary(): void {
    const pending = this.binary;
    this.binary = null;
    if (pending === null) return;
    pending.deadline?.cancel();
    pending.decoder.destroy();
  }

  // ---- Packets ------------------------------------------------------------------------------

  private handle(packet: Packet, text: string | undefined): void {
    const fault = this.runtime.codec.checkPacket(packet);
    if (fault !== undefined) {
      this.carrier.fault(fault.fault, fault.detail);
      return;
    }
    if (packet.type === PacketType.CONNECT_ERROR) return; // from a client, it means nothing
    if (packet.type !== PacketType.DISCONNECT && !this.takeToken()) {
      this.refuseOverRate(packet);
      return;
    }
    switch (packet.type) {
      case PacketType.CONNECT:
        return this.connect(packet.nsp, packet.data);
      case PacketType.DISCONNECT: {
        const socket = this.sockets?.get(packet.nsp);
        if (socket === undefined) return;
        this.releaseSocket(socket);
        socket.left('client namespace disconnect');
        return;
      }
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT: {
        const socket = this.sockets?.get(packet.nsp);
        // socket.io ignores events for a namespace the client has not joined.
        if (socket === undefined) return;
        const args = packet.data as unknown[];
        const name = String(args.shift());
        const id = packet.id;
        const ack = id === undefined ? undefined : socket.createAck(id);
        const encoded = packet.type === PacketType.EVENT && id === undefined ? text : undefined;
        socket.handler.event(socket, name, args, ack, encoded);
        return;
      }
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        // The answer to a server emitWithAck; for a namespace the client left, nobody waits.
        this.sockets?.get(packet.nsp)?.receiveAck(packet.id!, packet.data as unknown[]);
        return;
    }
  }

  /** A packet over the client's rate: dropped, told, and counted towards a close. */
  private refuseOverRate(packet: Packet): void {
    const now = this.runtime.clock.now();
    const { maxDroppedMessages, messageRate } = this.runtime.options;
    this.runtime.stats.droppedMessages += 1;
    this.drops ??= new WindowCounter(DROP_WINDOW_MS, maxDroppedMessages, now);
    if (this.drops.add(now)) {
      this.carrier.fault('rate limited', `over ${maxDroppedMessages} packets dropped within ${DROP_WINDOW_MS} ms`);
      return;
    }
    if (packet.type === PacketType.CONNECT) {
      const message = `Too many packets: at most ${messageRate} a second`;
      this.refuseConnect(packet.nsp, { message, data: { code: 'rate-limited', message } });
      return;
    }
    if (packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT) {
      const socket = this.sockets?.get(packet.nsp);
      socket?.handler.rateLimited(socket, String((packet.data as unknown[])[0]));
    }
  }

  private connect(nsp: string, auth: unknown): void {
    const handler = this.namespaces.get(nsp);
    if (handler === undefined) {
      this.refuseConnect(nsp, { message: 'Invalid namespace' });
      return;
    }
    if (this.sockets?.has(nsp) || this.connecting?.has(nsp)) return;
    const { carrier } = this;
    const handshake: Handshake = {
      auth: auth ?? {},
      query: carrier.query,
      remoteAddress: carrier.remoteAddress,
      origin: carrier.origin,
    };
    const { recovery } = this.runtime;
    const restoration = recovery?.restore(nsp, auth);
    if (restoration !== undefined) {
      // The store holds only this engine's sockets.
      const socket = restoration.socket as SocketIoSocket;
      socket.bindForRecovery(this, handshake);
      this.settleConnect(socket, socket.runConnectHandler(restoration.replay));
      return;
    }
    // Not held here: with several nodes, perhaps on another. CONNECT is answered once the claim
    // settles; the client sends nothing else on this namespace before that answer.
    const claim = recovery?.claimShared(nsp, auth);
    if (claim === undefined) {
      this.admitFresh(nsp, handler, handshake);
      return;
    }
    const connecting = (this.connecting ??= new Set());
    connecting.add(nsp);
    void claim.then((claimed) => {
      connecting.delete(nsp);
      if (claimed === undefined) {
        if (!this.closed && carrier.isOpen) this.admitFresh(nsp, handler, handshake);
        return;
      }
      const pid = (auth as { pid: string }).pid;
      const { sid, data } = claimed;
      const socket = new SocketIoSocket(this.runtime, this, nsp, handler, handshake, { pid, sid, data });
      // Tracked at once: if this session closes before CONNECT is answered, the socket is held here.
      recovery!.store.track(socket);
      this.settleConnect(socket, socket.runConnectHandler(socket.retainHandedOver(claimed.replay)));
    });
  }

  private admitFresh(nsp: string, handler: NamespaceHandler, handshake: Handshake): void {
    const socket = new SocketIoSocket(this.runtime, this, nsp, handler, handshake);
    this.settleConnect(socket, socket.runConnectHandler());
  }

  /** Answers CONNECT now, or once an async `connect()` settles; repeated CONNECTs meanwhile are ignored. */
  private settleConnect(socket: SocketIoSocket, outcome: ReturnType<SocketIoSocket['runConnectHandler']>): void {
    if (!(outcome instanceof Promise)) {
      this.finishConnect(socket, outcome);
      return;
    }
    const connecting = (this.connecting ??= new Set());
    connecting.add(socket.nsp);
    void outcome.then((refusal) => {
      connecting.delete(socket.nsp);
      this.finishConnect(socket, refusal);
    });
  }

  /** Answers CONNECT once the handler decided: CONNECT_ERROR, or CONNECT and the socket joined. */
  private finishConnect(socket: SocketIoSocket, refusal: ConnectRefusal | undefined): void {
    const { carrier } = this;
    // Taken over meanwhile by a recovery on another session: that one answers.
    if (!socket.isCarriedBy(this)) return;
    if (refusal !== undefined) {
      if (carrier.isOpen) {
        this.refuseConnect(socket.nsp, refusal.data === undefined ? { message: refusal.message } : refusal);
      }
      return;
    }
    if (!carrier.isOpen || this.closed) {
      socket.lostBeforeAcknowledged();
      return;
    }
    const { nsp } = socket;
    (this.sockets ??= new Map()).set(nsp, socket);
    const data = socket.pid === '' ? { sid: socket.id } : { sid: socket.id, pid: socket.pid };
    const [connect] = this.runtime.codec.encode({ type: PacketType.CONNECT, nsp, data });
    carrier.writeMessageText(connect);
    if (socket.recovered) this.runtime.stats.recovery.recovered += 1;
    // A recovered socket too, in a new generation, so that a shared store records it again.
    if (socket.pid !== '') this.runtime.recovery!.store.track(socket);
    socket.acknowledged();
  }

  private refuseConnect(nsp: string, data: { message: string; data?: unknown }): void {
    const [text] = this.runtime.codec.encode({ type: PacketType.CONNECT_ERROR, nsp, data });
    this.carrier.writeMessageText(text);
  }

  /** A CONNECT the decoder refused (its auth is not an object): CONNECT_ERROR, not a close. */
  private refuseMalformedConnect(text: string): void {
    const nsp = this.runtime.codec.namespaceOfRefusedConnect(text);
    if (nsp === undefined) {
      this.carrier.fault('parse error', 'undecodable CONNECT');
      return;
    }
    if (!this.takeToken()) {
      this.refuseOverRate({ type: PacketType.CONNECT, nsp });
      return;
    }
    if (!this.namespaces.has(nsp)) {
      this.refuseConnect(nsp, { message: 'Invalid namespace' });
      return;
    }
    // A stable code beside socket.io's message, so programs need not match on text.
    const message = 'Invalid handshake: the CONNECT auth payload must be a JSON object';
    this.refuseConnect(nsp, { message, data: { code: 'bad-handshake', message } });
  }
}
