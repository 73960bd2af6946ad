/**
 * Model-based test of the Engine.IO engine against an independent reference model of the
 * session (test/models/engine-session-reference-model.ts). Paths from `xstate/graph` (every
 * transition of the model at least once, by its shortest path) are driven against a real engine
 * on uWebSockets.js with a SimulatedClock, by hand-driven clients over long-polling and
 * WebSocket; every step checks what the client read and why the engine closed the session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { WebSocket } from 'ws';
import { runModelPath, type ModelDriver, type ModelPath } from '../src/testing/index.js';
import { echoNamespace, startEngine, type TestEngine } from './helpers/engine-server.js';
import {
  ENGINE_MODEL_TIMING,
  engineExpectation,
  engineSessionReferenceModel,
  possibleEngineModelEvents,
  type EngineExpectation,
  type EngineModelEvent,
  type EngineModelSnapshot,
} from './models/engine-session-reference-model.js';

const serialize = (snapshot: EngineModelSnapshot) => {
  const { context } = snapshot;
  return JSON.stringify([
    snapshot.value,
    context.transport,
    context.heartbeat,
    context.elapsed,
    context.connectAcked,
    context.upgrades,
    context.closeReason,
  ]);
};

/** Every transition of the model, each by the shortest path to its source state, then time passing. */
function enginePaths(): ModelPath<EngineModelEvent>[] {
  const possible = (snapshot: EngineModelSnapshot) => possibleEngineModelEvents(snapshot);
  const model = createTestModel(engineSessionReferenceModel, {
    events: possible,
    filterEvents: (snapshot, event) =>
      possible(snapshot).some((candidate) => JSON.stringify(candidate) === JSON.stringify(event)),
    serializeState: serialize,
  });
  const adjacency = model.getAdjacencyMap();
  const paths: EngineModelEvent[][] = [];
  for (const path of model.getShortestPaths({ allowDuplicatePaths: true })) {
    const events = path.steps.map((step) => step.event).filter((event) => !event.type.startsWith('xstate.'));
    for (const { event, state } of Object.values(
      adjacency[serialize(path.state) as keyof typeof adjacency]?.transitions ?? {},
    )) {
      // Then let time run to the next deadline, so that what the transition changed in the
      // heartbeat or the upgrade shows in what the client reads.
      const next = possibleEngineModelEvents(state).find((candidate) => candidate.type.startsWith('clock.'));
      paths.push([...events, event, ...(next === undefined ? [] : [next])]);
    }
  }
  return paths.map((events) => ({ name: events.map((event) => event.type).join(' → '), events }));
}

