/**
 * The retained log never lies: whatever the interleaving of emits, deliveries, pings, pongs,
 * drops and recoveries, a recovery replays exactly the packets the client has not read, in
 * order, or is refused; and it is refused only when the bounds dropped a packet the client had
 * not read. The socket's side (what was written, when a ping goes out) is modelled here as
 * SocketIoSocket does it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetainedLog } from '../src/signaling/engine/retained-log.js';

type Op =
  | { readonly kind: 'emit' }
  | { readonly kind: 'deliver'; readonly count: number }
  | { readonly kind: 'ping' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reconnect' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'emit' } as const) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }).map((count) => ({ kind: 'deliver', count }) as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'ping' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reconnect' } as const) },
);

/** What travels on the transport towards the client, in order. */
type Item = { readonly offset: number } | { readonly ping: true };

describe('RetainedLog', () => {
  it('replays exactly what the client missed, in order, or refuses only after the bounds dropped some of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(op, { maxLength: 120 }),
        (firstOffset, maxRetainedPackets, ops) => {
          const log = new RetainedLog(firstOffset, { maxRetainedPackets, maxRetainedBytes: 1_000_000 });
          let next = firstOffset;
          const emitted: number[] = [];
          let connected = true;
          let pingOutstanding = false;
          let inFlight: Item[] = [];
          /** The last offset the client read (its socket.io-client `_lastOffset`), or none. */
          let clientOffset = firstOffset - 1;
          const received: number[] = [];

          for (const step of ops) {
            switch (step.kind) {
              case 'emit': {
                const offset = next++;
                emitted.push(offset);
                log.append(offset, String(offset));
                if (connected) {
                  log.writtenThrough = offset;
                  inFlight.push({ offset });
                }
                break;
              }
              case 'deliver':
                for (let i = 0; i < step.count && inFlight.length > 0; i++) {
                  const item = inFlight.shift()!;
                  if ('ping' in item) {
                    // The client answers at once; the pong arrives after everything it read.
                    log.pongReceived();
                    pingOutstanding = false;
                  } else {
                    received.push(item.offset);
                    clientOffset = item.offset;
                  }
                }
                break;
              case 'ping':
                if (!connected || pingOutstanding) break;
                log.pingMark = log.writtenThrough;
                pingOutstanding = true;
                inFlight.push({ ping: true });
                break;
              case 'drop':
                connected = false;
                pingOutstanding = false;
                inFlight = [];
                break;
              case 'reconnect': {
                if (connected) break;
                const missed = emitted.filter((offset) => offset > clientOffset);
                const replay = log.replayAfter(clientOffset);
                if (replay === undefined) {
                  // Refused: only if the log no longer has something the client did not read.
                  expect(log.discardedThrough).toBeGreaterThan(clientOffset);
                  return;
                }
                expect(replay.map(Number)).toEqual(missed);
                connected = true;
                for (const offset of missed) {
                  log.writtenThrough = offset;
                  inFlight.push({ offset });
                }
                break;
              }
            }
          }
          // What the client read is in order, without duplicates, and a prefix of what was emitted.
          expect(received).toEqual(emitted.slice(0, received.length));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('drops what a pong proves read, and never what was written after the ping', () => {
    const log = new RetainedLog(0, { maxRetainedPackets: 100, maxRetainedBytes: 1_000_000 });
    log.append(0, 'a');
    log.append(1, 'b');
    log.writtenThrough = 1;
    log.pingMark = log.writtenThrough;
    log.append(2, 'c');
    log.writtenThrough = 2;
    log.pongReceived();
    expect(log.size).toBe(1);
    expect(log.bytes).toBe(1);
    expect(log.replayAfter(0)).toBeUndefined(); // the client claims not to have read 1: a lie
    expect(log.replayAfter(1)).toEqual(['c']);
  });

  it('bounds bytes as well as packets', () => {
    const log = new RetainedLog(0, { maxRetainedPackets: 100, maxRetainedBytes: 10 });
    log.append(0, 'x'.repeat(6));
    log.append(1, ['y'.repeat(2), Buffer.alloc(3)]);
    expect(log.size).toBe(1);
    expect(log.bytes).toBe(5);
    expect(log.discardedThrough).toBe(0);
  });
});
