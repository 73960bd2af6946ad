/**
 * The lifecycle of one Engine.IO session: which transport carries it, the polling → WebSocket
 * upgrade, the heartbeat, and every way it can end. Pure: no timers, no sockets. The protocol
 * engine keeps only the snapshot per session and executes the returned actions through a typed
 * record (see src/signaling/engine/engine-session.ts).
 *
 * Two regions run in parallel while the session is open:
 * - `transport`: polling, upgrading (awaiting the probe, probed) or websocket;
 * - `heartbeat`: resting until a ping is due, then `pingSent` (written, maybe still queued for a
 *   GET that has not come) and `awaitingPong` once the client can have read it. A pong counts
 *   only then: a polling client that POSTs pongs without ever reading is not alive.
 *
 * Per-message traffic never goes through this machine; only lifecycle events do.
 * Protocol: https://github.com/socketio/engine.io-protocol (v4).
 */
import { setup } from 'xstate';

/** The two Engine.IO transports a session can run on. */
export type EngineTransportName = 'polling' | 'websocket';

/** How a transport went away underneath the session, as its connection reports it. */
export type TransportFailure = 'transport close' | 'transport error';

/** How a client broke the protocol or a limit; the engine closes it for that. */
export type ClientFault = 'parse error' | 'payload too large' | 'slow consumer' | 'limit exceeded' | 'rate limited';

/** Why a session ended, as the engine reports it (finer than socket.io's disconnect reasons). */
export type EngineCloseReason =
  TransportFailure | ClientFault | 'ping timeout' | 'connect timeout' | 'forced close' | 'server shutting down';

/** Lifecycle events, named by source. */
export type EngineSessionEvent =
  | { type: 'transport.open'; transport: EngineTransportName }
  | { type: 'transport.upgradeStart' }
  | { type: 'transport.upgradeProbe' }
  | { type: 'transport.upgrade' }
  | { type: 'transport.upgradeFail' }
  | { type: 'upgrade.timeout' }
  | { type: 'heartbeat.due' }
  | { type: 'transport.pingDelivered' }
  | { type: 'client.pong' }
  | { type: 'heartbeat.timeout' }
  | { type: 'connect.timeout' }
  | { type: 'transport.close'; reason: TransportFailure }
  | { type: 'client.close' }
  | { type: 'client.fault'; reason: ClientFault }
  | { type: 'server.close'; reason: 'forced close' | 'server shutting down' };

/** Parameters of the `closeSession` effect. */
export interface CloseParams {
  readonly reason: EngineCloseReason;
}

/**
 * Effects, named here and supplied by the engine, which runs the machine with pure transitions
 * and executes the returned actions itself. The stubs do nothing.
 */
function effect(): void {}
function closeEffect(_: unknown, _params: CloseParams): void {}

/** The names of the machine's effects, for the engine's typed record of implementations. */
export type EngineSessionAction =
  | 'sendOpenPacket'
  | 'schedulePing'
  | 'sendPing'
  | 'holdProbe'
  | 'answerProbe'
  | 'flushPollWithNoop'
  | 'switchToWebSocket'
  | 'dropProbe'
  | 'closeSession';

/** The Engine.IO session statechart. */
export const engineSessionMachine = setup({
  types: {
    events: {} as EngineSessionEvent,
  },
  actions: {
    /** Send the open packet `0{sid,upgrades,...}` on the transport that handshook. */
    sendOpenPacket: effect,
    /** Schedule the next ping `pingInterval` from now. */
    schedulePing: effect,
    /** Write a ping to the transport and start waiting `pingTimeout` for its pong. */
    sendPing: effect,
    /** Keep the probing WebSocket beside polling and start the upgrade deadline. */
    holdProbe: effect,
    /** Answer `2probe` with `3probe` on the probing WebSocket. */
    answerProbe: effect,
    /** Release a pending GET with a noop so the client can pause polling. */
    flushPollWithNoop: effect,
    /** Make the WebSocket the transport: flush buffered packets over it, end polling. */
    switchToWebSocket: effect,
    /** Close the probing WebSocket and carry on over polling. */
    dropProbe: effect,
    /** End the session: disconnect its sockets, close its transports, forget it. */
    closeSession: closeEffect,
  } satisfies Record<EngineSessionAction, unknown>,
}).createMachine({
  id: 'engineSession',
  initial: 'handshaking',
  states: {
    handshaking: {
      on: {
        'transport.open': [
          {
            guard: ({ event }) => event.transport === 'websocket',
            target: ['open.transport.websocket', 'open.heartbeat.resting'],
            actions: ['sendOpenPacket', 'schedulePing'],
          },
          { target: 'open', actions: ['sendOpenPacket', 'schedulePing'] },
        ],
      },
    },
    open: {
      type: 'parallel',
      states: {
        transport: {
          initial: 'polling',
          states: {
            polling: {
              on: {
                'transport.upgradeStart': { target: 'upgrading', actions: 'holdProbe' },
              },
            },
            upgrading: {
              initial: 'awaitingProbe',
              states: {
                awaitingProbe: {
                  on: {
                    'transport.upgradeProbe': {
                      target: 'probed',
                      actions: ['answerProbe', 'flushPollWithNoop'],
                    },
                  },
                },
                probed: {
                  on: {
                    'transport.upgrade': {
                      target: '#engineSession.open.transport.websocket',
                      actions: 'switchToWebSocket',
                    },
                  },
                },
              },
              on: {
                'transport.upgradeFail': { target: 'polling', actions: 'dropProbe' },
                'upgrade.timeout': { target: 'polling', actions: 'dropProbe' },
              },
            },
            websocket: {},
          },
        },
        heartbeat: {
          initial: 'resting',
          states: {
            resting: {
              on: { 'heartbeat.due': { target: 'pingSent', actions: 'sendPing' } },
            },
            pingSent: {
              on: { 'transport.pingDelivered': 'awaitingPong' },
            },
            awaitingPong: {
              on: { 'client.pong': { target: 'resting', actions: 'schedulePing' } },
            },
          },
        },
      },
      on: {
        'heartbeat.timeout': {
          target: 'closed',
          actions: { type: 'closeSession', params: { reason: 'ping timeout' } },
        },
        'connect.timeout': {
          target: 'closed',
          actions: { type: 'closeSession', params: { reason: 'connect timeout' } },
        },
        'transport.close': {
          target: 'closed',
          actions: { type: 'closeSession', params: ({ event }) => ({ reason: event.reason }) },
        },
        'client.close': {
          target: 'closed',
          actions: { type: 'closeSession', params: { reason: 'transport close' } },
        },
        'client.fault': {
          target: 'closed',
          actions: { type: 'closeSession', params: ({ event }) => ({ reason: event.reason }) },
        },
        'server.close': {
          target: 'closed',
          actions: { type: 'closeSession', params: ({ event }) => ({ reason: event.reason }) },
        },
      },
    },
    closed: { type: 'final' },
  },
});

/** The session's transport as its snapshot value says, or undefined once closed. */
export function activeTransportOf(value: unknown): 'polling' | 'upgrading' | 'websocket' | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const transport = (value as { open?: { transport?: unknown } }).open?.transport;
  if (transport === 'polling' || transport === 'websocket') return transport;
  return transport === undefined ? undefined : 'upgrading';
}
