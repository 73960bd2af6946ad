import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { AckError } from '../src/signaling/engine/ack-error.js';
import type { ServerSocket } from '../src/signaling/engine/namespace-handler.js';
import { SocketIoSocket } from '../src/signaling/engine/socket-io-socket.js';
import { echoNamespace, openWebSocketSession, startEngine, type TestEngine } from './helpers/engine-server.js';

let test: TestEngine;
const main = echoNamespace();
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000 }, { '/': main });
});
afterAll(() => test.stop());

/** Connects a stock client and finds the server's socket for it. */
async function connectClient(transport: 'websocket' | 'polling'): Promise<{ client: Socket; server: ServerSocket }> {
  const client = io(test.url, { transports: [transport], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
  const server = main.sockets.find((socket) => socket.id === client.id);
  if (server === undefined) throw new Error('no server socket for the client');
  return { client, server };
}

/** The AckError a promise rejected with. */
async function ackErrorOf(promise: Promise<unknown>): Promise<AckError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(AckError);
  return error as AckError;
}

function pendingAcksOf(socket: ServerSocket): number {
  expect(socket).toBeInstanceOf(SocketIoSocket);
  return (socket as SocketIoSocket).pendingAckCount;
}

describe.each(['websocket', 'polling'] as const)('server-to-client acks over %s', (transport) => {
  it('resolves with every argument the client callback was called with', async () => {
    const { client, server } = await connectClient(transport);
    try {
      client.on('double', (n: number, cb: (...args: unknown[]) => void) => cb(n * 2, 'ok'));
      expect(await server.emitWithAck('double', 21)).toEqual([42, 'ok']);
      expect(pendingAcksOf(server)).toBe(0);
    } finally {
      client.close();
    }
  });

  it('sends binary arguments as BINARY_EVENT and takes binary answers as BINARY_ACK', async () => {
    const { client, server } = await connectClient(transport);
    try {
      client.on('echo-bytes', (bytes: ArrayBuffer, cb: (...args: unknown[]) => void) =>
        cb({ bytes }, Buffer.from([9])),
      );
      const [nested, plain] = (await server.emitWithAck('echo-bytes', Buffer.from([1, 2, 3]))) as [
        { bytes: Buffer },
        Buffer,
      ];
      expect(Buffer.from(nested.bytes)).toEqual(Buffer.from([1, 2, 3]));
      expect(Buffer.from(plain)).toEqual(Buffer.from([9]));
    } finally {
      client.close();
    }
  });

  it('matches concurrent acks answered out of order to their emits', async () => {
    const { client, server } = await connectClient(transport);
    try {
      client.on('after', (ms: number, cb: (ms: number) => void) => setTimeout(() => cb(ms), ms));
      const answers = await Promise.all([60, 5, 30].map((ms) => server.emitWithAck('after', ms)));
      expect(answers).toEqual([[60], [5], [30]]);
      expect(pendingAcksOf(server)).toBe(0);
    } finally {
      client.close();
    }
  });

  it('rejects with ack-timeout when the client does not answer in time, and keeps the socket usable', async () => {
    const { client, server } = await connectClient(transport);
    try {
      client.on('ping-me', (cb: (answer: string) => void) => cb('pong'));
      const error = await ackErrorOf(server.timeout(80).emitWithAck('unanswered', 1));
      expect(error.code).toBe('ack-timeout');
      expect(error.event).toBe('unanswered');
      expect(error.message).toBe('No acknowledgement of "unanswered" within 80 ms.');
      expect(server.connected).toBe(true);
      expect(await server.timeout(2000).emitWithAck('ping-me')).toEqual(['pong']);
      expect(pendingAcksOf(server)).toBe(0);
    } finally {
      client.close();
    }
  });

  it('rejects pending acks with disconnected when the client leaves, and later ones at once', async () => {
    const { client, server } = await connectClient(transport);
    client.on('ignored', () => {});
    const first = server.emitWithAck('ignored');
    const second = server.timeout(5000).emitWithAck('ignored');
    await new Promise<void>((resolve) => client.once('ignored', () => resolve()));
    client.close();
    const [a, b] = await Promise.all([ackErrorOf(first), ackErrorOf(second)]);
    expect(a.code).toBe('disconnected');
    expect(a.message).toBe('No acknowledgement of "ignored": the socket disconnected (client namespace disconnect).');
    expect(b.code).toBe('disconnected');
    expect(pendingAcksOf(server)).toBe(0);
    expect((await ackErrorOf(server.emitWithAck('too-late'))).code).toBe('disconnected');
  });

  it('rejects pending acks when the server disconnects the socket', async () => {
    const { client, server } = await connectClient(transport);
    try {
      const pending = server.emitWithAck('unanswered');
      server.disconnect();
      const error = await ackErrorOf(pending);
      expect(error.message).toContain('(server namespace disconnect)');
    } finally {
      client.close();
    }
  });
});

describe('server-to-client acks on the wire', () => {
  it('numbers ack ids per socket and ignores unknown, late and repeated ACKs', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    reader.ws.send('40');
    await reader.next();
    const server = main.sockets.at(-1)!;
    const first = server.emitWithAck('a', 1);
    expect(await reader.nextNonPing()).toBe('420["a",1]');
    const timed = server.timeout(50).emitWithAck('b');
    expect(await reader.nextNonPing()).toBe('421["b"]');
    reader.ws.send('4399["nobody asked"]');
    expect((await ackErrorOf(timed)).code).toBe('ack-timeout');
    reader.ws.send('431["late"]');
    reader.ws.send('430["x"]');
    reader.ws.send('430["again"]');
    expect(await first).toEqual(['x']);
    const binary = server.emitWithAck('c', Buffer.from([5]));
    expect(await reader.nextNonPing()).toBe('451-2["c",{"_placeholder":true,"num":0}]');
    expect(await reader.nextNonPing()).toEqual(Buffer.from([5]));
    reader.ws.send('461-2[{"_placeholder":true,"num":0},"text"]');
    reader.ws.send(Buffer.from([6, 7]));
    expect(await binary).toEqual([Buffer.from([6, 7]), 'text']);
    expect(pendingAcksOf(server)).toBe(0);
    expect(test.closed.some((c) => c.sid === sid)).toBe(false);

    // Another socket numbers its own acks from 0.
    const other = await openWebSocketSession(test);
    other.reader.ws.send('40');
    await other.reader.next();
    void main.sockets
      .at(-1)!
      .timeout(10)
      .emitWithAck('d')
      .catch(() => {});
    expect(await other.reader.nextNonPing()).toBe('420["d"]');
    other.reader.ws.close();
    reader.ws.close();
  });

  it('refuses a timeout that is negative or not finite', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    await reader.next();
    const server = main.sockets.at(-1)!;
    expect(() => server.timeout(-1)).toThrow(RangeError);
    expect(() => server.timeout(Number.NaN)).toThrow(RangeError);
    reader.ws.close();
  });
});
