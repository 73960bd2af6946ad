/**
 * The token buckets behind the TURN credential limit (src/signaling/address-rate-limiter.ts):
 * burst and refill on injected time, memory that stays bounded, and how addresses are grouped.
 */
import { describe, expect, it } from 'vitest';
import { AddressRateLimiter } from '../src/signaling/address-rate-limiter.js';
import { addressKey } from '../src/signaling/engine/client-address.js';

function limiter(maxAddresses?: number) {
  let now = 1_000_000;
  const limits = new AddressRateLimiter({ perMinute: 10, burst: 10 }, () => now, maxAddresses);
  return { limits, advance: (ms: number) => (now += ms) };
}

describe('address rate limiter', () => {
  it('allows a burst, then one per refill interval, per address', () => {
    const { limits, advance } = limiter();
    expect(Array.from({ length: 12 }, () => limits.take('203.0.113.1'))).toEqual([
      ...Array<boolean>(10).fill(true),
      false,
      false,
    ]);
    expect(limits.take('203.0.113.2')).toBe(true);
    advance(5_999);
    expect(limits.take('203.0.113.1')).toBe(false);
    advance(1);
    expect(limits.take('203.0.113.1')).toBe(true);
    expect(limits.take('203.0.113.1')).toBe(false);
  });

  it('forgets an address once its bucket is full again, so idle addresses cost nothing', () => {
    const { limits, advance } = limiter();
    for (let i = 0; i < 1000; i++) limits.take(`10.0.${Math.floor(i / 250)}.${i % 250}`);
    limits.take('203.0.113.1');
    expect(limits.size).toBe(1001);
    advance(60_000);
    limits.take('203.0.113.9');
    expect(limits.size).toBe(1);
  });

  it('keeps at most maxAddresses, dropping the least recently used', () => {
    const { limits } = limiter(3);
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) limits.take(address);
    limits.take('203.0.113.1');
    limits.take('203.0.113.4');
    expect(limits.size).toBe(3);
    // .2 was dropped: it starts afresh with a full burst; .1 kept its spent token.
    for (let i = 0; i < 9; i++) limits.take('203.0.113.1');
    expect(limits.take('203.0.113.1')).toBe(false);
  });

  it('does not mind time going backwards', () => {
    const { limits, advance } = limiter();
    for (let i = 0; i < 10; i++) limits.take('203.0.113.1');
    advance(-60_000);
    expect(limits.take('203.0.113.1')).toBe(false);
  });

  it('refuses a limit that would allow nothing', () => {
    expect(() => new AddressRateLimiter({ perMinute: 0, burst: 10 }, Date.now)).toThrow(RangeError);
    expect(() => new AddressRateLimiter({ perMinute: 10, burst: 0 }, Date.now)).toThrow(RangeError);
  });
});

describe('address keys', () => {
  it('keeps IPv4 as it is, also when a dual-stack listener reports it IPv4-mapped', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    // uWebSockets.js writes IPv6 in full.
    expect(addressKey('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1');
  });

  it('groups IPv6 addresses by their /64, which one subscriber usually holds whole', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('0:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('uses anything else as it is', () => {
    expect(addressKey('')).toBe('');
    expect(addressKey('not an address')).toBe('not an address');
  });
});
