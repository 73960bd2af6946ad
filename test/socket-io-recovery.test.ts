import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { SimulatedClock } from 'xstate';
import type { ServerSocket } from '../src/signaling/engine/namespace-handler.js';
import type { SocketIoSocket } from '../src/signaling/engine/socket-io-socket.js';
import { openWebSocketSession, startEngine, type TestEngine } from './helpers/engine-server.js';
import { recoveryNamespace, type RecoveryNamespace } from './helpers/recovery-namespace.js';

/** Generous bounds: the machine is shared, nothing here sleeps for a fixed time. */
const WAIT = { timeout: 10_000, interval: 5 };

type Transport = 'websocket' | 'polling';

/** A stock client that reconnects only when told (`client.connect()`), so each step is deterministic. */
async function connectClient(test: TestEngine, transport: Transport, nsp = '/'): Promise<Socket> {
  const client = io(`${test.url}${nsp}`, { transports: [transport], forceNew: true, reconnection: false });
  await connected(client);
  return client;
}

function connected(client: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('connect_error', reject);
  });
}

/** The numbers a client received as `n` events, in order. */
function collectNumbers(client: Socket): number[] {
  const received: number[] = [];
  client.on('n', (value: number) => received.push(value));
  return received;
}

/** Closes the client's Engine.IO transport (the connection drops; the socket.io socket will reconnect). */
function dropTransport(client: Socket): void {
  client.io.engine.close();
}

function serverSocketOf(ns: RecoveryNamespace, client: Socket): ServerSocket {
  const socket = ns.sockets.find((s) => s.id === client.id);
  if (socket === undefined) throw new Error(`no server socket ${client.id}`);
  return socket;
}

