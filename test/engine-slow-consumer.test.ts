/**
 * A client that stops reading while its room peer floods `data` is cut as a slow consumer, on
 * either transport, before the server's memory grows: the bytes queued for it are bounded by
 * maxBufferedBytes. The flooding peer and an unrelated call carry on. And a polling client that
 * never fetches its pings cannot keep its session alive by posting pongs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { startControlPair, type ControlPair } from './helpers/control-pairs.js';
import { candidateSignal, connectClient } from './helpers/parley.js';
import { delay, openJoinedWebSocket, RawPollingClient, type RawWebSocketSession } from './helpers/raw-clients.js';
import { startRecordingServer, type RecordingServer } from './helpers/recording-parley.js';

const RSS_BOUND_MB = 150;
/** What the flooder sends at most (the cut must come long before). */
const FLOOD_CAP_BYTES = 300 * 1024 * 1024;
const MESSAGE = `42${JSON.stringify(['data', { type: 'offer', sdp: 'v=0\r\n'.padEnd(64 * 1024, 'a') }])}`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Samples this process's RSS (the server runs in-process) until stopped; reports the peak growth. */
function sampleRss(): { stop(): number } {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return (peak - baseline) / (1024 * 1024);
    },
  };
}

/**
 * Floods `data` from a raw WebSocket (respecting its own send buffer, so the flooder itself is
 * never the slow one) until `stop()` says so or the cap is reached. Resolves with bytes sent.
 */
