/**
 * The engine's time source. Every deadline (heartbeats, upgrades, connect and attachment
 * timeouts, rate buckets) reads and schedules through one of these, so tests drive time with
 * xstate's `SimulatedClock`, which has this exact shape, instead of sleeping.
 */

/** A monotonic clock with timers: xstate's `SimulatedClock` is one. */
export interface EngineClock {
  /** Milliseconds on a monotonic scale (only differences mean anything). */
  now(): number;
  /** Runs `fn` once after `ms`; returns a handle for {@link EngineClock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time: `performance.now()` and Node timers that never keep the process alive on their own. */
export const systemClock: EngineClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
