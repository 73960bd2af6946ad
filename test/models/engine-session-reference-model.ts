/**
 * A reference model of one Engine.IO v4 session as a client sees it, written from the protocol
 * (https://github.com/socketio/engine.io-protocol) and not from
 * src/machines/engine-session-machine.ts: the handshake on either transport (the open packet
 * offers `websocket` as an upgrade only to polling), the heartbeat (a ping every `pingInterval`,
 * closed for `ping timeout` when its pong is `pingTimeout` late; a pong nobody asked for counts
 * for nothing), the upgrade (`2probe` answered `3probe`, the pending GET released with a noop,
 * `5` moves the session; a probe that does not finish in `upgradeTimeout` is dropped and polling
 * carries on), the Socket.IO CONNECT deadline, and the ways a session ends (a close packet, the
 * WebSocket going away, an undecodable packet, a payload over `maxPayload`).
 *
 * Time only moves by the model's clock events, each exactly to one deadline, and the timings
 * below keep every deadline apart, so each step has one outcome.
 */
import { assign, setup, type SnapshotFrom } from 'xstate';

/** The engine's timing for model runs (ms); distinct so that no two deadlines coincide. */
export const ENGINE_MODEL_TIMING = {
  pingInterval: 1_000,
  pingTimeout: 600,
  upgradeTimeout: 700,
  connectTimeout: 500,
  maxPayload: 1_000,
} as const;

/** What a client can do, and time passing. */
export type EngineModelEvent =
  | { readonly type: 'client.openPolling' }
  | { readonly type: 'client.openWebSocket' }
  /** The Socket.IO CONNECT to the main namespace (`40`). */
  | { readonly type: 'client.connect' }
  | { readonly type: 'client.pong' }
  /** A close packet (`1`). */
  | { readonly type: 'client.close' }
  /** The client closes its WebSocket cleanly (a close frame), without a close packet. */
  | { readonly type: 'client.closeWebSocket' }
  /** The client's connection breaks: no close frame at all. */
  | { readonly type: 'client.drop' }
  /** A packet no Engine.IO packet type decodes. */
  | { readonly type: 'client.garbage' }
  /** A payload over `maxPayload`. */
  | { readonly type: 'client.oversized' }
  /** A WebSocket with the session's sid, and `2probe` on it. */
  | { readonly type: 'client.probe' }
  /** `5` on the probing WebSocket. */
  | { readonly type: 'client.upgrade' }
  | { readonly type: 'clock.ping'; readonly ms: number }
  | { readonly type: 'clock.pingTimeout'; readonly ms: number }
  | { readonly type: 'clock.upgradeTimeout'; readonly ms: number }
  | { readonly type: 'clock.connectTimeout'; readonly ms: number };

/** What the client and the engine's close report must show, as running counts. */
export interface EngineExpectation {
  /** The upgrades the open packet offered (undefined before the handshake). */
  readonly upgrades: readonly string[] | undefined;
  readonly connectAcked: boolean;
  /** Pings the client read over polling, and over WebSocket. */
  readonly pollingPings: number;
  readonly websocketPings: number;
  /** Noops the client read over polling (released GETs). */
  readonly noops: number;
  /** `3probe` answers, and probe WebSockets the server closed. */
  readonly probesAnswered: number;
  readonly probesDropped: number;
  /** Why the engine closed the session, once it has. */
  readonly closeReason: string | undefined;
  /** The transport the engine says carries the session (`upgrading` during a probe). */
  readonly serverTransport: 'none' | 'polling' | 'upgrading' | 'websocket';
}

interface EngineModelContext extends Omit<EngineExpectation, 'serverTransport'> {
  /** The transport carrying the session, or the upgrade in progress. */
  readonly transport: 'none' | 'polling' | 'probing' | 'probed' | 'websocket';
  readonly heartbeat: 'resting' | 'awaitingPong';
  /** Time since the next ping was scheduled (an upgrade timeout spends some of it). */
  readonly elapsed: number;
}

