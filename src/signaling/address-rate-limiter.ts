/**
 * A token bucket per client address, for things a server hands out sparingly (TURN
 * credentials). Buckets live in a Map ordered by last use, so idle ones are dropped from its
 * front as they refill (a full bucket is the same as none) and the Map stays bounded by the
 * addresses seen within one refill time, and by a hard cap beyond that. Addresses are grouped
 * as the engine's limits group them ({@link addressKey}: an IPv6 client by its /64).
 */
import { addressKey } from './engine/client-address.js';
import { TokenBucket } from './engine/token-bucket.js';

/** A rate and a burst: `burst` at once, then `perMinute` per minute. */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

interface Tracked {
  readonly bucket: TokenBucket;
  /** When the bucket was last used. */
  at: number;
}

/** Most addresses tracked at once; past it the least recently used bucket is dropped. */
export const MAX_TRACKED_ADDRESSES = 100_000;

/** Token buckets keyed by client address. */
export class AddressRateLimiter {
  readonly #buckets = new Map<string, Tracked>();
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #maxAddresses: number;
  /** ms for an empty bucket to fill up: a bucket idle that long is full, the same as none. */
  readonly #refillMs: number;

  /** `now` is in ms, on any scale that only moves forward (Date.now, a test's fake time). */
  constructor(limit: RateLimit, now: () => number, maxAddresses = MAX_TRACKED_ADDRESSES) {
    if (!(limit.perMinute > 0) || !(limit.burst >= 1)) {
      throw new RangeError(`a rate limit needs perMinute > 0 and burst >= 1, got ${JSON.stringify(limit)}`);
    }
    this.#limit = limit;
    this.#now = now;
    this.#maxAddresses = maxAddresses;
    this.#refillMs = (limit.burst / limit.perMinute) * 60_000;
  }

  /** Takes a token for `remoteAddress`: true if it had one, false if it is over the limit. */
  take(remoteAddress: string): boolean {
    const now = this.#now();
    this.#evictIdle(now);
    const key = addressKey(remoteAddress);
    const tracked = this.#buckets.get(key) ?? {
      bucket: new TokenBucket(this.#limit.perMinute / 60, this.#limit.burst, now),
      at: now,
    };
    tracked.at = Math.max(tracked.at, now);
    // Delete and set again, so the Map's order stays the order of last use.
    this.#buckets.delete(key);
    this.#buckets.set(key, tracked);
    if (this.#buckets.size > this.#maxAddresses) this.#buckets.delete(this.#buckets.keys().next().value!);
    return tracked.bucket.take(now);
  }

  /** How many addresses have a bucket now. */
  get size(): number {
    return this.#buckets.size;
  }

  #evictIdle(now: number): void {
    for (const [key, tracked] of this.#buckets) {
      if (now - tracked.at < this.#refillMs) return;
      this.#buckets.delete(key);
    }
  }
}
