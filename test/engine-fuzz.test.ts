/**
 * A seeded fuzz of the real signaling server over the wire: at least 100,000 malformed
 * WebSocket frames and 30,000 malformed polling bodies, from many loopback source addresses,
 * while control pairs (real socket.io-clients) run calls over WebSocket, polling and upgrade.
 * Afterwards every control peer must have received exactly its partner's sequence, no exception
 * may have escaped the engine (in production: a crashed server), the engine must have logged no
 * stack trace (nor written to the console), and the server must still work. Inputs in flight
 * when something went wrong are replayed one by one and the culprits named in the failure.
 *
 * Replay a failure with PARLEY_FUZZ_SEED=<the printed seed>.
 */
import http from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startControlPair, type ControlPair } from './helpers/control-pairs.js';
import { nextPollingBody, nextWebSocketFrame, Prng, type FuzzKind } from './helpers/fuzz-frames.js';
import { watchConsole, type ConsoleWatch } from './helpers/log-capture.js';
import { candidateSignal, connectClient } from './helpers/parley.js';
import {
  delay,
  openJoinedWebSocket,
  openRawWebSocketSession,
  RawPollingClient,
  type RawWebSocketSession,
} from './helpers/raw-clients.js';
import { startRecordingServer, type RecordingServer } from './helpers/recording-parley.js';

const SEED = Number(process.env['PARLEY_FUZZ_SEED'] ?? 0x5eed_2025);
const WEBSOCKET_FRAMES = 100_000;
const POLLING_BODIES = 30_000;
const WEBSOCKET_FUZZERS = 6;
const POLLING_FUZZERS = 20;
/**
 * The fuzz stops here even if the counts are not reached (and then fails on the counts). It takes
 * about 55 s in CI; with one more busy core on the machine it took 80 s for 73% of the frames.
 */
const FUZZ_DEADLINE_MS = 110_000;

/** Limits that would throttle the fuzzers themselves are raised; every other limit is the default. */
const UNTHROTTLED = {
  handshakeRate: 1_000_000,
  handshakeBurst: 1_000_000,
  maxSessionsPerAddress: 1_000_000,
  maxConnectionsPerAddress: 1_000_000,
  messageRate: 1_000_000,
  messageBurst: 1_000_000,
  maxDroppedMessages: 1_000_000,
  maxConcurrentBodies: 10_000,
} as const;

interface Stats {
  webSocketFrames: number;
  webSocketSessions: number;
  pollingBodies: number;
  pollingSessions: number;
  refusedHandshakes: number;
  stalls: number;
  kinds: Record<FuzzKind, number>;
  postStatuses: Record<string, number>;
  webSocketDoneMs: number;
  pollingDoneMs: number;
}

/** Input that was in flight when the engine wrote to the console or logged a stack. */
interface Suspect {
  readonly transport: 'websocket' | 'polling';
  readonly inputs: Array<string | Buffer>;
}

let server: RecordingServer | undefined;
let consoleWatch: ConsoleWatch | undefined;
const pairs: ControlPair[] = [];
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
  consoleWatch?.restore();
  for (const pair of pairs) pair.close();
  server?.close();
});

function preview(input: string | Buffer): string {
  if (typeof input !== 'string') return `<binary ${input.length} bytes: ${input.subarray(0, 16).toString('hex')}>`;
  return JSON.stringify(input.length > 160 ? `${input.slice(0, 120)}…(${input.length} chars)` : input);
}