/** The reference model. */
export const engineSessionReferenceModel = setup({
  types: { context: {} as EngineModelContext, events: {} as EngineModelEvent },
  actions: {
    /** The engine closes the session, for `reason`. */
    close: assign((_, params: { reason: string }) => ({ closeReason: params.reason })),
    openOnPolling: assign({ transport: 'polling' as const, upgrades: ['websocket'] }),
    openOnWebSocket: assign({ transport: 'websocket' as const, upgrades: [] as string[] }),
    connectAcked: assign({ connectAcked: true }),
    /** A ping on the carrying transport; the pong is due within `pingTimeout`. */
    ping: assign(({ context }) => ({
      heartbeat: 'awaitingPong' as const,
      elapsed: 0,
      ...(context.transport === 'websocket'
        ? { websocketPings: context.websocketPings + 1 }
        : { pollingPings: context.pollingPings + 1 }),
    })),
    /** Only a pong to a ping the client has read counts; it schedules the next ping. */
    pong: assign(({ context }) => (context.heartbeat === 'awaitingPong' ? { heartbeat: 'resting' as const } : {})),
    startProbe: assign({ transport: 'probing' as const }),
    answerProbe: assign(({ context }) => ({
      transport: 'probed' as const,
      probesAnswered: context.probesAnswered + 1,
      noops: context.noops + 1,
    })),
    upgrade: assign({ transport: 'websocket' as const }),
    dropProbe: assign(({ context }) => ({
      transport: 'polling' as const,
      probesDropped: context.probesDropped + 1,
      elapsed: context.elapsed + ENGINE_MODEL_TIMING.upgradeTimeout,
    })),
  },
}).createMachine({
  id: 'engineModel',
  context: {
    transport: 'none',
    heartbeat: 'resting',
    elapsed: 0,
    upgrades: undefined,
    connectAcked: false,
    pollingPings: 0,
    websocketPings: 0,
    noops: 0,
    probesAnswered: 0,
    probesDropped: 0,
    closeReason: undefined,
  },
  initial: 'start',
  states: {
    start: {
      on: {
        'client.openPolling': { target: 'open', actions: 'openOnPolling' },
        'client.openWebSocket': { target: 'open', actions: 'openOnWebSocket' },
      },
    },
    open: {
      on: {
        'client.connect': { actions: 'connectAcked' },
        'client.pong': { actions: 'pong' },
        'client.probe': { actions: ['startProbe', 'answerProbe'] },
        'client.upgrade': { actions: 'upgrade' },
        'clock.ping': { actions: 'ping' },
        'clock.upgradeTimeout': { actions: 'dropProbe' },
        'clock.pingTimeout': { target: 'closed', actions: { type: 'close', params: { reason: 'ping timeout' } } },
        'clock.connectTimeout': { target: 'closed', actions: { type: 'close', params: { reason: 'connect timeout' } } },
        'client.close': { target: 'closed', actions: { type: 'close', params: { reason: 'transport close' } } },
        'client.closeWebSocket': {
          target: 'closed',
          actions: { type: 'close', params: { reason: 'transport close' } },
        },
        'client.drop': { target: 'closed', actions: { type: 'close', params: { reason: 'transport error' } } },
        'client.garbage': { target: 'closed', actions: { type: 'close', params: { reason: 'parse error' } } },
        'client.oversized': { target: 'closed', actions: { type: 'close', params: { reason: 'payload too large' } } },
      },
    },
    closed: { type: 'final' },
  },
});

/** A snapshot of the engine model. */
export type EngineModelSnapshot = SnapshotFrom<typeof engineSessionReferenceModel>;

/** What the client and the engine must show in `snapshot`. */
export function engineExpectation(snapshot: EngineModelSnapshot): EngineExpectation {
  const { transport, heartbeat: _h, elapsed: _e, ...expectation } = snapshot.context;
  const serverTransport =
    expectation.closeReason !== undefined || transport === 'none'
      ? 'none'
      : transport === 'probing' || transport === 'probed'
        ? 'upgrading'
        : transport;
  return { ...expectation, serverTransport };
}

/**
 * The events possible in `snapshot`. An upgrade starts only on a connected, resting session
 * whose next ping is a whole interval away, so that its timeout comes before any ping; the
 * heartbeat's clock events wait while an upgrade is under way.
 */
export function possibleEngineModelEvents(snapshot: EngineModelSnapshot): EngineModelEvent[] {
  const { context } = snapshot;
  if (snapshot.matches('start')) return [{ type: 'client.openPolling' }, { type: 'client.openWebSocket' }];
  if (!snapshot.matches('open')) return [];
  const events: EngineModelEvent[] = [
    { type: 'client.pong' },
    { type: 'client.close' },
    { type: 'client.garbage' },
    { type: 'client.oversized' },
  ];
  const upgrading = context.transport === 'probing' || context.transport === 'probed';
  const resting = context.heartbeat === 'resting';
  if (context.transport === 'websocket') events.push({ type: 'client.closeWebSocket' }, { type: 'client.drop' });
  if (!context.connectAcked) {
    events.push({ type: 'client.connect' });
    if (resting && context.elapsed === 0)
      events.push({ type: 'clock.connectTimeout', ms: ENGINE_MODEL_TIMING.connectTimeout });
    return events;
  }
  if (context.transport === 'polling' && resting && context.elapsed === 0) events.push({ type: 'client.probe' });
  if (context.transport === 'probed') events.push({ type: 'client.upgrade' });
  if (upgrading) events.push({ type: 'clock.upgradeTimeout', ms: ENGINE_MODEL_TIMING.upgradeTimeout });
  if (!upgrading && resting)
    events.push({ type: 'clock.ping', ms: ENGINE_MODEL_TIMING.pingInterval - context.elapsed });
  if (!upgrading && !resting) events.push({ type: 'clock.pingTimeout', ms: ENGINE_MODEL_TIMING.pingTimeout });
  return events;
}