async function untilHeld(ns: RecoveryNamespace, socket: ServerSocket): Promise<void> {
  await vi.waitFor(() => expect(ns.callsOf(socket).at(-1)).toMatch(/^disconnect\(.*, held\)$/), WAIT);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('connection state recovery with a stock socket.io-client', () => {
  let test: TestEngine;
  const ns = recoveryNamespace();
  const other = recoveryNamespace();
  beforeAll(async () => {
    test = await startEngine(
      { pingInterval: 10_000, pingTimeout: 5000, connectionStateRecovery: {} },
      { '/': ns, '/other': other },
    );
  });
  afterAll(() => test.stop());

  describe.each(['websocket', 'polling'] as const)('over %s', (transport) => {
    it('gives the client its socket back: same id, data kept, missed packets in order, none twice', async () => {
      const client = await connectClient(test, transport);
      const received = collectNumbers(client);
      const server = serverSocketOf(ns, client);
      const firstId = client.id;
      server.data = { seat: 'impolite' };
      for (const n of range(1, 5)) server.emit('n', n);
      await vi.waitFor(() => expect(received).toHaveLength(5), WAIT);
      for (const n of range(6, 8)) server.emit('n', n); // maybe in flight when the drop comes
      dropTransport(client);
      await untilHeld(ns, server);
      expect(server.connected).toBe(false);
      for (const n of range(9, 12)) server.emit('n', n);
      server.sendEncoded('2["n",13]'); // the relay path, spliced with an offset
      client.connect();
      await connected(client);
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(firstId);
      for (const n of range(14, 15)) server.emit('n', n);
      await vi.waitFor(() => expect(received).toEqual(range(1, 15)), WAIT);
      expect(server.recovered).toBe(true);
      expect(server.connected).toBe(true);
      expect(server.data).toEqual({ seat: 'impolite' });
      expect(ns.sockets.filter((s) => s === server)).toHaveLength(1);
      expect(test.engine.stats.recovery.recovered).toBeGreaterThanOrEqual(1);
      expect(ns.callsOf(server)).toEqual([
        'connect',
        'connected',
        'disconnect(transport close, held)',
        'connect(recovered)',
        'connected',
      ]);
      client.close();
      await vi.waitFor(
        () => expect(ns.callsOf(server).at(-1)).toBe('disconnect(client namespace disconnect, gone)'),
        WAIT,
      );
    });

    it('recovers a socket that was sent nothing before the drop', async () => {
      const client = await connectClient(test, transport);
      const received = collectNumbers(client);
      const server = serverSocketOf(ns, client);
      const firstId = client.id;
      dropTransport(client);
      await untilHeld(ns, server);
      server.emit('n', 1);
      client.connect();
      await connected(client);
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(firstId);
      await vi.waitFor(() => expect(received).toEqual([1]), WAIT);
      client.close();
    });

    it('recovers the same session five times in a row, with automatic reconnection', async () => {
      const client = io(test.url, {
        transports: [transport],
        forceNew: true,
        reconnectionDelay: 10,
        reconnectionDelayMax: 20,
        randomizationFactor: 0,
      });
      await connected(client);
      const received = collectNumbers(client);
      const server = serverSocketOf(ns, client);
      const firstId = client.id;
      let next = 1;
      for (let round = 0; round < 5; round += 1) {
        const reconnected = connected(client);
        dropTransport(client);
        // Whatever the race with the reconnect, these reach the client once each, in order.
        for (let i = 0; i < 3; i += 1) server.emit('n', next++);
        await reconnected;
        expect(client.recovered).toBe(true);
        expect(client.id).toBe(firstId);
        server.emit('n', next++);
      }
      await vi.waitFor(() => expect(received).toEqual(range(1, next - 1)), WAIT);
      expect(ns.callsOf(server).filter((call) => call === 'connect(recovered)')).toHaveLength(5);
      client.close();
    });
  });

  it('replays binary events retained while held', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    const bytes: number[][] = [];
    client.on('bytes', (data: ArrayBuffer) => bytes.push([...new Uint8Array(data)]));
    dropTransport(client);
    await untilHeld(ns, server);
    server.emit('bytes', Buffer.from([1, 2, 3]));
    server.emit('bytes', Buffer.from([4]));
    client.connect();
    await connected(client);
    expect(client.recovered).toBe(true);
    await vi.waitFor(() => expect(bytes).toEqual([[1, 2, 3], [4]]), WAIT);
    client.close();
  });

  it('gives a fresh socket, never an error, for an unknown pid or a malformed pid or offset', async () => {
    for (const auth of [{ pid: 'no-such-pid', offset: 'x.1' }, { pid: 7 }, { pid: 'p', offset: 3 }, { pid: '' }]) {
      const client = io(test.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
      await connected(client);
      expect(client.recovered).toBe(false);
      const server = serverSocketOf(ns, client);
      expect(server.recovered).toBe(false);
      expect(ns.callsOf(server)).toEqual(['connect', 'connected']);
      client.close();
    }
  });

  it('restores only within the namespace that gave the pid', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    reader.ws.send('40');
    const pid = pidOf(await reader.next());
    const server = ns.sockets.at(-1)!;
    reader.ws.close();
    await untilHeld(ns, server);
    const second = await openWebSocketSession(test);
    second.reader.ws.send(`40/other,${JSON.stringify({ pid })}`);
    const otherAck = JSON.parse((await second.reader.next()).toString().slice('40/other,'.length)) as { sid: string };
    expect(otherAck.sid).not.toBe(server.id);
    expect(other.sockets.at(-1)!.recovered).toBe(false);
    // The held socket is untouched and still recovers in its own namespace.
    second.reader.ws.send(`40${JSON.stringify({ pid })}`);
    const ack = JSON.parse((await second.reader.next()).toString().slice(2)) as { sid: string; pid: string };
    expect(ack).toEqual({ sid: server.id, pid });
    expect(server.recovered).toBe(true);
    second.reader.ws.close();
    expect(sid).not.toBe(second.sid);
  });

  it('recovers a socket sent nothing yet when the client still holds an offset of an earlier socket or process', async () => {
    const elsewhere = await startEngine({ connectionStateRecovery: {} }, { '/': recoveryNamespace() });
    try {
      // Offsets a client may have kept: from another process, and from an earlier socket here.
      const kept = [await offsetFrom(elsewhere), await offsetFrom(test)];
      for (const offset of kept) {
        const { reader } = await openWebSocketSession(test);
        reader.ws.send('40');
        const pid = pidOf(await reader.next());
        const server = ns.sockets.at(-1)!;
        reader.ws.close();
        await untilHeld(ns, server);
        server.emit('n', 1);
        const again = await openWebSocketSession(test);
        again.reader.ws.send(`40${JSON.stringify({ pid, offset })}`);
        expect(JSON.parse((await again.reader.next()).toString().slice(2))).toEqual({ sid: server.id, pid });
        expect(JSON.parse((await again.reader.nextNonPing()).toString().slice(2)).slice(0, 2)).toEqual(['n', 1]);
        again.reader.ws.close();
      }
    } finally {
      elsewhere.stop();
    }
  });

  it('tags every event without an ack id with a string offset, and none with one', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    const pid = pidOf(await reader.next());
    expect(pid).toMatch(/^[\w-]{22}$/); // 128 random bits
    const server = ns.sockets.at(-1)!;
    server.emit('plain', 1);
    void server.emitWithAck('asking', 2).catch(() => {});
    server.sendEncoded('2["relayed",{"a":[1]}]');
    const plain = JSON.parse((await reader.nextNonPing()).toString().slice(2)) as unknown[];
    const asking = (await reader.nextNonPing()).toString();
    const relayed = JSON.parse((await reader.nextNonPing()).toString().slice(2)) as unknown[];
    expect(plain.slice(0, 2)).toEqual(['plain', 1]);
    expect(plain).toHaveLength(3);
    expect(typeof plain[2]).toBe('string');
    expect(asking).toBe('420["asking",2]');
    expect(relayed.slice(0, 2)).toEqual(['relayed', { a: [1] }]);
    expect(typeof relayed[2]).toBe('string');
    expect(relayed[2]).not.toBe(plain[2]);
    reader.ws.close();
  });

  it('hands a socket to a client that reconnects before the server saw its old transport fail', async () => {
    const first = await openWebSocketSession(test);
    first.reader.ws.send('40');
    const pid = pidOf(await first.reader.next());
    const server = ns.sockets.at(-1)!;
    server.emit('n', 1);
    const offset = lastArgument(await first.reader.nextNonPing());
    server.emit('n', 2); // "lost" with the old connection: the new one reads it
    const second = await openWebSocketSession(test);
    second.reader.ws.send(`40${JSON.stringify({ pid, offset })}`);
    expect(JSON.parse((await second.reader.next()).toString().slice(2))).toEqual({ sid: server.id, pid });
    const replayed = JSON.parse((await second.reader.nextNonPing()).toString().slice(2)) as unknown[];
    expect(replayed.slice(0, 2)).toEqual(['n', 2]);
    expect(ns.callsOf(server).slice(-3)).toEqual([
      'disconnect(transport close, held)',
      'connect(recovered)',
      'connected',
    ]);
    // The old session, should its client still read it, is told the socket left it: after what
    // it had been sent, DISCONNECT. It no longer carries the socket: its close changes nothing.
    expect(String(await first.reader.nextNonPing())).toMatch(/^42\["n",2,/);
    expect(String(await first.reader.nextNonPing())).toBe('41');
    first.reader.ws.close();
    await test.closedSession(first.sid);
    expect(server.connected).toBe(true);
    second.reader.ws.close();
  });

  it('lets the application end a held socket: its client then gets a fresh one', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    dropTransport(client);
    await untilHeld(ns, server);
    server.disconnect();
    expect(ns.callsOf(server).at(-1)).toBe('disconnect(server namespace disconnect, gone)');
    server.emit('n', 1); // a forgotten socket: dropped
    client.connect();
    await connected(client);
    expect(client.recovered).toBe(false);
    expect(ns.callsOf(server).at(-1)).toBe('disconnect(server namespace disconnect, gone)');
    client.close();
  });

  it('answers CONNECT_ERROR when the handler refuses a recovery, and the held socket expires', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    dropTransport(client);
    await untilHeld(ns, server);
    ns.refuseRecovery = true;
    try {
      const error = await new Promise<Error>((resolve) => {
        client.once('connect_error', resolve);
        client.connect();
      });
      expect(error.message).toBe('no recovery here');
      expect(ns.callsOf(server).slice(-2)).toEqual(['connect(recovered)', 'expired']);
    } finally {
      ns.refuseRecovery = false;
      client.close();
    }
  });
});