/** A hand-driven Engine.IO client that polls (one GET always out, as a real client) or holds a WebSocket. */
function createEngineDriver(
  test: TestEngine,
  clock: SimulatedClock,
): ModelDriver<EngineModelEvent, EngineExpectation> & {
  dispose(): void;
} {
  const seen: { -readonly [K in keyof EngineExpectation]: EngineExpectation[K] } = {
    upgrades: undefined,
    connectAcked: false,
    pollingPings: 0,
    websocketPings: 0,
    noops: 0,
    probesAnswered: 0,
    probesDropped: 0,
    closeReason: undefined,
    serverTransport: 'none',
  };
  let sid = '';
  // What a client reads once it has closed (a released GET, a close packet) is not the model's.
  let closing = false;
  let ws: WebSocket | undefined;
  let carrier: 'polling' | 'websocket' = 'polling';
  let polling = false;
  let pollsOut = 0;

  const read = (packet: string, via: 'polling' | 'websocket') => {
    if (closing) return;
    if (packet === '2') seen[via === 'polling' ? 'pollingPings' : 'websocketPings'] += 1;
    else if (packet === '6') seen.noops += 1;
    else if (packet === '3probe') seen.probesAnswered += 1;
    else if (packet.startsWith('40')) seen.connectAcked = true;
  };
  const url = (query: string, scheme?: 'http' | 'ws') => test.engineUrl(query, scheme);

  /** Keeps one GET out while polling carries the session, as socket.io-client does. */
  const pollLoop = async () => {
    pollsOut += 1;
    try {
      while (polling && carrier === 'polling' && seen.closeReason === undefined) {
        const response = await fetch(url(`transport=polling&sid=${sid}`));
        const body = await response.text();
        if (response.status !== 200) return;
        for (const packet of body.split('\x1e')) read(packet, 'polling');
      }
    } catch {
      // the session or the server went away
    } finally {
      pollsOut -= 1;
    }
  };
  const post = (body: string) =>
    fetch(url(`transport=polling&sid=${sid}`), { method: 'POST', body }).then((response) => response.text());
  const sendOnCarrier = async (packet: string) => {
    if (carrier === 'websocket') ws!.send(packet);
    else await post(packet);
  };
  const openWebSocket = (query: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url(query, 'ws'));
      socket.on('message', (data: Buffer) => {
        const text = data.toString();
        if (text.startsWith('0')) {
          sid = (JSON.parse(text.slice(1)) as { sid: string }).sid;
          seen.upgrades = (JSON.parse(text.slice(1)) as { upgrades: string[] }).upgrades;
        } else if (text.startsWith('42["message-back"')) echoes += 1;
        else read(text, 'websocket');
      });
      socket.on('error', () => {});
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', () => reject(new Error('WebSocket refused')));
    });
  let echoes = 0;
  const echo = async () => {
    const before = echoes;
    ws!.send('42["message","sync"]');
    await until(() => echoes > before);
  };
  const until = async (done: () => boolean) => {
    const deadline = Date.now() + 5_000;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  };

  return {
    async perform(event) {
      switch (event.type) {
        case 'client.openPolling': {
          const response = await fetch(url('transport=polling'));
          const open = JSON.parse((await response.text()).slice(1)) as { sid: string; upgrades: string[] };
          sid = open.sid;
          seen.upgrades = open.upgrades;
          polling = true;
          void pollLoop();
          return;
        }
        case 'client.openWebSocket':
          carrier = 'websocket';
          ws = await openWebSocket('transport=websocket');
          return until(() => sid !== '');
        case 'client.connect':
          return sendOnCarrier('40');
        case 'client.pong':
          await sendOnCarrier('3');
          // A POST is answered once the engine has read it; on a WebSocket, an echo sent after
          // the pong comes back only once the engine has read the pong.
          if (carrier === 'websocket' && seen.connectAcked) await echo();
          return;
        case 'client.close':
          closing = true;
          return sendOnCarrier('1');
        case 'client.closeWebSocket':
          closing = true;
          return ws!.close();
        case 'client.drop':
          closing = true;
          return ws!.terminate();
        case 'client.garbage':
          closing = true;
          return sendOnCarrier('z');
        case 'client.oversized':
          closing = true;
          return sendOnCarrier(`4${'x'.repeat(ENGINE_MODEL_TIMING.maxPayload * 2)}`);
        case 'client.probe': {
          // The client stops polling once the probe is answered; the engine releases its GET.
          ws = await openWebSocket(`transport=websocket&sid=${sid}`);
          ws.on('close', () => {
            if (carrier === 'polling') seen.probesDropped += 1;
          });
          polling = false;
          ws.send('2probe');
          return until(() => pollsOut === 0);
        }
        case 'client.upgrade':
          carrier = 'websocket';
          ws!.send('5');
          return;
        case 'clock.upgradeTimeout': {
          const dropped = seen.probesDropped;
          clock.increment(event.ms);
          await until(() => seen.probesDropped > dropped);
          polling = true;
          void pollLoop();
          return;
        }
        case 'clock.ping':
        case 'clock.pingTimeout':
        case 'clock.connectTimeout':
          return clock.increment(event.ms);
      }
    },
    observe() {
      seen.closeReason = test.closed.find((closed) => closed.sid === sid)?.reason;
      const transports = test.engine.sessionsByTransport();
      seen.serverTransport =
        (['polling', 'upgrading', 'websocket'] as const).find((name) => transports[name] > 0) ?? 'none';
      return { ...seen };
    },
    dispose() {
      polling = false;
      ws?.terminate();
    },
  };
}

const paths = enginePaths();
let running: TestEngine | undefined;
afterEach(() => {
  running?.stop();
  running = undefined;
});

describe('the engine follows the reference model of an Engine.IO session', () => {
  it('has a path through every transition, on both transports', () => {
    expect(paths.length).toBeGreaterThan(40);
    expect(paths.some((path) => path.events[0]?.type === 'client.openPolling')).toBe(true);
    expect(paths.some((path) => path.events[0]?.type === 'client.openWebSocket')).toBe(true);
    expect(paths.some((path) => path.events.some((event) => event.type === 'client.upgrade'))).toBe(true);
  });

  it.each(paths.map((path, index) => [index, path.name, path] as const))('path %i: %s', async (_, __, path) => {
    const clock = new SimulatedClock();
    running = await startEngine(
      {
        clock,
        pingInterval: ENGINE_MODEL_TIMING.pingInterval,
        pingTimeout: ENGINE_MODEL_TIMING.pingTimeout,
        upgradeTimeout: ENGINE_MODEL_TIMING.upgradeTimeout,
        connectTimeout: ENGINE_MODEL_TIMING.connectTimeout,
        maxPayload: ENGINE_MODEL_TIMING.maxPayload,
      },
      { '/': echoNamespace() },
    );
    const driver = createEngineDriver(running, clock);
    try {
      await runModelPath(engineSessionReferenceModel, path, driver, engineExpectation, { timeoutMs: 3_000 });
    } finally {
      driver.dispose();
    }
  });
});
