/**
 * The engine's per-address accounting (src/signaling/engine/address-table.ts) on simulated
 * time, beyond the basics in test/engine-limits-unit.test.ts: every refusal is counted for
 * operators, slots given back twice or by strangers change nothing, and an idle address is
 * forgotten exactly when its handshake bucket has refilled, not before and not while it is in
 * use again.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { AddressTable } from '../src/signaling/engine/address-table.js';
import { EngineStats } from '../src/signaling/engine/engine-stats.js';

// A burst of 4 handshakes, 2 a second: an emptied bucket is full again after 2000 ms.
const limits = {
  maxConnectionsPerAddress: 2,
  maxConnections: 3,
  maxSessionsPerAddress: 2,
  handshakeRate: 2,
  handshakeBurst: 4,
};

function makeTable() {
  const clock = new SimulatedClock();
  const stats = new EngineStats();
  const table = new AddressTable(limits, clock, stats);
  return { clock, stats, table };
}

describe('AddressTable', () => {
  it('counts each refusal by kind, with its status and message', () => {
    const { stats, table } = makeTable();
    table.takeConnection('a');
    table.takeConnection('a');
    expect(table.takeConnection('a')).toEqual({
      status: '429 Too Many Requests',
      message: 'Too many connections from this address',
    });
    table.takeConnection('b');
    expect(table.takeConnection('c')).toEqual({
      status: '503 Service Unavailable',
      message: 'Server at its connection limit',
    });
    table.openSession('d');
    table.openSession('d');
    expect(table.openSession('d')).toEqual({
      status: '429 Too Many Requests',
      message: 'Too many sessions from this address',
    });
    table.closeSession('d');
    table.closeSession('d');
    table.openSession('d');
    table.closeSession('d');
    table.openSession('d');
    table.closeSession('d');
    expect(table.openSession('d')).toEqual({
      status: '429 Too Many Requests',
      message: 'Too many handshakes from this address',
    });
    expect(Object.fromEntries(stats.refused)).toEqual({ 'address limit': 3, 'server limit': 1 });
  });

  it('works without stats', () => {
    const table = new AddressTable({ ...limits, maxConnections: 0 }, new SimulatedClock());
    expect(table.takeConnection('a')?.status).toBe('503 Service Unavailable');
  });

  it('ignores a connection or session given back that was never taken', () => {
    const { table } = makeTable();
    table.releaseConnection('stranger');
    table.closeSession('stranger');
    expect(table.connections).toBe(0);
    expect(table.size).toBe(0);
    table.takeConnection('a');
    table.takeConnection('b');
    table.releaseConnection('a');
    table.releaseConnection('a');
    expect(table.connections).toBe(1);
    // 'a' held nothing else and never shook hands: it is forgotten at once.
    expect(table.size).toBe(1);
    table.openSession('b');
    table.closeSession('b');
    table.closeSession('b');
    // 'b' still holds its connection, and its session slot is free again.
    expect(table.openSession('b')).toBeUndefined();
    expect(table.openSession('b')).toBeUndefined();
    expect(table.openSession('b')?.message).toBe('Too many sessions from this address');
  });

  it('ignores a connection given back by an address that holds only a session', () => {
    const { table } = makeTable();
    table.openSession('a');
    table.releaseConnection('a');
    expect(table.connections).toBe(0);
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')?.status).toBe('429 Too Many Requests');
  });

  it('keeps counting the sessions of an address whose bucket refilled while it held one', () => {
    const { clock, table } = makeTable();
    table.openSession('a');
    table.takeConnection('a');
    clock.increment(10_000);
    // Its last connection goes, its session stays: the address must not be forgotten.
    table.releaseConnection('a');
    expect(table.size).toBe(1);
    expect(table.openSession('a')).toBeUndefined();
    expect(table.openSession('a')?.message).toBe('Too many sessions from this address');
  });

  it('does not let a sweep forget an address that opened a session again', () => {
    const { clock, table } = makeTable();
    table.openSession('a');
    table.closeSession('a');
    expect(table.openSession('a')).toBeUndefined();
    clock.increment(2000);
    expect(table.size).toBe(1);
    expect(table.openSession('a')).toBeUndefined();
    expect(table.openSession('a')?.message).toBe('Too many sessions from this address');
  });

  it('keeps an address while it holds a connection or a session', () => {
    const { clock, table } = makeTable();
    table.takeConnection('a');
    table.openSession('a');
    table.releaseConnection('a');
    clock.increment(10_000);
    expect(table.size).toBe(1);
    table.takeConnection('a');
    table.closeSession('a');
    clock.increment(10_000);
    expect(table.size).toBe(1);
    table.releaseConnection('a');
    expect(table.size).toBe(0);
  });

  it('forgets an idle address when its bucket has refilled, not a millisecond before', () => {
    const { clock, table } = makeTable();
    for (let i = 0; i < 4; i += 1) {
      expect(table.openSession('a')).toBeUndefined();
      table.closeSession('a');
    }
    clock.increment(1999);
    expect(table.size).toBe(1);
    expect(table.openSession('a')).toBeUndefined(); // three tokens back by now
    table.closeSession('a');
    clock.increment(1);
    // The sweep scheduled at the first close found 'a' idle: forgotten, with its bucket.
    expect(table.size).toBe(0);
  });

  it('does not forget an address that is in use again when its sweep comes due', () => {
    const { clock, table } = makeTable();
    table.openSession('a');
    table.closeSession('a');
    table.takeConnection('a');
    clock.increment(2000);
    expect(table.size).toBe(1);
    table.releaseConnection('a');
    // Its bucket is full again by now: nothing worth keeping.
    expect(table.size).toBe(0);
  });

  it('groups an IPv6 client by its /64', () => {
    const { table } = makeTable();
    expect(table.takeConnection('2001:db8:1:2::1')).toBeUndefined();
    expect(table.takeConnection('2001:db8:1:2::ffff')).toBeUndefined();
    expect(table.takeConnection('2001:db8:1:2:3:4:5:6')?.status).toBe('429 Too Many Requests');
    table.releaseConnection('2001:db8:1:2::9');
    expect(table.connections).toBe(1);
  });

  it('drops every entry and timer on clear()', () => {
    const { clock, table } = makeTable();
    table.takeConnection('a');
    table.openSession('b');
    table.closeSession('b');
    table.clear();
    expect(table.connections).toBe(0);
    expect(table.size).toBe(0);
    clock.increment(5000);
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')).toBeUndefined();
    expect(table.takeConnection('a')?.status).toBe('429 Too Many Requests');
  });
});
