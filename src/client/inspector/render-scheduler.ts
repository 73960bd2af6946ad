/**
 * Coalesces render requests: however many stream events arrive, the page renders at most once
 * per animation frame and at most once every `minIntervalMs` (10 times a second by default), so
 * a busy server cannot make the viewer fall behind. A render waits for an animation frame, but
 * not longer than `frameTimeoutMs`: browsers hold frames back from pages they think nobody
 * looks at (and headless ones sometimes from any), and the page must still catch up.
 */

/** Timer sources, injectable for tests. */
export interface SchedulerTimers {
  readonly now: () => number;
  readonly requestFrame: (callback: () => void) => unknown;
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
}

/** A scheduler: {@link RenderScheduler.request} as often as you like. */
export interface RenderScheduler {
  /** Asks for a render; it happens on a later frame, once. */
  request(): void;
  /** Renders now if a render is pending (e.g. before a screenshot). */
  flush(): void;
}

/** Creates a scheduler for `render`. */
export function createRenderScheduler(
  render: () => void,
  options: { minIntervalMs?: number; frameTimeoutMs?: number; timers?: SchedulerTimers } = {},
): RenderScheduler {
  const minIntervalMs = options.minIntervalMs ?? 100;
  const frameTimeoutMs = options.frameTimeoutMs ?? 250;
  const timers: SchedulerTimers = options.timers ?? {
    now: () => performance.now(),
    requestFrame: (callback) => requestAnimationFrame(() => callback()),
    setTimeout: (callback, ms) => setTimeout(callback, ms),
  };
  let pending = false;
  /** Which request is pending: the frame and the fallback of an earlier one do nothing. */
  let generation = 0;
  let lastRender = -Infinity;

  const run = () => {
    if (!pending) return;
    pending = false;
    lastRender = timers.now();
    render();
  };

  return {
    request() {
      if (pending) return;
      pending = true;
      const current = ++generation;
      const runCurrent = () => {
        if (current === generation) run();
      };
      const wait = Math.max(0, lastRender + minIntervalMs - timers.now());
      const inFrame = () => timers.requestFrame(runCurrent);
      if (wait === 0) inFrame();
      else timers.setTimeout(inFrame, wait);
      // Whichever comes first: the frame, or this.
      timers.setTimeout(runCurrent, wait + frameTimeoutMs);
    },
    flush: run,
  };
}
