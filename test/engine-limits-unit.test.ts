/**
 * The engine's bounded pieces on their own, on simulated time: token buckets, drop windows, the
 * per-address table, the deadline queue, the origin policy and the packet checks.
 */
import { describe, expect, it } from 'vitest';
import { PacketType } from 'socket.io-parser';
import { SimulatedClock } from 'xstate';
import { AddressTable } from '../src/signaling/engine/address-table.js';
import { DeadlineQueue } from '../src/signaling/engine/deadline-queue.js';
import { ClientFaultLog } from '../src/signaling/engine/engine-log.js';
import { ENGINE_DEFAULTS, resolveEngineOptions } from '../src/signaling/engine/engine-options.js';
import { isOriginAllowed } from '../src/signaling/engine/origin-policy.js';
import { SocketIoCodec, exceedsDepth } from '../src/signaling/engine/socket-io-codec.js';
import { TokenBucket, WindowCounter } from '../src/signaling/engine/token-bucket.js';

describe('TokenBucket', () => {
  it('gives its burst at once, then its rate per second, never more than the burst', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([1, 2, 3, 4].map(() => bucket.take(0))).toEqual([true, true, true, false]);
    expect(bucket.take(99)).toBe(false); // 0.99 of a token
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
    expect(bucket.isFull(100_000)).toBe(true);
    expect([1, 2, 3, 4].map(() => bucket.take(100_000))).toEqual([true, true, true, false]);
  });
});

describe('WindowCounter', () => {
  it('says "over" only past its maximum within one window, and starts again in the next', () => {
    const counter = new WindowCounter(10_000, 2, 0);
    expect([counter.add(0), counter.add(1), counter.add(2)]).toEqual([false, false, true]);
    expect(counter.add(10_000)).toBe(false);
  });
});

describe('AddressTable', () => {
  const limits = {
    maxConnectionsPerAddress: 2,
    maxConnections: 3,
    maxSessionsPerAddress: 2,
    handshakeRate: 1,
    handshakeBurst: 3,
  };

  it('refuses a third connection from one address with 429 and the fourth in all with 503', () => {
    const table = new AddressTable(limits, new SimulatedClock());
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')?.status).toBe('429 Too Many Requests');
    expect(table.takeConnection('b')).toBeUndefined();
    expect(table.takeConnection('c')?.status).toBe('503 Service Unavailable');
    table.releaseConnection('a');
    expect(table.takeConnection('c')).toBeUndefined();
    expect(table.connections).toBe(3);
  });

  it('limits sessions per address and handshakes per second, refilling with time', () => {
    const clock = new SimulatedClock();
    const table = new AddressTable(limits, clock);
    expect(table.openSession('a')).toBeUndefined();
    expect(table.openSession('a')).toBeUndefined();
    expect(table.openSession('a')?.message).toBe('Too many sessions from this address');
    table.closeSession('a');
    table.closeSession('a');
    expect(table.openSession('a')).toBeUndefined(); // the third token of the burst
    table.closeSession('a');
    expect(table.openSession('a')?.message).toBe('Too many handshakes from this address');
    clock.increment(1000);
    expect(table.openSession('a')).toBeUndefined();
    expect(table.openSession('b')).toBeUndefined(); // another address has its own bucket
  });

  it('forgets an address once it holds nothing and its bucket has refilled', () => {
    const clock = new SimulatedClock();
    const table = new AddressTable(limits, clock);
    expect(table.openSession('a')).toBeUndefined();
    table.closeSession('a');
    expect(table.size).toBe(1); // its bucket still remembers the handshake
    clock.increment(3000);
    expect(table.size).toBe(0);
    expect(table.takeConnection('b')).toBeUndefined();
    table.releaseConnection('b');
    expect(table.size).toBe(0); // no handshake, nothing to remember
  });
});

describe('DeadlineQueue', () => {
  it('fires deadlines in order on the injected clock, skipping cancelled ones', () => {
    const clock = new SimulatedClock();
    const fired: string[] = [];
    const queue = new DeadlineQueue<string>(100, clock, (item) => fired.push(item));
    queue.schedule('a');
    clock.increment(10);
    const b = queue.schedule('b');
    queue.schedule('c');
    b.cancel();
    clock.increment(89);
    expect(fired).toEqual([]);
    clock.increment(1);
    expect(fired).toEqual(['a']);
    clock.increment(10);
    expect(fired).toEqual(['a', 'c']);
    queue.schedule('d');
    queue.clear();
    clock.increment(1000);
    expect(fired).toEqual(['a', 'c']);
  });
});

