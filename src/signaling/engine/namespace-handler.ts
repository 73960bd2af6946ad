/**
 * The seam between the protocol engine (Engine.IO sessions and Socket.IO packets) and the
 * application on top of it. The engine owns transports, heartbeats and codecs; a namespace
 * handler owns what sockets mean. The signaling app and the conformance fixture are both
 * namespace handlers.
 */

/** What a socket's handshake carried, copied out of the request when the session opened. */
export interface Handshake {
  /** The CONNECT packet's auth payload, as sent (not validated). */
  readonly auth: unknown;
  /** The query string of the Engine.IO handshake request. */
  readonly query: URLSearchParams;
  /** The peer address as uWebSockets.js reports it. */
  readonly remoteAddress: string;
  /** The `origin` header of the handshake request, or '' when absent. */
  readonly origin: string;
}

/** Why a socket went away, in socket.io's words so clients and logs read the same. */
export type DisconnectReason =
  | 'client namespace disconnect'
  | 'server namespace disconnect'
  | 'transport close'
  | 'transport error'
  | 'ping timeout'
  | 'parse error'
  | 'forced close'
  | 'server shutting down';

/** An acknowledgement callback: calling it sends the ACK packet once. */
export type Ack = (...args: unknown[]) => void;

/** Emits that ask the client for an acknowledgement, with a deadline (see {@link ServerSocket.timeout}). */
export interface AckRequester {
  /** As {@link ServerSocket.emitWithAck}, also rejecting with `AckError` 'ack-timeout' when the time is up. */
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown[]>;
}

/** One Socket.IO socket: a session joined to one namespace. */
export interface ServerSocket {
  /** The Socket.IO socket id (not the Engine.IO session id). */
  readonly id: string;
  /** The namespace name, e.g. '/'. */
  readonly nsp: string;
  readonly handshake: Handshake;
  /**
   * False once disconnected. Emits after that are dropped, except while the socket is held for
   * connection state recovery: then `emit` and `sendEncoded` are retained and replayed to the
   * client if it recovers (see docs/protocol.md, "Connection state recovery").
   */
  readonly connected: boolean;
  /**
   * True when this socket was recovered: its client reconnected within the recovery window and
   * got the same socket back, with `data` as it was and the packets it missed replayed.
   */
  readonly recovered: boolean;
  /** Sends an EVENT packet (a BINARY_EVENT when an argument holds binary data). */
  emit(event: string, ...args: unknown[]): void;
  /**
   * Sends an EVENT that asks the client for an acknowledgement (a BINARY_EVENT when an argument
   * holds binary data) and resolves with every argument the client's callback was called with:
   * for `socket.on('x', (arg, cb) => cb(1, 'two'))` that is `[1, 'two']` (socket.io's own
   * `emitWithAck` resolves with the first argument only). Binary data arrives as `Buffer`s.
   *
   * Settles once. Rejects with an `AckError` (./ack-error.ts) coded 'disconnected' when the
   * socket leaves, or has left, before the ACK. Without {@link ServerSocket.timeout} it waits
   * as long as the socket stays connected.
   */
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown[]>;
  /**
   * `socket.timeout(5000).emitWithAck('x', ...)`: the same emit with a deadline of `timeoutMs`,
   * rejecting with `AckError` 'ack-timeout' when it passes first (a late ACK is then ignored).
   * Throws a RangeError for a negative or non-finite `timeoutMs`.
   */
  timeout(timeoutMs: number): AckRequester;
  /**
   * Sends a Socket.IO packet that is already encoded as text, such as a received EVENT being
   * relayed unchanged. The caller vouches that it is a valid text packet for this namespace.
   */
  sendEncoded(packet: string): void;
  /**
   * Sends DISCONNECT for this namespace and forgets the socket; the session stays open. On a
   * held socket: forgets it (it will not be recovered), with `disconnect(socket, 'server
   * namespace disconnect', false)` to its handler.
   */
  disconnect(): void;
  /** Free slot for the application (the signaling app keeps its room here). */
  data: unknown;
}

/** Refusing a CONNECT: sent as CONNECT_ERROR `{ message, data }`. */
export interface ConnectRefusal {
  readonly message: string;
  readonly data?: unknown;
}

/** The application side of a namespace. */
export interface NamespaceHandler {
  /**
   * Called on CONNECT, before CONNECT is acknowledged. Return a refusal to answer CONNECT_ERROR
   * instead; the socket then never exists. Must not throw.
   *
   * Also called when a held socket is recovered (`socket.recovered` true, `socket.data` as the
   * handler left it): a refusal then ends the held socket too ({@link NamespaceHandler.expired}).
   *
   * May return a promise: CONNECT is acknowledged once it settles. If the session closed
   * meanwhile, a socket the handler admitted gets {@link NamespaceHandler.disconnect} at once.
   * A synchronous handler costs nothing extra (no tick).
   */
  connect(socket: ServerSocket): ConnectRefusal | undefined | Promise<ConnectRefusal | undefined>;
  /**
   * Called right after the CONNECT acknowledgement was sent for an accepted socket, so the
   * handler's first emits reach the client after its `connect` event. Must not throw.
   */
  connected(socket: ServerSocket): void;
  /**
   * Called for each EVENT. `encoded` is the packet's text form when it can be forwarded
   * verbatim to another socket of the same namespace (text event, no ack id), else undefined.
   */
  event(socket: ServerSocket, name: string, args: unknown[], ack: Ack | undefined, encoded: string | undefined): void;
  /**
   * Called when the socket leaves, whatever the reason. With connection state recovery on and a
   * recoverable reason (the transport went away, not the client or the server leaving the
   * namespace), `held` is true: the same socket object stays addressable, its emits are retained,
   * and later comes either `connect()` again with `socket.recovered` true, or
   * {@link NamespaceHandler.expired}. Otherwise `held` is false and the socket is gone for good.
   */
  disconnect(socket: ServerSocket, reason: DisconnectReason, held: boolean): void;
  /**
   * Called once for a held socket that will not come back: its recovery window passed, its
   * retained packets went over their bounds, its client came back but could not be given its
   * session, the handler refused its recovery, or the server closed. The socket is forgotten.
   * Must not throw.
   */
  expired?(socket: ServerSocket): void;
  /**
   * Called instead of {@link NamespaceHandler.disconnect} when the socket's client recovered it
   * on another node (several nodes sharing recovery state, docs/scaling.md): the socket is
   * forgotten here, but what it held (a seat in a room) moved with it and must not be released.
   * Without this method the handler is told `disconnect(socket, 'transport close', false)`.
   * Must not throw.
   */
  moved?(socket: ServerSocket): void;
  /**
   * Called instead of {@link NamespaceHandler.event} for an EVENT the engine dropped because the
   * client exceeds its message rate (see EngineOptions.messageRate), so the handler can tell the
   * client in its own protocol. Must not throw.
   */
  rateLimited(socket: ServerSocket, name: string): void;
}
