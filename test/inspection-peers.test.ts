/**
 * Browsers' machines in the inspection stream: `inspect` batches are taken from admitted peers
 * only, bounded (size, count, shape, rate), rewritten into the server's id space and tagged with
 * their room; a socket refused as room-full or one that left gets nothing in; and no secret (the
 * TURN secret, the TURN credentials issued, a room secret) ever reaches a viewer, wherever a
 * browser puts it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INSPECT_LIMITS } from '../src/protocol/inspection-events.js';
import { SignalingNamespace } from '../src/signaling/signaling-namespace.js';
import { InspectionHub } from '../src/signaling/inspector/inspection-hub.js';
import type { ServerSocket } from '../src/signaling/engine/namespace-handler.js';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { silentLog } from '../src/signaling/engine/engine-log.js';
import { connectClient, startTestServer, type TestClient } from './helpers/parley.js';
import { openJoinedWebSocket } from './helpers/raw-clients.js';
import { connectViewer, peerActorEvent, peerSnapshotEvent, type StreamViewer } from './helpers/inspection-stream.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

async function setUp(
  overrides: Parameters<typeof startTestServer>[0] = {},
): Promise<{ server: RunningParleyServer; viewer: StreamViewer }> {
  const server = await startTestServer({ inspect: {}, ...overrides });
  cleanups.push(() => server.close());
  const viewer = await connectViewer(server.inspector!.eventsUrl);
  cleanups.push(() => viewer.close());
  return { server, viewer };
}

async function peer(url: string, options: Parameters<typeof connectClient>[1]): Promise<TestClient> {
  const client = await connectClient(url, options);
  cleanups.push(() => client.close());
  return client;
}

/** Publishes a batch and returns once the viewer has its marker actor (so earlier ones were handled). */
async function publishAndSettle(publisher: TestClient, viewer: StreamViewer, batch: unknown[]): Promise<void> {
  const marker = `settle-${Math.random().toString(36).slice(2)}`;
  publisher.socket.emit('inspect', [...batch, peerActorEvent(marker, { value: 'x' })] as never);
  await viewer.waitFor((events) => events.some((e) => e.sessionId.endsWith(`:${marker}`)), marker);
}

