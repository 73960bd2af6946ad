/**
 * A TCP proxy on loopback that puts a server a real distance away: every chunk arrives
 * `oneWayMs` late, both ways, and the first chunk of each new connection `handshakeRoundTrips`
 * round trips later still, as the TCP handshake (one) and TLS 1.3's (one more) would make it.
 * Chunks keep their order. bench/time-to-media.ts puts each setup's server behind one.
 */
import { connect, createServer, type Socket } from 'node:net';

/** How far away the server is. */
export interface NetworkPath {
  /** One-way delay in ms (the round trip is twice that). */
  readonly oneWayMs: number;
  /** Round trips a new connection costs before its first request leaves: 1 for TCP, 2 with TLS 1.3. */
  readonly handshakeRoundTrips: number;
}

/** A running proxy: clients connect to 127.0.0.1:`port`; `close()` ends every connection. */
export interface DelayProxy {
  readonly port: number;
  close(): Promise<void>;
}

/** Forwards connections on a free loopback port to 127.0.0.1:`target` over `path`. */
export async function startDelayProxy(target: number, path: NetworkPath): Promise<DelayProxy> {
  const open = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  /**
   * Copies `from` to `to`, each chunk late, and ends `to` after the last one when `from` ends.
   * One queue and one timer per direction: timers set at different moments for the same time
   * may fire out of order (Node counts them from the event loop's clock, cached for a whole turn
   * of the loop), and a stream must keep its order.
   */
  const forward = (from: Socket, to: Socket, firstExtraMs: number) => {
    const queue: { readonly at: number; readonly chunk: Buffer | 'end' }[] = [];
    let lastAt = 0;
    let extra = firstExtraMs;
    const deliver = () => {
      while (queue.length > 0 && queue[0].at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (to.destroyed) continue;
        if (chunk === 'end') to.end();
        else to.write(chunk);
      }
      if (queue.length > 0) later(queue[0].at - Date.now(), deliver);
    };
    const send = (chunk: Buffer | 'end') => {
      // Never before the chunk ahead of it.
      const at = Math.max(Date.now() + path.oneWayMs + extra, lastAt);
      extra = 0;
      lastAt = at;
      queue.push({ at, chunk });
      if (queue.length === 1) later(at - Date.now(), deliver);
    };
    from.on('data', send);
    // An end travels as data does: after what was sent before it.
    from.on('end', () => send('end'));
  };

  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    }
    const handshakeMs = path.handshakeRoundTrips * 2 * path.oneWayMs;
    forward(client, upstream, handshakeMs);
    forward(upstream, client, 0);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the delay proxy has no port');

  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
