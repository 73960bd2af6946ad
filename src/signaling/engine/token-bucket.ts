/**
 * Token buckets refilled lazily from the caller's clock: `rate` tokens a second up to `burst`.
 * The state is two numbers, which a client keeps as fields of its own (no object per client);
 * `TokenBucket` wraps them for owners that want an object.
 */
/** The state of a token bucket: an owner that has one for each client keeps these two fields. */
export interface BucketState {
  tokens: number;
  refilledAt: number;
}

/** Refills `state` to `now` (`rate` per second, at most `burst`) and takes a token if there is one. */
export function takeToken(state: BucketState, now: number, rate: number, burst: number): boolean {
  refill(state, now, rate, burst);
  // Refills add fractions in many small steps; a token that is whole but for rounding counts.
  if (state.tokens < 1 - 1e-9) return false;
  state.tokens = Math.max(0, state.tokens - 1);
  return true;
}

function refill(state: BucketState, now: number, rate: number, burst: number): void {
  const elapsed = now - state.refilledAt;
  if (elapsed <= 0) return;
  state.refilledAt = now;
  state.tokens = Math.min(burst, state.tokens + (elapsed * rate) / 1000);
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
    this.tokens = burst;
    this.refilledAt = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    return takeToken(this, now, this.rate, this.burst);
  }

  /** True when the bucket would be full at `now`: it remembers nothing worth keeping. */
  isFull(now: number): boolean {
    refill(this, now, this.rate, this.burst);
    return this.tokens >= this.burst;
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