describe('peers publishing their machines', () => {
  it('are told to publish right after role, and their events come out rewritten and tagged with their room', async () => {
    const { server, viewer } = await setUp();
    const a = await peer(server.url, { room: 'tagged' });
    await a.next('resume-token');
    expect(a.received.map((r) => r.event)).toEqual(['connect', 'role', 'inspector', 'ice-servers', 'resume-token']);
    expect(a.all('inspector')[0].args).toEqual([{ enabled: true }]);

    a.socket.emit('inspect', [
      peerActorEvent('x:0', { value: 'joining', context: {} }),
      {
        type: '@xstate.actor',
        name: 'setLocalDescription',
        sessionId: 'x:7',
        parentId: 'x:0',
        rootId: 'x:0',
        definition: undefined,
        snapshot: { status: 'active' },
        createdAt: '12',
        id: 'abc',
        _version: '0.7.2',
        unknownField: 'dropped',
      },
      {
        type: '@xstate.event',
        sessionId: 'x:0',
        sourceId: 'x:7',
        rootId: 'x:0',
        event: { type: 'signal.role', role: 'polite' },
        createdAt: '13',
        id: null,
        _version: '0.7.2',
      },
      peerSnapshotEvent('x:0', { type: 'signal.role' }, { value: 'connected', context: {} }),
      peerActorEvent(
        's:0',
        { value: 'open' },
        { parley: { kind: 'signaling', room: 'forged' }, name: 'signalingLink' },
      ),
    ] as never);
    const id = a.socket.id!;
    await viewer.waitFor((events) => events.some((e) => e.sessionId === `peer:${id}:s:0`), 'the batch');
    const published = viewer.events.filter((e) => e.sessionId.startsWith(`peer:${id}:`));
    expect(published).toEqual([
      expect.objectContaining({
        type: '@xstate.actor',
        sessionId: `peer:${id}:x:0`,
        rootId: `peer:${id}:x:0`,
        name: 'peer',
        parley: { kind: 'peer', room: 'tagged' },
      }),
      expect.objectContaining({
        type: '@xstate.actor',
        sessionId: `peer:${id}:x:7`,
        parentId: `peer:${id}:x:0`,
        rootId: `peer:${id}:x:0`,
        createdAt: '12',
        parley: { kind: 'peer', room: 'tagged' },
      }),
      expect.objectContaining({
        type: '@xstate.event',
        sessionId: `peer:${id}:x:0`,
        sourceId: `peer:${id}:x:7`,
        event: { type: 'signal.role', role: 'polite' },
      }),
      expect.objectContaining({
        type: '@xstate.snapshot',
        sessionId: `peer:${id}:x:0`,
        // The peer machine's own state, as XState's inspection gave it.
        snapshot: { status: 'active', value: 'connected', context: {} },
      }),
      // A browser may say 'signaling'; the room is the server's to say.
      expect.objectContaining({ sessionId: `peer:${id}:s:0`, parley: { kind: 'signaling', room: 'tagged' } }),
    ]);
    expect(published.every((e) => !('unknownField' in e))).toBe(true);
    // Ids are the server's (unique across the stream), not the browser's.
    expect(new Set(viewer.events.map((e) => e.id)).size).toBe(viewer.events.length);
  });

  it('are refused from a socket turned away as room-full, and from one that left', async () => {
    const { server, viewer } = await setUp();
    const a = await peer(server.url, { room: 'full' });
    const b = await peer(server.url, { room: 'full' });
    const inspect = (marker: string) => `42${JSON.stringify(['inspect', [peerActorEvent(marker, { value: 'x' })]])}`;

    // Raw sessions, which stay open after their socket is refused or gone (socket.io-client would close them).
    const refused = await openJoinedWebSocket(server.url, { room: 'full' });
    cleanups.push(() => refused.socket.ws.close());
    expect(refused.socket.frames.find((f) => String(f).startsWith('44'))).toMatch(/room-full/);
    refused.socket.ws.send(inspect('from-refused'));

    const leaver = await openJoinedWebSocket(server.url, { room: 'left' });
    cleanups.push(() => leaver.socket.ws.close());
    await leaver.socket.waitForFrame((f) => String(f).startsWith('42["inspector"'));
    // While a peer, the same raw frame is taken: the path is real.
    leaver.socket.ws.send(inspect('from-member'));
    await viewer.waitFor((events) => events.some((e) => e.sessionId.endsWith(':from-member')), 'from-member');
    leaver.socket.ws.send('42["leave"]');
    await leaver.socket.waitForFrame((f) => f === '41');
    leaver.socket.ws.send(inspect('from-leaver'));

    // uWS answers a ping after every frame sent before it was handled, and the sessions are still open.
    expect(await refused.socket.roundTrip()).toBe(true);
    expect(await leaver.socket.roundTrip()).toBe(true);
    // Published after both: once the viewer has it, the server has handled theirs.
    await publishAndSettle(b, viewer, []);
    expect(viewer.text()).not.toContain('from-refused');
    expect(viewer.text()).not.toContain('from-leaver');
    expect(server.engine.sessionCount).toBe(4);
    expect(a.all('error')).toEqual([]);
  });

  it('are refused with inspect-refused when the socket is no member of its room in the registry', () => {
    const hub = new InspectionHub({ secrets: [], log: silentLog });
    const namespace = new SignalingNamespace({
      turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3600, stunUrls: [] },
      inspector: hub,
    });
    const emitted: unknown[][] = [];
    const socket = {
      id: 'stale',
      // Membership it once had; the registry no longer has it in the room.
      data: { room: 'r', key: 'r', secrets: [] },
      emit: (...args: unknown[]) => emitted.push(args),
    } as unknown as ServerSocket;
    namespace.event(socket, 'inspect', [[peerActorEvent('m', { value: 'x' })]], undefined, undefined);
    expect(emitted).toEqual([['error', expect.objectContaining({ code: 'inspect-refused' })]]);
    expect(hub.stats).toMatchObject({ peerBatches: 0 });
  });

  it('are bounded: size, count, shape and rate, each refused with its code and nothing forwarded', async () => {
    const { server, viewer } = await setUp();
    const a = await peer(server.url, { room: 'bounded' });
    await a.next('inspector');
    const errorsBefore = () => a.all('error').length;

    const huge = peerActorEvent('huge', { value: 'x', context: { blob: 'y'.repeat(INSPECT_LIMITS.maxBatchChars) } });
    a.socket.emit('inspect', [huge] as never);
    expect((await a.next('error')).args[0]).toMatchObject({ code: 'inspect-refused' });

    const many = Array.from({ length: INSPECT_LIMITS.maxBatchEvents + 1 }, (_, i) => peerActorEvent(`n${i}`, {}));
    let seen = errorsBefore();
    a.socket.emit('inspect', many as never);
    await a.waitForCount('error', seen + 1);
    expect(a.all('error')[seen].args[0]).toMatchObject({
      code: 'bad-payload',
      message: expect.stringMatching(/101 events/),
    });

    for (const bad of [
      'not an array',
      [{ type: '@xstate.other', sessionId: 'x' }],
      [{ type: '@xstate.actor', sessionId: 42, snapshot: {} }],
      [{ type: '@xstate.snapshot', sessionId: 'x', snapshot: {}, event: 'not an object' }],
      [{ type: '@xstate.actor', sessionId: 'x'.repeat(INSPECT_LIMITS.maxIdChars + 1), snapshot: {} }],
    ]) {
      seen = errorsBefore();
      a.socket.emit('inspect', bad as never);
      await a.waitForCount('error', seen + 1);
      expect(a.all('error')[seen].args[0], JSON.stringify(bad).slice(0, 80)).toMatchObject({ code: 'bad-payload' });
    }

    // Beyond the burst, batches are dropped with rate-limited (the engine's own rate is far above).
    seen = errorsBefore();
    for (let i = 0; i < INSPECT_LIMITS.batchBurst + 5; i++)
      a.socket.emit('inspect', [peerActorEvent(`burst${i}`, {})] as never);
    await a.waitForCount('error', seen + 1);
    expect(a.all('error')[seen].args[0]).toMatchObject({ code: 'rate-limited' });

    const text = viewer.text();
    expect(text).not.toContain(`:huge"`);
    expect(text).not.toContain(`:n0"`);
    expect(server.inspector!.hub.stats.peerBatchesRefused).toBeGreaterThanOrEqual(8);
  });
});

