/**
 * The inspection stream against a real server: a viewer connecting late gets the whole picture
 * first (every live room, session and peer actor with its current snapshot), then live changes;
 * Stately's own receiver (`createWebSocketReceiver` of @statelyai/inspect) reads the stream; and
 * without `--inspect` there is no stream, no viewer page, no `inspector` event, no observer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import { activeTransportOf } from '../src/machines/engine-session-machine.js';
import type { InspectionActorEvent, InspectionEvent } from '../src/protocol/inspection-events.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import { connectViewer, peerActorEvent, peerSnapshotEvent, upgradeStatus } from './helpers/inspection-stream.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function serverWith(overrides: Parameters<typeof startTestServer>[0]): Promise<RunningParleyServer> {
  const server = await startTestServer(overrides);
  cleanups.push(() => server.close());
  return server;
}

async function client(url: string, options: Parameters<typeof connectClient>[1]): Promise<TestClient> {
  const connected = await connectClient(url, options);
  cleanups.push(() => connected.close());
  return connected;
}

const isActor = (event: InspectionEvent): event is InspectionActorEvent => event.type === '@xstate.actor';

describe('a viewer connecting late', () => {
  it('first gets every live room, session and peer actor with its current snapshot, then live changes', async () => {
    const server = await serverWith({ inspect: {} });
    // Two rooms: a call (two peers, one publishing its machine) and one peer waiting with a secret.
    const a = await client(server.url, { room: 'call' });
    const b = await client(server.url, { room: 'call', mode: 'polling' });
    const c = await client(server.url, { room: 'call' });
    expect(c.received.some((r) => r.event === 'connect_error')).toBe(true);
    const d = await client(server.url, { room: 'quiet', secret: 'a secret of room quiet', mode: 'upgrade' });
    await a.next('inspector');
    a.socket.emit(
      'inspect',
      // The browser's own ids; the second event moves its machine on.
      [
        peerActorEvent('x:0', { value: 'joining', context: {} }),
        peerSnapshotEvent('x:0', { type: 'signal.role' }, { value: { session: 'waiting' }, context: {} }),
        peerActorEvent(
          'x:1',
          { value: 'connected', context: {} },
          { name: 'signalingLink', parley: { kind: 'signaling' } },
        ),
      ] as never,
    );
    // The room full of c is the same; c's session has closed or is closing: wait until the server
    // has forgotten it, so the picture below is stable.
    c.close();
    await waitUntil(() => server.engine.sessionCount === 3, 'three sessions');
    const early = await connectViewer(server.inspector!.eventsUrl);
    cleanups.push(() => early.close());
    await early.waitFor(
      (events) => events.some((e) => e.sessionId === `peer:${a.socket.id}:x:1`),
      "the peer's published actors",
    );
    early.close();

    const late = await connectViewer(server.inspector!.eventsUrl);
    cleanups.push(() => late.close());
    const actorCount = 2 + 3 + 2; // rooms, sessions, peer actors
    await late.waitFor((events) => events.length >= actorCount, `${actorCount} actors`);
    const picture = late.events.slice(0, actorCount);
    expect(picture.every(isActor)).toBe(true);
    const actors = picture.filter(isActor);

    const rooms = actors.filter((e) => e.parley?.kind === 'room');
    expect(rooms.map((e) => e.name).sort()).toEqual(['room:call', expect.stringMatching(/^room:quiet~[\w-]{6}$/)]);
    const call = rooms.find((e) => e.sessionId === 'room:call')!;
    expect(call.snapshot).toEqual({
      status: 'active',
      value: 'ready',
      context: { room: 'call', peers: server.signaling.rooms.view('call')!.peers },
    });
    expect(JSON.parse(call.definition!)).toMatchObject({ id: 'room', initial: 'empty' });
    const quiet = rooms.find((e) => e.sessionId !== 'room:call')!;
    expect(quiet.snapshot).toMatchObject({
      status: 'active',
      value: 'waiting',
      context: { peers: [{ id: d.socket.id }] },
    });
    expect(quiet.parley).toEqual({ kind: 'room', room: quiet.sessionId.slice('room:'.length) });

    const sessions = actors.filter((e) => e.parley?.kind === 'session');
    const sids = [a, b, d].map((x) => x.socket.io.engine.id);
    expect(sessions.map((e) => e.sessionId).sort()).toEqual(sids.map((sid) => `session:${sid}`).sort());
    for (const session of sessions) {
      expect(session.name).toBe('engineSession');
      expect(session.snapshot.status).toBe('active');
      expect(JSON.parse(session.definition!)).toMatchObject({ id: 'engineSession', initial: 'handshaking' });
    }
    // b polls, the others are on WebSocket (d upgraded): the snapshots say so.
    const transportOf = (client: TestClient) =>
      activeTransportOf(sessions.find((e) => e.sessionId === `session:${client.socket.io.engine.id}`)!.snapshot.value);
    expect([transportOf(a), transportOf(b), transportOf(d)]).toEqual(['websocket', 'polling', 'websocket']);

    const peers = actors.filter((e) => e.parley?.kind === 'peer' || e.parley?.kind === 'signaling');
    expect(peers).toEqual([
      expect.objectContaining({
        sessionId: `peer:${a.socket.id}:x:0`,
        rootId: `peer:${a.socket.id}:x:0`,
        name: 'peer',
        parley: { kind: 'peer', room: 'call' },
        // The latest snapshot, not the one it registered with.
        snapshot: { status: 'active', value: { session: 'waiting' }, context: {} },
      }),
      expect.objectContaining({
        sessionId: `peer:${a.socket.id}:x:1`,
        name: 'signalingLink',
        parley: { kind: 'signaling', room: 'call' },
      }),
    ]);

    // Then live changes: b leaves, and the viewer sees the room go back to waiting.
    b.close();
    await late.waitFor(
      (events) =>
        events.some(
          (e) =>
            e.sessionId === 'room:call' &&
            e.type === '@xstate.snapshot' &&
            e.snapshot.value === 'waiting' &&
            e.event.type === 'room.leave',
        ),
      'room "call" back to waiting',
    );
  });

  it("ends actors in the stream: a closed session is done, a disposed room and a departed peer's actors are stopped", async () => {
    const server = await serverWith({ inspect: {} });
    const viewer = await connectViewer(server.inspector!.eventsUrl);
    cleanups.push(() => viewer.close());
    const a = await client(server.url, { room: 'brief' });
    await a.next('inspector');
    a.socket.emit('inspect', [peerActorEvent('m', { value: 'waiting', context: { n: 1 } })] as never);
    const sid = a.socket.io.engine.id;
    const peerId = a.socket.id!;
    await viewer.waitFor((events) => events.some((e) => e.sessionId === `peer:${peerId}:m`), 'the peer actor');
    a.close();
    const ended = (id: string) => (events: readonly InspectionEvent[]) =>
      events.some((e) => e.sessionId === id && e.type === '@xstate.snapshot' && e.snapshot.status !== 'active');
    await viewer.waitFor(
      (events) => [`session:${sid}`, 'room:brief', `peer:${peerId}:m`].every((id) => ended(id)(events)),
      'the end of all three',
    );
    const last = (id: string) => viewer.of(id).at(-1)!;
    expect(last(`session:${sid}`)).toMatchObject({ snapshot: { status: 'done', value: 'closed' } });
    expect(last('room:brief')).toMatchObject({
      event: { type: 'xstate.stop' },
      snapshot: { status: 'stopped', value: 'empty', context: { room: 'brief', peers: [] } },
    });
    expect(last(`peer:${peerId}:m`)).toMatchObject({
      event: { type: 'xstate.stop' },
      snapshot: { status: 'stopped', value: 'waiting', context: { n: 1 } },
    });
  });
});

describe('compatibility with @statelyai/inspect', () => {
  it("createWebSocketReceiver reads the stream: actors, events and snapshots in Stately's shapes", async () => {
    const server = await serverWith({ inspect: {} });
    const received: StatelyInspectionEvent[] = [];
    const receiver = createWebSocketReceiver({ server: server.inspector!.eventsUrl });
    receiver.subscribe((event) => received.push(event));
    await waitUntil(() => server.inspector!.hub.viewerCount === 1, 'the receiver to connect');
    await client(server.url, { room: 'stately' });
    await waitUntil(
      () => received.some((e) => e.type === '@xstate.snapshot' && e.sessionId === 'room:stately'),
      'a room snapshot',
    );
    const actor = received.find((e) => e.type === '@xstate.actor' && e.sessionId === 'room:stately');
    expect(actor).toMatchObject({
      type: '@xstate.actor',
      name: 'room:stately',
      sessionId: 'room:stately',
      rootId: 'room:stately',
      snapshot: { status: 'active', value: 'empty' },
      _version: '0.7.2',
    });
    if (actor?.type !== '@xstate.actor') throw new Error('no actor');
    expect(typeof actor.definition).toBe('string');
    expect(actor.createdAt).toMatch(/^\d+$/);
    expect(typeof actor.id).toBe('string');
    const event = received.find((e) => e.type === '@xstate.event' && e.sessionId === 'room:stately');
    expect(event).toMatchObject({ event: { type: 'room.join' } });
    const snapshot = received.find((e) => e.type === '@xstate.snapshot' && e.sessionId === 'room:stately');
    expect(snapshot).toMatchObject({ event: { type: 'room.join' }, snapshot: { status: 'active', value: 'waiting' } });
    expect(received.some((e) => e.type === '@xstate.actor' && e.sessionId.startsWith('session:'))).toBe(true);
  });
});

describe('without --inspect', () => {
  it('has no stream and no page (404), tells peers nothing, and installs no observer', async () => {
    const server = await serverWith({ staticDir: undefined });
    expect(server.inspector).toBeUndefined();
    expect(server.engine.options.observer).toBeUndefined();
    const base = server.url.replace(/^http/, 'ws');
    expect(await upgradeStatus(`${base}/inspector/events`)).toBe(404);
    for (const path of ['/inspector', '/inspector/', '/inspector/events', '/inspector/index.html']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
      await response.arrayBuffer();
    }
    const a = await client(server.url, { room: 'plain' });
    a.socket.emit('inspect', [peerActorEvent('m', { value: 'idle' })] as never);
    const error = await a.next('error');
    expect(error.args[0]).toMatchObject({ code: 'unknown-event' });
    expect(a.all('inspector')).toEqual([]);
    expect(a.received.map((r) => r.event)).toEqual(['connect', 'role', 'ice-servers', 'resume-token', 'error']);
  });

  it('serves the web app as before for every other path', async () => {
    const server = await serverWith({});
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });
});

function waitUntil(condition: () => boolean, describe: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${describe}`));
      setTimeout(check, 10);
    };
    check();
  });
}
