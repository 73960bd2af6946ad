import { describe, expect, it } from 'vitest';
import { createInspectionBatcher } from '../src/client/inspection-batcher.js';

/** Timers advanced by hand, with their delays recorded. */
function manualClock() {
  let now = 0;
  const due: { at: number; callback: () => void }[] = [];
  return {
    timers: {
      setTimeout: (callback: () => void, ms: number) => {
        const entry = { at: now + ms, callback };
        due.push(entry);
        return entry;
      },
      clearTimeout: (handle: unknown) => {
        const index = due.indexOf(handle as (typeof due)[number]);
        if (index !== -1) due.splice(index, 1);
      },
    },
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        due.sort((a, b) => a.at - b.at);
        const next = due[0];
        if (next === undefined || next.at > until) break;
        due.shift();
        now = next.at;
        next.callback();
      }
      now = until;
    },
    get now() {
      return now;
    },
  };
}

function setup(options: { maxEvents?: number; maxBytes?: number; maxQueued?: number } = {}) {
  const clock = manualClock();
  const sent: { at: number; batch: unknown[] }[] = [];
  const oversized: number[] = [];
  const overflows: number[] = [];
  const batcher = createInspectionBatcher<unknown>({
    ...options,
    intervalMs: 100,
    timers: clock.timers,
    send: (batch) => sent.push({ at: clock.now, batch }),
    onOversized: (_event, bytes) => oversized.push(bytes),
    onOverflow: (dropped) => overflows.push(dropped),
  });
  return { clock, sent, oversized, overflows, batcher };
}

describe('inspection batcher', () => {
  it('sends what arrived within an interval as one batch, in order', () => {
    const { clock, sent, batcher } = setup();
    batcher.push({ n: 1 });
    clock.advance(50);
    batcher.push({ n: 2 });
    expect(sent).toEqual([]);
    clock.advance(50);
    expect(sent).toEqual([{ at: 100, batch: [{ n: 1 }, { n: 2 }] }]);
    clock.advance(1_000);
    expect(sent).toHaveLength(1);
  });

  it('splits at maxEvents and at maxBytes of JSON, one batch per interval', () => {
    const { clock, sent, batcher } = setup({ maxEvents: 3, maxBytes: 40 });
    for (let n = 0; n < 7; n++) batcher.push({ n });
    clock.advance(100);
    expect(sent.map((s) => s.batch.length)).toEqual([3]);
    clock.advance(100);
    clock.advance(100);
    expect(sent.map((s) => [s.at, s.batch.length])).toEqual([
      [100, 3],
      [200, 3],
      [300, 1],
    ]);
    const big = setup({ maxBytes: 40 });
    for (let n = 0; n < 7; n++) big.batcher.push({ n });
    big.clock.advance(100);
    expect(JSON.stringify(big.sent[0].batch).length).toBeLessThanOrEqual(40);
    // {"n":0} is 7 bytes: with brackets and commas, 4 fit in 40 (33 bytes), 5 would not (41).
    expect(big.sent[0].batch).toHaveLength(4);
  });

  it('drops an event too large for any batch and says so', () => {
    const { clock, sent, oversized, batcher } = setup({ maxBytes: 20 });
    batcher.push({ text: 'é'.repeat(20) }); // 40 bytes of UTF-8, 20 characters
    batcher.push({ n: 1 });
    clock.advance(100);
    expect(oversized).toEqual([51]); // {"text":""} and 20 two-byte characters
    expect(sent.map((s) => s.batch)).toEqual([[{ n: 1 }]]);
  });

  it('drops the whole queue past maxQueued and reports it', () => {
    const { clock, sent, overflows, batcher } = setup({ maxQueued: 5 });
    for (let n = 0; n < 6; n++) batcher.push({ n });
    expect(overflows).toEqual([6]);
    expect(batcher.size).toBe(0);
    batcher.push({ n: 'fresh' });
    clock.advance(100);
    expect(sent.map((s) => s.batch)).toEqual([[{ n: 'fresh' }]]);
  });

  it('flushes everything at once on demand, and clears without sending', () => {
    const { clock, sent, batcher } = setup({ maxEvents: 2 });
    for (let n = 0; n < 5; n++) batcher.push({ n });
    batcher.flush();
    expect(sent.map((s) => [s.at, s.batch.length])).toEqual([
      [0, 2],
      [0, 2],
      [0, 1],
    ]);
    batcher.push({ n: 9 });
    batcher.clear();
    clock.advance(500);
    expect(sent).toHaveLength(3);
  });
});
