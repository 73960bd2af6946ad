/**
 * The engine's rate limits (src/signaling/engine/token-bucket.ts) on explicit times: the bucket
 * functions that clients keep as two fields, the `TokenBucket` object, and the fixed-window
 * counter of dropped messages. Each boundary (the last token of a burst, the millisecond a token
 * comes back, the end of a window) is checked from both sides.
 */
import { describe, expect, it } from 'vitest';
import { TokenBucket, WindowCounter, fullBucket, takeToken } from '../src/signaling/engine/token-bucket.js';

describe('fullBucket and takeToken', () => {
  it('starts full at the whole millisecond of now, in thousandths of a token', () => {
    expect(fullBucket(3, 1234.9)).toEqual({ tokens: 3000, refilledAt: 1234 });
  });

  it('gives the burst at once, then a token per 1000 / rate ms', () => {
    const state = fullBucket(2, 0);
    expect(takeToken(state, 0, 4, 2)).toBe(true);
    expect(takeToken(state, 0, 4, 2)).toBe(true);
    expect(takeToken(state, 0, 4, 2)).toBe(false);
    expect(state.tokens).toBe(0);
    // 4 a second: one every 250 ms.
    expect(takeToken(state, 249, 4, 2)).toBe(false);
    expect(state).toEqual({ tokens: 996, refilledAt: 249 });
    expect(takeToken(state, 250, 4, 2)).toBe(true);
    expect(state).toEqual({ tokens: 0, refilledAt: 250 });
  });

  it('refills in whole milliseconds, and never past the burst', () => {
    const state = fullBucket(2, 0);
    takeToken(state, 0, 4, 2);
    takeToken(state, 0, 4, 2);
    // 0.9 ms is no millisecond yet; the fraction is not lost, it counts once the millisecond is whole.
    expect(takeToken(state, 249.9, 4, 2)).toBe(false);
    expect(state.refilledAt).toBe(249);
    expect(takeToken(state, 250.2, 4, 2)).toBe(true);
    expect(takeToken(state, 1_000_000, 4, 2)).toBe(true);
    expect(state).toEqual({ tokens: 1000, refilledAt: 1_000_000 });
  });

  it('ignores a clock that goes backwards', () => {
    const state = fullBucket(1, 1000);
    expect(takeToken(state, 1000, 1, 1)).toBe(true);
    expect(takeToken(state, 500, 1, 1)).toBe(false);
    expect(state).toEqual({ tokens: 0, refilledAt: 1000 });
    expect(takeToken(state, 2000, 1, 1)).toBe(true);
  });

  it('counts a token that is whole but for rounding, at a fractional rate', () => {
    // A third of a token a second: 3000 ms make 999.999… thousandths, which is one token.
    const state = { tokens: 0, refilledAt: 0 };
    expect(takeToken(state, 2999, 1 / 3, 5)).toBe(false);
    expect(takeToken(state, 3000, 1 / 3, 5)).toBe(true);
    expect(state.tokens).toBe(0);
  });
});

describe('TokenBucket', () => {
  it('takes its burst, then its rate, and is full again once refilled', () => {
    const bucket = new TokenBucket(2, 3, 100.5);
    expect({ tokens: bucket.tokens, refilledAt: bucket.refilledAt }).toEqual({ tokens: 3000, refilledAt: 100 });
    expect(bucket.isFull(100)).toBe(true);
    expect([bucket.take(100), bucket.take(100), bucket.take(100), bucket.take(100)]).toEqual([true, true, true, false]);
    expect(bucket.isFull(100)).toBe(false);
    // 2 a second: one every 500 ms; full after 1500 ms.
    expect(bucket.take(599)).toBe(false);
    expect(bucket.take(600)).toBe(true);
    expect(bucket.isFull(2099)).toBe(false);
    expect(bucket.isFull(2100)).toBe(true);
  });
});

describe('WindowCounter', () => {
  it('is over only past its maximum within one window', () => {
    const counter = new WindowCounter(1000, 3, 500);
    expect([counter.add(500), counter.add(600), counter.add(1499)]).toEqual([false, false, false]);
    expect(counter.add(1499)).toBe(true);
    expect(counter.add(1499)).toBe(true);
  });

  it('starts a new window exactly windowMs after the last one started', () => {
    const counter = new WindowCounter(1000, 1, 0);
    expect(counter.add(0)).toBe(false);
    expect(counter.add(999)).toBe(true);
    // A new window at 1000: the count starts again.
    expect(counter.add(1000)).toBe(false);
    expect(counter.add(1999)).toBe(true);
    expect(counter.add(2000)).toBe(false);
  });
});