describe('connection state recovery on a simulated clock', () => {
  let test: TestEngine;
  const clock = new SimulatedClock();
  const ns = recoveryNamespace();
  beforeAll(async () => {
    test = await startEngine(
      {
        clock,
        pingInterval: 1000,
        pingTimeout: 1000,
        connectionStateRecovery: { maxDisconnectionDuration: 60_000, maxRetainedPackets: 4 },
      },
      { '/': ns },
    );
  });
  afterAll(() => test.stop());

  it('expires a held socket once its window passed; its client then gets a fresh one', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    const firstId = client.id;
    dropTransport(client);
    await untilHeld(ns, server);
    clock.increment(59_999);
    expect(ns.callsOf(server).at(-1)).toBe('disconnect(transport close, held)');
    const expiredBefore = test.engine.stats.recovery.expired;
    clock.increment(1);
    expect(ns.callsOf(server).at(-1)).toBe('expired');
    expect(test.engine.stats.recovery.expired).toBe(expiredBefore + 1);
    client.connect();
    await connected(client);
    expect(client.recovered).toBe(false);
    expect(client.id).not.toBe(firstId);
    expect(ns.callsOf(server)).toEqual(['connect', 'connected', 'disconnect(transport close, held)', 'expired']);
    client.close();
  });

  it('expires a held socket at once when its retained packets go over their bound', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    dropTransport(client);
    await untilHeld(ns, server);
    for (const n of range(1, 4)) server.emit('n', n);
    expect(ns.callsOf(server).at(-1)).toBe('disconnect(transport close, held)');
    server.emit('n', 5);
    expect(ns.callsOf(server).at(-1)).toBe('expired');
    server.emit('n', 6); // a forgotten socket: dropped, nothing happens
    client.connect();
    await connected(client);
    expect(client.recovered).toBe(false);
    client.close();
  });

  it('forgets retained packets once the client answered a ping written after them', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    await reader.next();
    const server = ns.sockets.at(-1)! as SocketIoSocket;
    server.emit('n', 1);
    server.emit('n', 2);
    await reader.next();
    await reader.next();
    expect(server.log!.size).toBe(2);
    clock.increment(1000); // the ping goes out after both
    server.emit('n', 3); // written after the ping: not proven read by its pong
    expect(await reader.next()).toBe('2');
    await reader.next();
    reader.ws.send('3');
    await vi.waitFor(() => expect(server.log!.size).toBe(1), WAIT);
    reader.ws.close();
  });

  it('refuses to lie: a client that missed packets the bound dropped gets a fresh socket', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    const pid = pidOf(await reader.next());
    const server = ns.sockets.at(-1)!;
    server.emit('n', 1);
    const offset = lastArgument(await reader.next());
    for (const n of range(2, 7)) server.emit('n', n); // the log keeps the last 4: 2 and 3 are gone
    reader.ws.close();
    await untilHeld(ns, server);
    const second = await openWebSocketSession(test);
    second.reader.ws.send(`40${JSON.stringify({ pid, offset })}`);
    const ack = JSON.parse((await second.reader.next()).toString().slice(2)) as { sid: string };
    expect(ack.sid).not.toBe(server.id);
    expect(ns.callsOf(server).at(-1)).toBe('expired');
    second.reader.ws.close();
  });

  it('acknowledges CONNECT once an async connect() settles, and releases what it admitted for a closed session', async () => {
    let admit: (value: undefined) => void = () => {};
    ns.connectAnswer = new Promise((resolve) => (admit = resolve));
    try {
      const { reader, sid } = await openWebSocketSession(test);
      reader.ws.send('40');
      await vi.waitFor(() => expect(ns.calls.at(-1)?.kind).toBe('connect'), WAIT);
      const server = ns.sockets.at(-1)!;
      reader.ws.close();
      await test.closedSession(sid);
      admit(undefined);
      await vi.waitFor(
        () => expect(ns.callsOf(server)).toEqual(['connect', 'disconnect(transport close, gone)']),
        WAIT,
      );

      ns.connectAnswer = Promise.resolve(undefined);
      const live = await openWebSocketSession(test);
      live.reader.ws.send('40');
      const ack = await live.reader.next();
      expect(ack.toString()).toMatch(/^40\{"sid":/);
      live.reader.ws.close();
    } finally {
      ns.connectAnswer = undefined;
    }
  });

  it('expires every held socket when the server closes', async () => {
    const client = await connectClient(test, 'websocket');
    const server = serverSocketOf(ns, client);
    dropTransport(client);
    await untilHeld(ns, server);
    test.stop();
    expect(ns.callsOf(server).at(-1)).toBe('expired');
  });
});