it(
  `survives ${WEBSOCKET_FRAMES} malformed WebSocket frames and ${POLLING_BODIES} malformed polling bodies while control calls lose nothing`,
  { timeout: 180_000 },
  async () => {
    consoleWatch = watchConsole();
    const watch = consoleWatch;
    // An exception escaping the engine reaches the process (in production: a crash).
    const escaped: unknown[] = [];
    const onEscaped = (error: unknown): void => void escaped.push(error);
    process.on('uncaughtException', onEscaped);
    process.on('unhandledRejection', onEscaped);
    cleanups.push(() => {
      process.off('uncaughtException', onEscaped);
      process.off('unhandledRejection', onEscaped);
    });
    const rec = await startRecordingServer(UNTHROTTLED);
    server = rec;
    const { url, captured } = rec;
    const errorCount = (): number => watch.calls.length + captured.linesWithStacks().length + escaped.length;

    pairs.push(
      await startControlPair(url, 'ws', ['websocket', 'websocket']),
      await startControlPair(url, 'poll', ['polling', 'polling']),
      await startControlPair(url, 'mixed', ['websocket', 'polling']),
      await startControlPair(url, 'upgrade', ['upgrade', 'websocket']),
    );

    const stats: Stats = {
      webSocketFrames: 0,
      webSocketSessions: 0,
      pollingBodies: 0,
      pollingSessions: 0,
      refusedHandshakes: 0,
      stalls: 0,
      kinds: { random: 0, mutated: 0, nasty: 0, valid: 0 },
      postStatuses: {},
      webSocketDoneMs: 0,
      pollingDoneMs: 0,
    };
    const suspects: Suspect[] = [];
    const started = Date.now();
    const timeUp = (): boolean => Date.now() - started > FUZZ_DEADLINE_MS;

    async function webSocketFuzzer(index: number): Promise<void> {
      const rng = new Prng(SEED + index);
      const localAddress = `127.0.1.${index + 1}`;
      while (stats.webSocketFrames < WEBSOCKET_FRAMES && !timeUp()) {
        let session: RawWebSocketSession;
        try {
          session = await openRawWebSocketSession(url, { localAddress });
        } catch {
          stats.refusedHandshakes++;
          await delay(5);
          continue;
        }
        stats.webSocketSessions++;
        const { ws } = session.socket;
        if (rng.chance(0.6)) ws.send(`40{"room":"${rng.pick(['fuzz-a', 'fuzz-b', `fuzz-${index}`])}"}`);
        while (!session.socket.isClosed() && stats.webSocketFrames < WEBSOCKET_FRAMES && !timeUp()) {
          const errorsBefore = errorCount();
          const batch: Array<string | Buffer> = [];
          const size = 1 + rng.int(40);
          for (let i = 0; i < size && ws.readyState === WebSocket.OPEN; i++) {
            const frame = nextWebSocketFrame(rng);
            // Now and then, bytes that are not UTF-8 in a text frame.
            const asText = typeof frame.data === 'string' || rng.chance(0.1);
            ws.send(frame.data, { binary: !asText });
            batch.push(frame.data);
            stats.webSocketFrames++;
            stats.kinds[frame.kind]++;
          }
          let alive = false;
          try {
            alive = await session.socket.roundTrip(15_000);
          } catch {
            stats.stalls++;
          }
          if (errorCount() > errorsBefore && suspects.length < 20)
            suspects.push({ transport: 'websocket', inputs: batch });
          if (!alive) break;
        }
        ws.terminate();
      }
    }

    async function pollingFuzzer(index: number): Promise<void> {
      const rng = new Prng(SEED + 1000 + index);
      const localAddress = `127.0.2.${index + 1}`;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      try {
        while (stats.pollingBodies < POLLING_BODIES && !timeUp()) {
          const client = new RawPollingClient(url, { localAddress, agent });
          const handshake = await client.handshake().catch(() => undefined);
          if (handshake?.status !== 200) {
            stats.refusedHandshakes++;
            await delay(5);
            continue;
          }
          stats.pollingSessions++;
          const sid = client.sid;
          const open = (): boolean => !rec.closed.has(sid);
          if (rng.chance(0.15)) {
            // A reader, as real clients have: one long-poll GET at a time while the session lives.
            void (async () => {
              while (open()) {
                const answer = await client.get();
                if (answer.status !== 200) return;
              }
            })().catch(() => {});
          }
          while (open() && stats.pollingBodies < POLLING_BODIES && !timeUp()) {
            const errorsBefore = errorCount();
            const { body, kind } = nextPollingBody(rng);
            const answer = await client.postBody(body).catch(() => undefined);
            stats.pollingBodies++;
            stats.kinds[kind]++;
            const status = String(answer?.status ?? 'network error');
            stats.postStatuses[status] = (stats.postStatuses[status] ?? 0) + 1;
            if (errorCount() > errorsBefore && suspects.length < 20)
              suspects.push({ transport: 'polling', inputs: [body] });
          }
          // Leave no session behind to time out later.
          if (open()) await client.post('1').catch(() => undefined);
        }
      } finally {
        agent.destroy();
      }
    }

    await Promise.all([
      Promise.all(Array.from({ length: WEBSOCKET_FUZZERS }, (_, i) => webSocketFuzzer(i))).then(() => {
        stats.webSocketDoneMs = Date.now() - started;
      }),
      Promise.all(Array.from({ length: POLLING_FUZZERS }, (_, i) => pollingFuzzer(i))).then(() => {
        stats.pollingDoneMs = Date.now() - started;
      }),
    ]);
    const fuzzMs = Date.now() - started;

    const problems = (await Promise.all(pairs.map((pair) => pair.finish()))).flat();
    const controlCounts = pairs.map((pair) => `${pair.name} ${pair.sent().a}+${pair.sent().b}`).join(', ');

    const reasons: Record<string, number> = {};
    for (const reason of rec.closed.values()) reasons[reason] = (reasons[reason] ?? 0) + 1;
    console.log(
      [
        `fuzz seed ${SEED}: ${fuzzMs} ms`,
        `  WebSocket: ${stats.webSocketFrames} frames over ${stats.webSocketSessions} sessions in ${stats.webSocketDoneMs} ms`,
        `  polling: ${stats.pollingBodies} bodies over ${stats.pollingSessions} sessions in ${stats.pollingDoneMs} ms; POST statuses ${JSON.stringify(stats.postStatuses)}`,
        `  kinds ${JSON.stringify(stats.kinds)}; refused handshakes ${stats.refusedHandshakes}; stalls ${stats.stalls}`,
        `  sessions closed by reason ${JSON.stringify(reasons)}`,
        `  log: ${captured.lines.length} lines (${captured.lines.filter((l) => l.level === 'warn').length} warn), suppressed ${captured.suppressedTotal()}`,
        `  control messages sent (A+B): ${controlCounts}`,
        `  exceptions escaping the engine: ${escaped.length}; console writes by the engine: ${watch.calls.length}; suspect batches ${suspects.length}`,
        ...[
          ...new Set(
            escaped.map((e) =>
              e instanceof Error ? `${e.name}: ${e.message} ${e.stack?.split('\n')[1]?.trim() ?? ''}` : String(e),
            ),
          ),
        ].map((text) => `    escaped: ${text}`),
        ...watch.distinct().map(({ text, count }) => `    ${count} × ${text}`),
      ].join('\n'),
    );

    // Pin down which inputs made the engine write errors: replay each suspect alone.
    const culprits = suspects.length > 0 ? await replaySuspects(url, suspects, errorCount) : [];

    expect(stats.webSocketFrames).toBeGreaterThanOrEqual(WEBSOCKET_FRAMES);
    expect(stats.pollingBodies).toBeGreaterThanOrEqual(POLLING_BODIES);
    expect(
      [...new Set(escaped.map((e) => String(e)))],
      `${escaped.length} exceptions escaped the engine; culprits:\n${culprits.join('\n')}`,
    ).toEqual([]);
    expect(problems, 'control pairs').toEqual([]);
    expect(captured.linesWithStacks(), 'log lines with stack traces').toEqual([]);
    expect(
      watch.calls.length,
      `the engine wrote to the console (errors thrown inside it):\n${watch.describe(3)}\nculprits:\n${culprits.join('\n')}`,
    ).toBe(0);
    expect(stats.stalls, 'round trips that never came back').toBe(0);

    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    const a = await connectClient(url, { room: 'after-fuzz' });
    const b = await connectClient(url, { room: 'after-fuzz', mode: 'polling' });
    await a.next('ready');
    a.socket.emit('data', candidateSignal('after'));
    expect((await b.next('data')).args).toEqual([candidateSignal('after')]);
    a.close();
    b.close();
  },
);

/**
 * Sends each suspect input alone, on a fresh session joined to a room with a peer, and returns
 * the inputs after which the engine wrote to the console or logged a stack.
 */
async function replaySuspects(url: string, suspects: Suspect[], errorCount: () => number): Promise<string[]> {
  const culprits: string[] = [];
  const peer = await openJoinedWebSocket(url, { room: 'replay' });
  for (const suspect of suspects) {
    for (const input of suspect.inputs) {
      if (culprits.length >= 8) break;
      const before = errorCount();
      if (suspect.transport === 'websocket') {
        const session = await openJoinedWebSocket(url, { room: 'replay' });
        session.socket.ws.send(input, { binary: typeof input !== 'string' });
        await session.socket.roundTrip(5000).catch(() => false);
        session.socket.ws.terminate();
      } else {
        const client = new RawPollingClient(url);
        await client.handshake();
        await client.post('40{"room":"replay"}');
        await client.postBody(input).catch(() => undefined);
        await client.post('1').catch(() => undefined);
      }
      await delay(20);
      const culprit = `${suspect.transport}: ${preview(input)}`;
      if (errorCount() > before && !culprits.includes(culprit)) culprits.push(culprit);
    }
  }
  peer.socket.ws.terminate();
  return culprits;
}