describe('ClientFaultLog', () => {
  it('writes at most its quota a second and reports what it held back', () => {
    const clock = new SimulatedClock();
    const lines: Record<string, unknown>[] = [];
    const log = new ClientFaultLog({ warn: (fields) => lines.push(fields), info: () => {} }, () => clock.now(), 2);
    for (let i = 0; i < 5; i++) log.report({ i }, 'client closed');
    expect(lines).toEqual([{ i: 0 }, { i: 1 }]);
    clock.increment(1000);
    log.report({ i: 5 }, 'client closed');
    expect(lines.at(-1)).toEqual({ i: 5, suppressed: 3 });
  });
});

describe('origin policy', () => {
  it.each([
    ['', 'parley.example', [], true],
    ['https://parley.example', 'parley.example', [], true],
    ['http://parley.example:9999', 'parley.example:9999', [], true],
    ['https://evil.example', 'parley.example', [], false],
    ['http://localhost:5173', 'parley.example', [], true],
    ['http://127.0.0.1:8080', 'parley.example', [], true],
    ['http://[::1]:3000', 'parley.example', [], true],
    ['null', 'parley.example', [], false],
    ['file://', 'parley.example', [], false],
    ['https://app.example', 'parley.example', ['https://app.example'], true],
    ['https://evil.example', 'parley.example', '*', true],
  ] as const)('origin %j to host %j with %j: %s', (origin, host, allowed, expected) => {
    expect(isOriginAllowed(origin, host, allowed)).toBe(expected);
  });
});

describe('packet checks', () => {
  const codec = new SocketIoCodec(resolveEngineOptions({ maxEventNameLength: 8, maxAckId: 1000, maxDepth: 3 }));
  // Socket.IO packet text, as it arrives inside an Engine.IO message ('42[...]' on the wire is '2[...]').
  // What the parser itself refuses is a parse error too, as the engine treats it.
  const check = (text: string) => {
    try {
      return codec.checkPacket(codec.decodeText(text))?.fault;
    } catch {
      return 'parse error';
    }
  };

  it.each([
    ['2["data",{"type":"offer","sdp":"v=0"}]', undefined],
    ['2', 'parse error'],
    ['2[]', 'parse error'],
    ['2[{}]', 'parse error'],
    ['2["123456789"]', 'limit exceeded'],
    ['21000["data"]', undefined],
    ['21001["data"]', 'parse error'],
    [`2${'9'.repeat(400)}["data"]`, 'parse error'],
    ['2["data",[[1]]]', undefined],
    ['2["data",[[[1]]]]', 'limit exceeded'],
    ['3', 'parse error'],
    ['37[]', undefined],
  ] as const)('%s → %s', (text, fault) => {
    expect(check(text)).toBe(fault);
  });

  it('refuses binary headers that announce too many attachments', () => {
    expect(codec.checkBinaryHeader('51-["x",{"_placeholder":true,"num":0}]')).toBeUndefined();
    expect(codec.checkBinaryHeader('511-["x"]')?.fault).toBe('limit exceeded');
    expect(codec.checkBinaryHeader('5["x"]')?.fault).toBe('parse error');
  });

  it('measures depth in nodes, whatever the size of the strings', () => {
    expect(exceedsDepth(['data', { type: 'offer', sdp: 'x'.repeat(100_000) }], 2)).toBe(false);
    expect(exceedsDepth(['data', { a: { b: 1 } }], 2)).toBe(true);
    expect(exceedsDepth([PacketType.EVENT], 1)).toBe(false);
  });

  it('has a default for every limit', () => {
    const resolved = resolveEngineOptions({ maxDepth: undefined });
    expect(resolved.maxDepth).toBe(ENGINE_DEFAULTS.maxDepth);
    expect(Object.values(resolved).every((value) => value !== undefined)).toBe(true);
  });
});