async function flood(flooder: RawWebSocketSession, stop: () => boolean): Promise<number> {
  let sent = 0;
  while (!stop() && sent < FLOOD_CAP_BYTES && !flooder.socket.isClosed()) {
    if (flooder.socket.ws.bufferedAmount > 2 * 1024 * 1024) {
      await delay(1);
      continue;
    }
    flooder.socket.ws.send(MESSAGE);
    sent += MESSAGE.length;
    if (sent % (16 * MESSAGE.length) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

async function serverFor(options: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const server = await startRecordingServer({
    maxBufferedBytes: 256 * 1024,
    messageRate: 1_000_000,
    messageBurst: 1_000_000,
    maxDroppedMessages: 1_000_000,
    ...options,
  });
  cleanups.push(() => server.close());
  return server;
}

/** The flooder still works: a newcomer joins its room and they relay both ways. */
async function flooderStillWorks(server: RecordingServer, flooder: RawWebSocketSession, room: string): Promise<void> {
  await flooder.socket.waitForFrame((f) => f === '42["peer-left"]', 10_000);
  // Let the flood still in flight reach the server (and nobody), so the newcomer sees only what follows.
  while (flooder.socket.ws.bufferedAmount > 0) await delay(5);
  expect(await flooder.socket.roundTrip()).toBe(true);
  const from = flooder.socket.frames.length;
  const newcomer = await connectClient(server.url, { room });
  cleanups.push(() => newcomer.close());
  await flooder.socket.waitForFrame((f) => f === '42["ready"]', 10_000, from);
  flooder.socket.ws.send(`42${JSON.stringify(['data', candidateSignal('after-cut')])}`);
  expect((await newcomer.next('data')).args).toEqual([candidateSignal('after-cut')]);
  newcomer.socket.emit('data', candidateSignal('back'));
  const back = await flooder.socket.waitForFrame((f) => typeof f === 'string' && f.includes('back'), 10_000, from);
  expect(JSON.parse((back as string).slice(2))).toEqual(['data', candidateSignal('back')]);
  expect(server.closed.has(flooder.sid)).toBe(false);
}

async function unrelatedPair(server: RecordingServer, name: string): Promise<ControlPair> {
  const pair = await startControlPair(server.url, name, ['websocket', 'polling'], 10);
  cleanups.push(() => pair.close());
  return pair;
}

describe('slow consumers', () => {
  it(
    `WebSocket: a peer that stops reading is cut with "slow consumer" (1008); the flooder and another call carry on; RSS grows < ${RSS_BOUND_MB} MB`,
    { timeout: 60_000 },
    async () => {
      const server = await serverFor({});
      const pair = await unrelatedPair(server, 'calm-ws');
      const slow = await openJoinedWebSocket(server.url, { room: 'slow-ws' });
      const flooder = await openJoinedWebSocket(server.url, { room: 'slow-ws' });
      cleanups.push(() => {
        slow.socket.ws.terminate();
        flooder.socket.ws.terminate();
      });
      await slow.socket.waitForFrame((f) => f === '42["ready"]');
      slow.socket.pauseReading();

      const rss = sampleRss();
      const sent = await flood(flooder, () => server.closed.has(slow.sid));
      const growthMb = rss.stop();
      console.log(`WebSocket slow consumer: flooded ${(sent / 1048576).toFixed(1)} MB, RSS +${growthMb.toFixed(1)} MB`);

      expect(await Promise.race([server.closedSession(slow.sid), delay(5000)])).toBe('slow consumer');
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
      // The close frame says 1008, but it queues behind a full send buffer, which uWS may drop:
      // then the client, reading again, sees the connection end without one (1006).
      slow.socket.resumeReading();
      expect([1008, 1006]).toContain((await Promise.race([slow.socket.closed, delay(10_000)]))?.code);
      await flooderStillWorks(server, flooder, 'slow-ws');
      expect(await pair.finish()).toEqual([]);
    },
  );

  it(
    `polling: a peer that stops sending GETs is cut with "slow consumer"; the flooder and another call carry on; RSS grows < ${RSS_BOUND_MB} MB`,
    { timeout: 60_000 },
    async () => {
      const server = await serverFor({});
      const pair = await unrelatedPair(server, 'calm-poll');
      const slow = new RawPollingClient(server.url);
      expect((await slow.handshake()).status).toBe(200);
      await slow.post('40{"room":"slow-poll"}');
      expect((await slow.get()).body).toContain('40{');
      const flooder = await openJoinedWebSocket(server.url, { room: 'slow-poll' });
      cleanups.push(() => flooder.socket.ws.terminate());
      // From here on the slow client never GETs again.

      const rss = sampleRss();
      const sent = await flood(flooder, () => server.closed.has(slow.sid));
      const growthMb = rss.stop();
      console.log(`polling slow consumer: flooded ${(sent / 1048576).toFixed(1)} MB, RSS +${growthMb.toFixed(1)} MB`);

      expect(await Promise.race([server.closedSession(slow.sid), delay(5000)])).toBe('slow consumer');
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
      await flooderStillWorks(server, flooder, 'slow-poll');
      expect(await pair.finish()).toEqual([]);
    },
  );
});

describe('pongs count only for pings that were delivered', () => {
  const pingInterval = 1000;
  const pingTimeout = 500;

  async function joinedPoller(server: RecordingServer, room: string): Promise<RawPollingClient> {
    const client = new RawPollingClient(server.url);
    expect((await client.handshake()).status).toBe(200);
    await client.post(`40{"room":"${room}"}`);
    expect((await client.get()).body).toContain('40{');
    return client;
  }

  it('a polling client that never GETs but keeps POSTing pongs is reaped with "ping timeout"', async () => {
    const clock = new SimulatedClock();
    const server = await serverFor({ clock, pingInterval, pingTimeout });
    const client = await joinedPoller(server, 'pong-only');

    clock.increment(pingInterval); // the ping waits for a GET that never comes
    expect((await client.post('3')).status).toBe(200);
    clock.increment(pingTimeout);
    await delay(20);
    expect(server.closed.get(client.sid)).toBe('ping timeout');
  });

  it('a polling client that GETs its ping and answers it stays open', async () => {
    const clock = new SimulatedClock();
    const server = await serverFor({ clock, pingInterval, pingTimeout });
    const client = await joinedPoller(server, 'pong-honest');

    // Each step lands exactly on the next ping (due pingInterval after the last pong).
    for (let round = 0; round < 3; round++) {
      const poll = client.get();
      await delay(20);
      clock.increment(pingInterval);
      expect((await poll).body).toBe('2');
      expect((await client.post('3')).status).toBe(200);
      expect(server.closed.has(client.sid)).toBe(false);
    }
    clock.increment(pingTimeout);
    await delay(20);
    expect(server.closed.has(client.sid)).toBe(false);
  });
});
