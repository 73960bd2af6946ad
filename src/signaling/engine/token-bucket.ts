/**
 * A token bucket refilled lazily from an injected clock: `rate` tokens a second up to `burst`.
 * It allocates nothing per take and keeps two numbers, so every client and every address can
 * have one.
 */
/** `rate` per second sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

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
    this.refill(now);
    // Refills add fractions in many small steps; a token that is whole but for rounding counts.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** True when the bucket would be full at `now`: it remembers nothing worth keeping. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    const elapsed = now - this.refilledAt;
    if (elapsed <= 0) return;
    this.refilledAt = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
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
