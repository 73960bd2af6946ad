/**
 * Token buckets refilled lazily from the caller's clock: `rate` tokens a second up to `burst`.
 * The state is two numbers, which a client keeps as fields of its own (no object per client);
 * `TokenBucket` wraps them for owners that want an object.
 */
/**
 * The state of a token bucket: an owner that has one for each client keeps these two fields.
 * `tokens` counts thousandths of a token and `refilledAt` whole milliseconds, so that with
 * whole-number rates both stay small integers, which V8 stores in the object itself (a
 * fractional number would cost a heap box per field, per client).
 */
export interface BucketState {
  tokens: number;
  refilledAt: number;
}

/** Thousandths of a token in one token. */
const MILLI = 1000;

/** The state of a full bucket at `now`. */
export function fullBucket(burst: number, now: number): BucketState {
  return { tokens: burst * MILLI, refilledAt: Math.floor(now) };
}

/** Refills `state` to `now` (`rate` per second, at most `burst`) and takes a token if there is one. */
export function takeToken(state: BucketState, now: number, rate: number, burst: number): boolean {
  refill(state, now, rate, burst);
  // Fractional rates refill in fractions of a thousandth; a token whole but for rounding counts.
  if (state.tokens < MILLI - 1e-6) return false;
  state.tokens = Math.max(0, state.tokens - MILLI);
  return true;
}

function refill(state: BucketState, now: number, rate: number, burst: number): void {
  const at = Math.floor(now);
  const elapsed = at - state.refilledAt;
  if (elapsed <= 0) return;
  state.refilledAt = at;
  // `rate` tokens a second is `rate` thousandths a millisecond.
  state.tokens = Math.min(burst * MILLI, state.tokens + elapsed * rate);
}

/** A bucket of its own: `rate` per second sustained, `burst` at once. */
export class TokenBucket implements BucketState {
  tokens: number;
  refilledAt: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    ({ tokens: this.tokens, refilledAt: this.refilledAt } = fullBucket(burst, now));
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    return takeToken(this, now, this.rate, this.burst);
  }

  /** True when the bucket would be full at `now`: it remembers nothing worth keeping. */
  isFull(now: number): boolean {
    refill(this, now, this.rate, this.burst);
    return this.tokens >= this.burst * MILLI;
  }
}

/** Counts events in fixed windows: "more than `max` within `windowMs`". */
export class WindowCounter {
  private count = 0;
  private windowStart: number;

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
    now: number,
  ) {
    this.windowStart = now;
  }

  /** Counts one event; true when the window now holds more than `max`. */
  add(now: number): boolean {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count += 1;
    return this.count > this.max;
  }
}
