/**
 * A fake socket.io-client socket and a fake signaling room joining two of them back to back,
 * for driving the adapter in Node with the deliveries under the test's control.
 */
import type { SignalingSocket, SignalingSocketFactory } from '../../src/client/signaling-client.js';
import type { HandshakeAuth, SignalPayload } from '../../src/protocol/signaling-events.js';
import type { Delay } from './fake-peer-connection.js';

type Listener = (...args: never[]) => void;

/** Stands in for `Socket<ServerToClientEvents, ClientToServerEvents>`. */
export class FakeSocket {
  connected = true;
  /** What the client emitted, in order. */
  readonly emitted: { event: string; args: unknown[] }[] = [];
  /** What the server delivered to the client, in order. */
  readonly received: { event: string; args: unknown[] }[] = [];
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    readonly auth: HandshakeAuth,
    private readonly onEmit: (event: string, args: unknown[]) => void = () => {},
  ) {}

  /** This fake, typed as the real socket for injection. */
  get socket(): SignalingSocket {
    return this as unknown as SignalingSocket;
  }

  on(event: string, listener: Listener): this {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  emit(event: string, ...args: unknown[]): this {
    this.emitted.push({ event, args });
    this.onEmit(event, args);
    return this;
  }

  disconnect(): this {
    this.connected = false;
    return this;
  }

  /** Server side: delivers `event` to the client's listeners. */
  deliver(event: string, ...args: unknown[]): void {
    this.received.push({ event, args });
    for (const listener of this.listeners.get(event) ?? []) (listener as (...a: unknown[]) => void)(...args);
  }

  /** How many listeners the client has on `event`. */
  listenerCount(event: string): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  /** The `data` payloads the client emitted. */
  sentSignals(): SignalPayload[] {
    return this.emitted.filter((e) => e.event === 'data').map((e) => e.args[0] as SignalPayload);
  }
}

/** A socket factory that records the sockets it opened. */
export function fakeSocketFactory(onEmit?: (socket: FakeSocket, event: string, args: unknown[]) => void): {
  readonly connect: SignalingSocketFactory;
  readonly sockets: FakeSocket[];
} {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    connect: (auth) => {
      const socket: FakeSocket = new FakeSocket(auth, (event, args) => onEmit?.(socket, event, args));
      sockets.push(socket);
      return socket.socket;
    },
  };
}

/**
 * Two clients relayed back to back like the signaling server does: `data` from one reaches the
 * other in order, each delivery after `delay` lets it.
 */
export class FakeRoom {
  readonly a = fakeSocketFactory((socket, event, args) => this.relay(socket, this.b.sockets.at(-1), event, args));
  readonly b = fakeSocketFactory((socket, event, args) => this.relay(socket, this.a.sockets.at(-1), event, args));
  private readonly lanes = new Map<FakeSocket, Promise<void>>();

  constructor(private readonly delay: Delay) {}

  /** A's and B's current sockets. */
  sockets(): [FakeSocket, FakeSocket] {
    const a = this.a.sockets.at(-1);
    const b = this.b.sockets.at(-1);
    if (a === undefined || b === undefined) throw new Error('both clients must have joined');
    return [a, b];
  }

  private relay(from: FakeSocket, to: FakeSocket | undefined, event: string, args: unknown[]): void {
    if (event !== 'data' || to === undefined) return;
    // One lane per direction keeps socket.io's in-order delivery.
    const lane = (this.lanes.get(from) ?? Promise.resolve())
      .then(() => this.delay(`relay ${from.auth.room ?? ''}`))
      .then(() => {
        if (to.connected) to.deliver('data', ...args);
      });
    this.lanes.set(from, lane);
  }
}