describe('secrets', () => {
  it('never reach a viewer: not the TURN secret, not the TURN credentials, not a room secret', async () => {
    const turnSecret = 'turn-static-auth-secret-9f8e7d6c5b4a';
    const roomSecret = 'room-secret-only-the-two-peers-know';
    const { server, viewer } = await setUp({
      turn: {
        turnUrls: ['turn:127.0.0.1:3478?transport=udp'],
        turnSecret,
        turnTtl: 3600,
        stunUrls: ['stun:127.0.0.1:3478'],
      },
      metrics: { enabled: true, token: 'metrics-token-1234' },
    });
    const a = await peer(server.url, { room: 'secretive', secret: roomSecret });
    const b = await peer(server.url, { room: 'secretive', secret: roomSecret });
    const { iceServers } = (await a.next('ice-servers')).args[0] as {
      iceServers: { urls: string; username?: string; credential?: string }[];
    };
    const turn = iceServers.find((server) => server.credential !== undefined)!;
    expect(turn.username).toBeDefined();
    await a.next('inspector');

    // A careless browser puts everything it knows into its machine's context and events.
    const careless = {
      iceServers,
      secret: roomSecret,
      roomLink: `https://parley.example/?room=secretive#${roomSecret}`,
      lastError: `TURN refused ${turn.username}/${turn.credential} for ${turnSecret}`,
      nested: { deeper: [{ password: 'hunter2-hunter2', note: `credential was ${turn.credential}` }] },
      metrics: 'Bearer metrics-token-1234',
    };
    await publishAndSettle(a, viewer, [
      peerActorEvent(
        'x:0',
        { value: 'session', context: careless },
        { definition: JSON.stringify({ id: 'peer', context: careless }) },
      ),
      {
        type: '@xstate.event',
        sessionId: 'x:0',
        rootId: 'x:0',
        sourceId: undefined,
        event: { type: 'signal.iceServers', iceServers, auth: { secret: roomSecret, token: 'any' } },
        createdAt: '1',
        id: null,
        _version: '0.7.2',
      },
      peerSnapshotEvent('x:0', { type: 'signal.iceServers', iceServers }, { value: 'session', context: careless }),
      peerSnapshotEvent('x:0', { type: 'pc.localCandidate', sdp: `v=0${'a=x\r\n'.repeat(200)}` }, { value: 'session' }),
    ]);
    // A late viewer's picture too.
    const late = await connectViewer(server.inspector!.eventsUrl);
    cleanups.push(() => late.close());
    await late.waitFor((events) => events.some((e) => e.sessionId === `peer:${a.socket.id}:x:0`), 'the picture');
    b.close();
    await viewer.waitFor(
      (events) =>
        events.some(
          (e) =>
            e.sessionId === `peer:${a.socket.id}:x:0` &&
            e.type === '@xstate.snapshot' &&
            e.event.type === 'pc.localCandidate',
        ),
      'the last snapshot',
    );

    for (const text of [viewer.text(), late.text()]) {
      for (const secret of [
        turnSecret,
        roomSecret,
        turn.credential!,
        turn.username!,
        'hunter2-hunter2',
        'metrics-token-1234',
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(text).toContain('[redacted]');
    }
    // Long strings are cut, saying how long they were.
    const cut = viewer.events.find((e) => e.type === '@xstate.snapshot' && e.event.type === 'pc.localCandidate')!;
    expect(JSON.stringify(cut)).toMatch(/…\(\d+ chars\)/);
    expect(JSON.stringify(cut).length).toBeLessThan(1500);
    // The public room name is shown, with a short hash of the secret's hash only.
    expect(viewer.events.some((e) => /^room:secretive~[\w-]{6}$/.test(e.sessionId))).toBe(true);
  });
});
