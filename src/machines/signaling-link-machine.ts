/**
 * The browser's link to the signaling server, as socket.io-client reports it: connecting,
 * connected, reconnecting (socket.io-client is retrying by itself) or disconnected (closed for
 * good: we hung up, the server closed it, or it refused the join).
 *
 *   disconnected ──open──▶ connecting ──connect──▶ connected ──disconnect──▶ reconnecting
 *        ▲                     │   connectError ───────────────────────────▶    │  ▲
 *        └──── close / disconnect for good / refused ◀──────────────────────────┘  │
 *                                                              connect ─────────────┘
 *
 * Pure, no effects: it decides nothing about the call (the peer machine does). It exists so the
 * link can be watched like the other machines, in the live inspector (docs/inspector.md).
 */
import { assign, setup } from 'xstate';

/** What socket.io-client says about one signaling socket, named by source. */
export type SignalingLinkEvent =
  /** The adapter opened a socket for a join. */
  | { type: 'socket.open' }
  /** The socket connected (CONNECT acknowledged), first time or after a reconnection. */
  | { type: 'socket.connect' }
  /** The socket lost its connection; socket.io-client's reason (`transport close`, ...). */
  | { type: 'socket.disconnect'; reason: string }
  /** A connection attempt failed; `refused` when the server refused the join (room-full, ...). */
  | { type: 'socket.connectError'; message: string; refused: boolean }
  /** The adapter dropped the socket (hang-up, leave, rejoin). */
  | { type: 'socket.close' };

/** The link's extended state: why it last went down, and how many attempts since. */
export interface SignalingLinkContext {
  readonly reason: string | undefined;
  readonly failedAttempts: number;
}

/** socket.io-client retries after every disconnect reason except these two. */
const FINAL_DISCONNECT_REASONS: ReadonlySet<string> = new Set(['io client disconnect', 'io server disconnect']);

/** The signaling link statechart. */
export const signalingLinkMachine = setup({
  types: {
    context: {} as SignalingLinkContext,
    events: {} as SignalingLinkEvent,
  },
  actions: {
    rememberReason: assign(({ event }) => ({
      reason:
        event.type === 'socket.disconnect'
          ? event.reason
          : event.type === 'socket.connectError'
            ? event.message
            : undefined,
    })),
    countFailedAttempt: assign(({ context }) => ({ failedAttempts: context.failedAttempts + 1 })),
    resetAttempts: assign({ failedAttempts: 0 }),
  },
  guards: {
    /** The disconnect ends the link: socket.io-client will not reconnect. */
    closedForGood: ({ event }) => event.type === 'socket.disconnect' && FINAL_DISCONNECT_REASONS.has(event.reason),
    /** The server refused the join; socket.io-client does not retry a refusal. */
    refused: ({ event }) => event.type === 'socket.connectError' && event.refused,
  },
}).createMachine({
  id: 'signalingLink',
  context: { reason: undefined, failedAttempts: 0 },
  initial: 'disconnected',
  on: {
    'socket.open': { target: '.connecting', actions: 'resetAttempts' },
    'socket.close': { target: '.disconnected', actions: 'rememberReason' },
  },
  states: {
    disconnected: {},
    connecting: {
      on: {
        'socket.connect': { target: 'connected', actions: 'resetAttempts' },
        'socket.connectError': [
          { guard: 'refused', target: 'disconnected', actions: 'rememberReason' },
          { target: 'reconnecting', actions: ['rememberReason', 'countFailedAttempt'] },
        ],
        'socket.disconnect': { target: 'disconnected', actions: 'rememberReason' },
      },
    },
    connected: {
      on: {
        'socket.disconnect': [
          { guard: 'closedForGood', target: 'disconnected', actions: 'rememberReason' },
          { target: 'reconnecting', actions: 'rememberReason' },
        ],
      },
    },
    reconnecting: {
      on: {
        'socket.connect': { target: 'connected', actions: 'resetAttempts' },
        'socket.connectError': [
          { guard: 'refused', target: 'disconnected', actions: 'rememberReason' },
          { actions: ['rememberReason', 'countFailedAttempt'] },
        ],
        'socket.disconnect': { guard: 'closedForGood', target: 'disconnected', actions: 'rememberReason' },
      },
    },
  },
});

/** The signaling link machine's type. */
export type SignalingLinkMachine = typeof signalingLinkMachine;
