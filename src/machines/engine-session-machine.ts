/**
 * The lifecycle of one Engine.IO session: which transport carries it, the polling → WebSocket
 * upgrade, and every way it can end. Pure: no timers, no sockets. The protocol engine keeps
 * only the snapshot per session, advances it with xstate's `transition()` and executes the
 * returned actions by `type` (see src/signaling/engine/engine-session.ts).
 *
 * Per-message traffic never goes through this machine; only lifecycle events do.
 * Protocol: https://github.com/socketio/engine.io-protocol (v4).
 */
import { setup } from 'xstate';

/** The two Engine.IO transports a session can run on. */
export type EngineTransportName = 'polling' | 'websocket';

/** Why a session ended, as the engine reports it (finer than socket.io's disconnect reasons). */
export type EngineCloseReason =
  | 'transport close'
  | 'transport error'
  | 'ping timeout'
  | 'parse error'
  | 'payload too large'
  | 'slow consumer'
  | 'connect timeout'
  | 'forced close'
  | 'server shutting down';

/** The reasons that come from a transport going away underneath the session. */
export type TransportFailure = 'transport close' | 'transport error' | 'payload too large' | 'slow consumer';

/** Lifecycle events, named by source. */
export type EngineSessionEvent =
  | { type: 'transport.open'; transport: EngineTransportName }
  | { type: 'transport.upgradeStart' }
  | { type: 'transport.upgradeProbe' }
  | { type: 'transport.upgrade' }
  | { type: 'transport.upgradeFail' }
  | { type: 'upgrade.timeout' }
  | { type: 'heartbeat.timeout' }
  | { type: 'connect.timeout' }
  | { type: 'transport.close'; reason: TransportFailure }
  | { type: 'client.close' }
  | { type: 'protocol.error' }
  | { type: 'server.close'; reason: 'forced close' | 'server shutting down' };

/** Parameters of the `closeSession` effect. */
export interface CloseParams {
  readonly reason: EngineCloseReason;
}

/**
 * Effects, named here and supplied by the engine. The stubs do nothing: the engine runs the
 * machine with the pure `transition()` and executes actions by `type` itself.
 */
function effect(): void {}
function closeEffect(_: unknown, _params: CloseParams): void {}

/** The Engine.IO session statechart. */
export const engineSessionMachine = setup({
  types: {
    events: {} as EngineSessionEvent,
  },
  actions: {
    /** Send the open packet `0{sid,upgrades,...}` on the transport that handshook. */
    sendOpenPacket: effect,
    /** Put the session in the ping queue and the connect-timeout queue. */
    startTimers: effect,
    /** Keep the probing WebSocket beside polling and put it in the upgrade-timeout queue. */
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
  },
}).createMachine({
  id: 'engineSession',
  initial: 'handshaking',
  states: {
    handshaking: {
      on: {
        'transport.open': [
          {
            guard: ({ event }) => event.transport === 'websocket',
            target: 'open.websocket',
            actions: ['sendOpenPacket', 'startTimers'],
          },
          { target: 'open.polling', actions: ['sendOpenPacket', 'startTimers'] },
        ],
      },
    },
    open: {
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
                'transport.upgrade': { target: '#engineSession.open.websocket', actions: 'switchToWebSocket' },
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
        'protocol.error': {
          target: 'closed',
          actions: { type: 'closeSession', params: { reason: 'parse error' } },
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
  const open = (value as { open?: unknown }).open;
  if (open === 'polling' || open === 'websocket') return open;
  return open === undefined ? undefined : 'upgrading';
}
