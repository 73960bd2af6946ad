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
  /** False once disconnected; emits after that are dropped. */
  readonly connected: boolean;
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
  /** Sends DISCONNECT for this namespace and forgets the socket; the session stays open. */
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
   */
  connect(socket: ServerSocket): ConnectRefusal | undefined;
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
  /** Called once when the socket leaves, whatever the reason. */
  disconnect(socket: ServerSocket, reason: DisconnectReason): void;
  /**
   * Called instead of {@link NamespaceHandler.event} for an EVENT the engine dropped because the
   * client exceeds its message rate (see EngineOptions.messageRate), so the handler can tell the
   * client in its own protocol. Must not throw.
   */
  rateLimited(socket: ServerSocket, name: string): void;
}
