/**
 * The real Parley server (startTestServer) with the engine's observations recorded: why each
 * session ended (onSessionClosed) and what it logged.
 */
import type { EngineCloseReason, EngineOptions } from '../../src/signaling/engine/protocol-server.js';
import type { RunningParleyServer } from '../../src/signaling/parley-server.js';
import { captureLog, type CapturedLog } from './log-capture.js';
import { startTestServer } from './parley.js';

/** A running Parley server and what its engine reported. */
export interface RecordingServer {
  readonly server: RunningParleyServer;
  readonly url: string;
  /** Ended sessions by engine sid, with the engine's reason. */
  readonly closed: Map<string, EngineCloseReason>;
  readonly captured: CapturedLog;
  /** Resolves with session `sid`'s close reason (rejects after `timeoutMs`). */
  closedSession(sid: string, timeoutMs?: number): Promise<EngineCloseReason>;
  close(): void;
}

/**
 * Starts Parley with `engine` options (`allowedOrigins` goes to the server's own option) plus a
 * recording `onSessionClosed` and a captured `log`. Connection state recovery is off unless
 * `engine` turns it on.
 */
export async function startRecordingServer(engine: EngineOptions = {}): Promise<RecordingServer> {
  const closed = new Map<string, EngineCloseReason>();
  const waiters = new Map<string, Array<(reason: EngineCloseReason) => void>>();
  const captured = captureLog();
  const { log: _ignored, allowedOrigins, ...engineOptions } = engine;
  const server = await startTestServer({
    log: captured.log,
    ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
    engine: {
      // Wire-level tests read exact frames: no recovery offsets unless a test asks for them.
      connectionStateRecovery: false,
      ...engineOptions,
      onSessionClosed(sid, reason) {
        closed.set(sid, reason);
        for (const wake of waiters.get(sid) ?? []) wake(reason);
        waiters.delete(sid);
        engine.onSessionClosed?.(sid, reason);
      },
    },
  });
  return {
    server,
    url: server.url,
    closed,
    captured,
    closedSession(sid, timeoutMs = 10_000) {
      const done = closed.get(sid);
      if (done !== undefined) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`session ${sid} still open after ${timeoutMs} ms`)), timeoutMs);
        const list = waiters.get(sid) ?? [];
        list.push((reason) => {
          clearTimeout(timer);
          resolve(reason);
        });
        waiters.set(sid, list);
      });
    },
    close: () => server.close(),
  };
}