describe('without connection state recovery (the engine default)', () => {
  let test: TestEngine;
  const ns = recoveryNamespace();
  beforeAll(async () => {
    test = await startEngine({}, { '/': ns });
  });
  afterAll(() => test.stop());

  it('gives no pid, adds no offset and holds nothing', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    const ack = JSON.parse((await reader.next()).toString().slice(2)) as Record<string, unknown>;
    expect(Object.keys(ack)).toEqual(['sid']);
    const server = ns.sockets.at(-1)!;
    server.emit('n', 1);
    expect(await reader.next()).toBe('42["n",1]');
    reader.ws.close();
    await vi.waitFor(() => expect(ns.callsOf(server).at(-1)).toBe('disconnect(transport close, gone)'), WAIT);
  });
});

/** An offset a client got from a socket of `engine`. */
async function offsetFrom(engine: TestEngine): Promise<string> {
  const { reader } = await openWebSocketSession(engine);
  reader.ws.send('40');
  await reader.next();
  reader.ws.send('42["relay","x"]');
  const offset = lastArgument(await reader.nextNonPing());
  reader.ws.close();
  return offset;
}

function pidOf(frame: string | Buffer): string {
  const text = frame.toString();
  const ack = JSON.parse(text.slice(text.indexOf('{'))) as { pid?: string };
  if (typeof ack.pid !== 'string') throw new Error(`no pid in ${text}`);
  return ack.pid;
}

function lastArgument(frame: string | Buffer): string {
  const args = JSON.parse(frame.toString().slice(2)) as unknown[];
  return args.at(-1) as string;
}
