/**
 * bench/delay-proxy.ts, which puts a server a distance away for bench/time-to-media.ts: each
 * chunk is late by the one-way delay, a new connection's first one by its handshakes as well, and
 * a stream keeps its order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { startDelayProxy, type DelayProxy } from '../bench/delay-proxy.js';

/** An echo server: every chunk back as it came. */
let echo: Server;
let echoPort: number;
beforeAll(async () => {
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => echo.close());

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Milliseconds until `bytes` bytes have come back after writing `text`. */
function roundTrip(socket: Socket, text: string, bytes = text.length): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    let got = 0;
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got < bytes) return;
      socket.off('data', onData);
      resolve(performance.now() - started);
    };
    socket.on('data', onData);
    socket.write(text);
  });
}

describe('the delay proxy', () => {
  let proxy: DelayProxy;
  beforeAll(async () => {
    proxy = await startDelayProxy(echoPort, { oneWayMs: 40, handshakeRoundTrips: 2 });
  });
  afterAll(() => proxy.close());

  it('costs a new connection its handshakes on its first exchange, then one round trip each', async () => {
    const socket = await open(proxy.port);
    try {
      // Two round trips of handshakes and the exchange's own: 3 × 80 ms.
      const first = await roundTrip(socket, 'hello');
      expect(first).toBeGreaterThanOrEqual(240 - 2);
      expect(first).toBeLessThan(240 + 150);
      const second = await roundTrip(socket, 'again');
      expect(second).toBeGreaterThanOrEqual(80 - 2);
      expect(second).toBeLessThan(80 + 150);
    } finally {
      socket.destroy();
    }
  });

  it('keeps a stream in order, both ways', async () => {
    const socket = await open(proxy.port);
    try {
      const sent = Array.from({ length: 200 }, (_, i) => `${i},`).join('');
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      for (let i = 0; i < 200; i++) socket.write(`${i},`);
      await expect.poll(() => received.length, { timeout: 3_000 }).toBe(sent.length);
      expect(received).toBe(sent);
    } finally {
      socket.destroy();
    }
  });

  it('keeps many streams in order while the event loop is busy', async () => {
    // Chunks that arrive in one turn of a busy event loop are timed from a clock that turn
    // cached: timers set for one moment must still deliver in the order the chunks came.
    const sockets = await Promise.all(Array.from({ length: 20 }, () => open(proxy.port)));
    const busy = setInterval(() => {
      const until = performance.now() + 4;
      while (performance.now() < until);
    }, 1);
    try {
      const outOfOrder = await Promise.all(
        sockets.map(async (socket, n) => {
          const sent = Array.from({ length: 300 }, (_, i) => `${n}:${i},`);
          let received = '';
          socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
          socket.write(sent[0]);
          await new Promise((resolve) => setTimeout(resolve, 5 + n));
          for (const piece of sent.slice(1)) socket.write(piece);
          const all = sent.join('');
          await expect.poll(() => received.length, { timeout: 5_000 }).toBe(all.length);
          return received === all ? [] : [n];
        }),
      );
      expect(outOfOrder.flat()).toEqual([]);
    } finally {
      clearInterval(busy);
      for (const socket of sockets) socket.destroy();
    }
  });

  it('ends the connections it holds when closed', async () => {
    const other = await startDelayProxy(echoPort, { oneWayMs: 10, handshakeRoundTrips: 1 });
    const socket = await open(other.port);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await roundTrip(socket, 'x');
    await other.close();
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});
