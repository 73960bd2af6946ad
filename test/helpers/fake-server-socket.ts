/**
 * A socket as the engine hands it to the signaling namespace (the engine's `ServerSocket`), that
 * records what it was sent: for the namespace's unit tests, which drive it as the engine does.
 */
import type { ServerSocket } from '../../src/signaling/engine/namespace-handler.js';

/** A socket as the engine hands it to the namespace, recording what it was sent. */
export class FakeSocket implements ServerSocket {
  readonly nsp = '/';
  readonly handshake;
  connected = true;
  recovered = false;
  data: unknown = undefined;
  readonly emitted: unknown[][] = [];
  readonly sentEncoded: string[] = [];
  disconnects = 0;

  constructor(
    readonly id: string,
    auth: unknown,
    { query = '', remoteAddress = '127.0.0.1' } = {},
  ) {
    this.handshake = { auth, query: new URLSearchParams(query), remoteAddress, origin: '' };
  }

  emit(event: string, ...args: unknown[]): void {
    this.emitted.push([event, ...args]);
  }
  emitWithAck(): Promise<unknown[]> {
    throw new Error('the signaling app asks no acknowledgements');
  }
  timeout(): never {
    throw new Error('the signaling app asks no acknowledgements');
  }
  sendEncoded(packet: string): void {
    this.sentEncoded.push(packet);
  }
  disconnect(): void {
    this.disconnects += 1;
    this.connected = false;
  }

  /** The names of the events emitted, in order. */
  names(): string[] {
    return this.emitted.map(([event]) => event as string);
  }
  /** The arguments of the emits named `event`, in order. */
  all(event: string): unknown[][] {
    return this.emitted.filter(([name]) => name === event).map(([, ...args]) => args);
  }
  /** The last resume token this socket was sent. */
  lastToken(): string {
    const tokens = this.all('resume-token');
    const last = tokens.at(-1)?.[0] as { token: string } | undefined;
    if (last === undefined) throw new Error(`socket ${this.id} was sent no resume token`);
    return last.token;
  }
  clear(): void {
    this.emitted.length = 0;
    this.sentEncoded.length = 0;
  }
}
