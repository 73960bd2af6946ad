import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActorStore } from '../src/client/inspector/actor-store.js';
import { listRows, visibleRange } from '../src/client/inspector/actor-list-view.js';
import {
  connectInspectorStream,
  parseInspectionEvent,
  reconnectDelay,
  streamUrl,
  type StreamStatus,
} from '../src/client/inspector/inspector-stream.js';
import { createRenderScheduler } from '../src/client/inspector/render-scheduler.js';
import type { InspectionEvent, ParleyTag } from '../src/protocol/inspection-events.js';

let clock = 1_700_000_000_000;
const base = (sessionId: string, parley: ParleyTag | undefined) => ({
  sessionId,
  rootId: sessionId,
  createdAt: String(clock++),
  id: null,
  _version: '0.7.2',
  ...(parley === undefined ? {} : { parley }),
});
const actor = (sessionId: string, parley: ParleyTag | undefined, value: unknown, name = 'm'): InspectionEvent => ({
  ...base(sessionId, parley),
  type: '@xstate.actor',
  name,
  definition: undefined,
  parentId: undefined,
  snapshot: { status: 'active', value, context: {} },
});
const event = (sessionId: string, parley: ParleyTag | undefined, type: string, fields = {}): InspectionEvent => ({
  ...base(sessionId, parley),
  type: '@xstate.event',
  event: { type, ...fields },
  sourceId: undefined,
});
const snapshot = (
  sessionId: string,
  parley: ParleyTag | undefined,
  type: string,
  value: unknown,
  status: 'active' | 'stopped' = 'active',
): InspectionEvent => ({
  ...base(sessionId, parley),
  type: '@xstate.snapshot',
  event: { type },
  snapshot: { status, value, context: {} },
});

const ROOM = (room: string): ParleyTag => ({ kind: 'room', room });
const PEER = (room: string): ParleyTag => ({ kind: 'peer', room });

