/**
 * Test helpers: a real Parley server on a free loopback port, and real socket.io-clients whose
 * received events are recorded in order, so tests wait on events instead of sleeping.
 */
import { io, type Socket } from 'socket.io-client';
import {
  startParleyServer,
  type ParleyServerConfig,
  type RunningParleyServer,
} from '../../src/signaling/parley-server.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/protocol/signaling-events.js';

/**
 * Starts Parley on 127.0.0.1 with a free port; `overrides` replace defaults. Every test client
 * comes from 127.0.0.1, so the TURN credential limit per address is raised far above what a test
 * file uses (test/signaling-security.test.ts checks the real default).
 */
export function startTestServer(overrides: Partial<ParleyServerConfig> = {}): Promise<RunningParleyServer> {
  return startParleyServer({
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    staticDir: undefined,
    turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3_600, stunUrls: [] },
    turnRate: { perMinute: 10_000, burst: 10_000 },
    ...overrides,
    engine: { ...LIFTED_ADDRESS_LIMITS, ...overrides.engine },
  });
}

/**
 * Per-address limits lifted for tests: every test client connects from 127.0.0.1, many at a
 * time. Tests of the limits themselves set them explicitly (test/engine-limits.test.ts).
 */
export const LIFTED_ADDRESS_LIMITS = {
  maxConnectionsPerAddress: 100_000,
  maxSessionsPerAddress: 100_000,
  handshakeRate: 100_000,
  handshakeBurst: 100_000,
} as const;

/** How a test client reaches the server. */
export type TransportMode = 'websocket' | 'polling' | 'upgrade';

/** One recorded event: name and arguments. */
export interface Received {
  readonly event: string;
  readonly args: unknown[];
}

/** A socket.io-client plus the ordered list of what it received. */
export interface TestClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly received: Received[];
  /** Resolves with the first received event named `event` after index `from` (default: any). */
  next(event: string, options?: { from?: number; timeoutMs?: number }): Promise<Received>;
  /** Resolves once `count` events named `event` have been received. */
  waitForCount(event: string, count: number, timeoutMs?: number): Promise<Received[]>;
  /** Events named `event`, in order. */
  all(event: string): Received[];
  close(): void;
}

const TRANSPORTS: Record<TransportMode, { transports: ('websocket' | 'polling')[]; upgrade: boolean }> = {
  websocket: { transports: ['websocket'], upgrade: false },
  polling: { transports: ['polling'], upgrade: false },
  upgrade: { transports: ['polling', 'websocket'], upgrade: true },
};

/**
 * Connects a client. `room` (and `secret`) go in the auth payload unless `auth` or `query` is
 * used. Resolves after `connect` or `connect_error` (recorded as events of those names).
 */
export async function connectClient(
  url: string,
  options: {
    room?: unknown;
    secret?: unknown;
    auth?: unknown;
    query?: Record<string, string>;
    mode?: TransportMode;
  } = {},
): Promise<TestClient> {
  const mode = options.mode ?? 'websocket';
  const fields = {
    ...(options.room === undefined ? {} : { room: options.room }),
    ...(options.secret === undefined ? {} : { secret: options.secret }),
  };
  const auth = options.auth ?? (Object.keys(fields).length === 0 ? undefined : fields);
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
    ...TRANSPORTS[mode],
    ...(auth === undefined ? {} : { auth: auth as Record<string, unknown> }),
    ...(options.query ? { query: options.query } : {}),
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
  });
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const record = (event: string, args: unknown[]): void => {
    received.push({ event, args });
    for (const wake of [...waiters]) wake();
  };
  // With connection state recovery (Parley's default) every event ends with its offset, a string
  // socket.io-client remembers as `_lastOffset` whenever it holds a private session id: dropped
  // here by the client's own rule, so tests see the arguments the server emitted.
  socket.onAny((event: string, ...args: unknown[]) => {
    const tagged = (socket as unknown as { _pid?: string })._pid !== undefined;
    record(event, tagged && typeof args.at(-1) === 'string' ? args.slice(0, -1) : args);
  });
  socket.on('connect', () => record('connect', []));
  socket.on('connect_error', (error: Error & { data?: unknown }) =>
    record('connect_error', [error.message, error.data]),
  );
  socket.on('disconnect', (reason) => record('disconnect', [reason]));
  // The upgrade to WebSocket is no Socket.IO event: wake the waiters when the engine reports it.
  socket.io.on('open', () => socket.io.engine.on('upgrade', () => waiters.forEach((wake) => wake())));

  const waitUntil = <T>(find: () => T | undefined, describe: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${describe}; received: ${JSON.stringify(received.map((r) => r.event))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const client: TestClient = {
    socket,
    received,
    next: (event, { from = 0, timeoutMs = 10_000 } = {}) =>
      waitUntil(() => received.slice(from).find((r) => r.event === event), `"${event}"`, timeoutMs),
    waitForCount: (event, count, timeoutMs = 10_000) =>
      waitUntil(
        () => {
          const matching = received.filter((r) => r.event === event);
          return matching.length >= count ? matching : undefined;
        },
        `${count} × "${event}"`,
        timeoutMs,
      ),
    all: (event) => received.filter((r) => r.event === event),
    close: () => {
      socket.disconnect();
    },
  };
  await waitUntil(() => received.find((r) => r.event === 'connect' || r.event === 'connect_error'), 'connect', 10_000);
  if (mode === 'upgrade' && socket.connected) {
    // Wait until the engine has moved to WebSocket, so the test exercises the upgraded session.
    await waitUntil(() => (socket.io.engine.transport.name === 'websocket' ? true : undefined), 'upgrade', 10_000);
  }
  return client;
}

/** A candidate-shaped signal with a marker, as browsers put on the wire. */
export function candidateSignal(marker: string) {
  return {
    type: 'candidate' as const,
    candidate: {
      candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${marker} typ host`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    },
  };
}