describe('the viewer’s actor store', () => {
  it('groups actors by room (room first, then peers), then sessions, then others', () => {
    const store = new ActorStore();
    store.apply(actor('session:b', { kind: 'session' }, 'handshaking'));
    store.apply(actor('peer:s2:peer', PEER('kitchen'), { session: 'waiting' }, 'peer'));
    store.apply(actor('room:kitchen', ROOM('kitchen'), 'waiting', 'room'));
    store.apply(actor('peer:s2:signaling', { kind: 'signaling', room: 'kitchen' }, 'connected'));
    store.apply(actor('room:attic', ROOM('attic'), 'ready', 'room'));
    store.apply(actor('mystery', undefined, 'x'));
    const groups = store.groups();
    expect(groups.map((g) => [g.key, g.actors.map((a) => a.id)])).toEqual([
      ['room:attic', ['room:attic']],
      ['room:kitchen', ['room:kitchen', 'peer:s2:peer', 'peer:s2:signaling']],
      ['sessions', ['session:b']],
      ['other', ['mystery']],
    ]);
    expect(store.get('peer:s2:peer')).toMatchObject({ kind: 'peer', room: 'kitchen', stateText: 'session.waiting' });
    expect(listRows(groups).map((row) => (row.kind === 'group' ? `# ${row.group.label}` : row.actor.id))).toEqual([
      '# attic',
      'room:attic',
      '# kitchen',
      'room:kitchen',
      'peer:s2:peer',
      'peer:s2:signaling',
      '# sessions',
      'session:b',
      '# other',
      'mystery',
    ]);
  });

  it('logs each event with the state it led to, keeps the previous value, and drops ended actors', () => {
    const store = new ActorStore(3);
    store.apply(actor('room:k', ROOM('k'), 'empty', 'room'));
    store.apply(event('room:k', ROOM('k'), 'room.join', { peerId: 'a' }));
    store.apply(snapshot('room:k', ROOM('k'), 'room.join', 'waiting'));
    const room = store.get('room:k')!;
    expect(room.log).toEqual([
      expect.objectContaining({ type: 'room.join', payload: { peerId: 'a' }, state: 'waiting' }),
    ]);
    expect(room).toMatchObject({ previousValue: 'empty', lastEvent: { type: 'room.join' }, stateText: 'waiting' });
    // A snapshot without a preceding event gets a line of its own; the log keeps the newest 3.
    for (const value of ['ready', 'waiting', 'ready']) store.apply(snapshot('room:k', ROOM('k'), 'room.join', value));
    expect(room.log.map((entry) => entry.state)).toEqual(['ready', 'waiting', 'ready']);

    const structure = store.structureVersion;
    store.apply(snapshot('room:k', ROOM('k'), 'xstate.stop', 'ready', 'stopped'));
    expect(store.get('room:k')).toBeUndefined();
    expect(room.ended).toBe(true);
    expect(store.structureVersion).toBeGreaterThan(structure);
    // The end of an actor never seen adds nothing.
    store.apply(snapshot('room:gone', ROOM('gone'), 'xstate.stop', 'ready', 'stopped'));
    expect(store.size).toBe(0);
  });

  it('filters by room, id and state, a matching room showing all its actors', () => {
    const store = new ActorStore();
    store.apply(actor('room:kitchen', ROOM('kitchen'), 'ready', 'room'));
    store.apply(actor('peer:abc:peer', PEER('kitchen'), { session: 'waiting' }, 'peer'));
    store.apply(actor('room:attic', ROOM('attic'), 'waiting', 'room'));
    const ids = (filter: string) => store.groups(filter).flatMap((g) => g.actors.map((a) => a.id));
    expect(ids('KITCH')).toEqual(['room:kitchen', 'peer:abc:peer']);
    expect(ids('abc')).toEqual(['peer:abc:peer']);
    expect(ids('waiting')).toEqual(['room:attic', 'peer:abc:peer']);
    expect(ids('nothing like it')).toEqual([]);
  });

  it('forgets everything on reset; an actor announced again under its id comes back with its log', () => {
    const store = new ActorStore();
    store.apply(actor('room:k', ROOM('k'), 'empty', 'room'));
    store.apply(snapshot('room:k', ROOM('k'), 'room.join', 'waiting'));
    store.apply(actor('session:s1', { kind: 'session' }, 'handshaking'));
    const room = store.get('room:k')!;
    const session = store.get('session:s1')!;
    store.reset();
    expect(store.size).toBe(0);
    expect([room.ended, session.ended]).toEqual([true, true]);

    store.apply(actor('room:k', ROOM('k'), 'waiting', 'room'));
    expect(store.get('room:k')).toBe(room);
    expect(room).toMatchObject({ ended: false, stateText: 'waiting' });
    expect(room.log.map((entry) => entry.type)).toEqual(['room.join']);
    expect(session.ended).toBe(true);
    expect(store.size).toBe(1);
  });

  it('groups a thousand rooms quickly, and a list of them renders only what is in view', () => {
    const store = new ActorStore();
    for (let i = 0; i < 1_000; i++) {
      const room = `room-${String(i).padStart(4, '0')}`;
      store.apply(actor(`room:${room}`, ROOM(room), 'ready', 'room'));
      for (const side of ['a', 'b']) {
        store.apply(actor(`peer:${room}${side}:peer`, PEER(room), { session: 'waiting' }, 'peer'));
        store.apply(actor(`session:${room}${side}`, { kind: 'session' }, { open: {} }));
      }
    }
    const started = performance.now();
    const rows = listRows(store.groups());
    expect(performance.now() - started).toBeLessThan(500);
    expect(rows).toHaveLength(1_000 * 4 + 1 + 2_000);
    expect(visibleRange(0, 600, 28, rows.length)).toEqual({ first: 0, end: 30 });
    expect(visibleRange(28 * 5_000, 600, 28, rows.length)).toEqual({ first: 4_992, end: 5_030 });
    // Scrolled to the bottom: the last screenful and a few above.
    expect(visibleRange(28 * rows.length - 600, 600, 28, rows.length)).toEqual({ first: 5_971, end: 6_001 });
  });
});

describe('render scheduling', () => {
  it('renders once per frame and at most every 100 ms, however often asked', () => {
    let now = 0;
    const frames: (() => void)[] = [];
    const timeouts: { at: number; callback: () => void }[] = [];
    let renders = 0;
    const scheduler = createRenderScheduler(() => renders++, {
      timers: {
        now: () => now,
        requestFrame: (callback) => frames.push(callback),
        setTimeout: (callback, ms) => timeouts.push({ at: now + ms, callback }),
      },
    });
    const runFrames = () => frames.splice(0).forEach((f) => f());
    const advance = (ms: number) => {
      now += ms;
      for (const t of timeouts.filter((t) => t.at <= now)) {
        timeouts.splice(timeouts.indexOf(t), 1);
        t.callback();
      }
      runFrames();
    };
    for (let i = 0; i < 1_000; i++) scheduler.request();
    runFrames();
    expect(renders).toBe(1);
    for (let ms = 0; ms < 1_000; ms += 10) {
      scheduler.request();
      advance(10);
    }
    // 1 s of continuous requests: about ten renders.
    expect(renders).toBeGreaterThanOrEqual(10);
    expect(renders).toBeLessThanOrEqual(12);
  });

  it('renders without an animation frame when the browser holds frames back', () => {
    let now = 0;
    const timeouts: { at: number; callback: () => void }[] = [];
    let renders = 0;
    const scheduler = createRenderScheduler(() => renders++, {
      timers: {
        now: () => now,
        requestFrame: () => {}, // never
        setTimeout: (callback, ms) => timeouts.push({ at: now + ms, callback }),
      },
    });
    scheduler.request();
    now = 249;
    timeouts.filter((t) => t.at <= now).forEach((t) => t.callback());
    expect(renders).toBe(0);
    now = 250;
    timeouts.filter((t) => t.at === now).forEach((t) => t.callback());
    expect(renders).toBe(1);
  });
});

describe('the stream connection', () => {
  afterEach(() => vi.useRealTimers());

  it('derives its URL from the page: same host, ws or wss, the page’s token passed on', () => {
    expect(streamUrl({ protocol: 'http:', host: '127.0.0.1:9999', search: '' })).toBe(
      'ws://127.0.0.1:9999/inspector/events',
    );
    expect(streamUrl({ protocol: 'https:', host: 'p.example.com', search: '?token=a%2Bb&x=1' })).toBe(
      'wss://p.example.com/inspector/events?token=a%2Bb',
    );
  });

  it('backs off exponentially with jitter, up to a ceiling', () => {
    const half = { initialMs: 500, maxMs: 10_000, random: () => 0 };
    const full = { ...half, random: () => 0.999999 };
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => reconnectDelay(n, full))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
    expect(reconnectDelay(1, half)).toBe(250);
  });

  it('accepts the three event types and nothing malformed', () => {
    expect(parseInspectionEvent(actor('room:k', ROOM('k'), 'ready'))).toBeDefined();
    expect(parseInspectionEvent(event('room:k', ROOM('k'), 'room.join'))).toBeDefined();
    expect(parseInspectionEvent({ type: '@xstate.snapshot', sessionId: 'x', event: {} })).toBeUndefined();
    expect(parseInspectionEvent({ type: '@xstate.microstep', sessionId: 'x' })).toBeUndefined();
    expect(parseInspectionEvent({ ...actor('room:k', undefined, 'x'), parley: 'room' })).toBeUndefined();
    expect(parseInspectionEvent(null)).toBeUndefined();
  });

  it('reconnects by itself after the connection closes, reporting reconnecting meanwhile', () => {
    vi.useFakeTimers();
    const sockets: FakeWebSocket[] = [];
    class FakeWebSocket {
      onopen: (() => void) | null = null;
      onclose: (() => void) | null = null;
      onmessage: ((message: { data: unknown }) => void) | null = null;
      constructor(readonly url: string) {
        sockets.push(this);
      }
      close() {
        this.onclose?.();
      }
    }
    const statuses: [StreamStatus, number][] = [];
    const events: string[] = [];
    let opens = 0;
    const stream = connectInspectorStream(
      'ws://h/inspector/events',
      {
        onOpen: () => opens++,
        onEvent: (e) => events.push(e.sessionId),
        onStatus: (status, { attempt }) => statuses.push([status, attempt]),
      },
      {
        WebSocket: FakeWebSocket as unknown as typeof WebSocket,
        backoff: { initialMs: 500, maxMs: 4_000, random: () => 0.999999 },
      },
    );
    sockets[0].onopen?.();
    sockets[0].onmessage?.({ data: JSON.stringify(actor('room:k', ROOM('k'), 'ready')) });
    sockets[0].onmessage?.({ data: 'not json' });
    sockets[0].onclose?.(); // the server went away
    expect(statuses.at(-1)).toEqual(['reconnecting', 1]);
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1].onclose?.(); // still down
    vi.advanceTimersByTime(1_000);
    expect(sockets).toHaveLength(3);
    sockets[2].onopen?.();
    expect(statuses).toEqual([
      ['connecting', 0],
      ['connected', 0],
      ['reconnecting', 1],
      ['reconnecting', 2],
      ['connected', 0],
    ]);
    expect(opens).toBe(2);
    expect(events).toEqual(['room:k']);
    stream.close();
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(3);
  });
});
