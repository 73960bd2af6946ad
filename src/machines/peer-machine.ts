/**
 * The peer-connection lifecycle of one side of a call, as a pure statechart: joining a room,
 * waiting for the other peer, perfect negotiation of offers and answers, trickled ICE with a
 * queue for early candidates, ICE restarts with bounded retries, failure and hang-up.
 *
 * Every effect is named in `setup()` and supplied with `peerMachine.provide(...)` by the browser
 * adapter (src/client/peer-adapter.ts) or by tests. docs/statecharts.md ("Peer connection") describes the chart.
 */
import { and, assertEvent, assign, fromPromise, setup } from 'xstate';
import type { DescriptionSignal, IceServer, SignalPayload } from '../protocol/signaling-events.js';
import type { CandidateRequest, LocalDescriptionRequest, PeerContext, PeerEffect, PeerEvent } from './peer-events.js';
import {
  nextOperationIndex,
  requestNegotiation,
  withoutOperation,
  type OperationFilter,
  type PeerOperation,
} from './peer-operations.js';

export type { CandidateRequest, LocalDescriptionRequest, PeerContext, PeerEffect, PeerEvent } from './peer-events.js';

/** Timing of the connection policy, in milliseconds (the machine reads time from its clock). */
export const PEER_TIMING = {
  /** How long a new call may take to connect before the machine tries an ICE restart. */
  connectTimeout: 15_000,
  /** How long `disconnected` may last before it counts as a failure (it often heals itself). */
  disconnectGrace: 3_000,
  /** The wait before the first ICE restart; it doubles before each further one. */
  restartBaseDelay: 1_000,
  /** How long one ICE restart may take before it counts as failed. */
  restartTimeout: 10_000,
} as const;

/** How many ICE restarts the machine tries before it gives the call up as `failed`. */
export const MAX_ICE_RESTARTS = 3;

const initialContext: PeerContext = {
  role: undefined,
  room: undefined,
  iceServers: [],
  operations: [],
  current: undefined,
  remoteDescription: undefined,
  localDescription: undefined,
  restartAttempts: 0,
  error: undefined,
};

function notProvided(effect: string): Promise<never> {
  return Promise.reject(new Error(`peerMachine: the "${effect}" effect was not provided (use peerMachine.provide)`));
}

function filterFor(context: PeerContext, negotiate: boolean): OperationFilter {
  return { remoteDescriptionSet: context.remoteDescription !== undefined, negotiate };
}

function createdDescription(context: PeerContext): DescriptionSignal {
  if (context.localDescription === undefined) throw new Error('no local description created');
  return context.localDescription;
}

function currentDescription(context: PeerContext): DescriptionSignal {
  const { current } = context;
  if (current?.type !== 'offer' && current?.type !== 'answer') throw new Error('no description in flight');
  return { type: current.type, sdp: current.sdp };
}

/** Which operations a settled signaling state looks at; `negotiate` is true only in `stable`. */
interface TakeParams {
  readonly negotiate: boolean;
}

/** The peer machine; its effects are placeholders until provided. */
export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent,
  },
  actors: {
    /**
     * Creates a local offer (`createOffer`) or answer (`createAnswer`) and resolves with it. The
     * machine sends it at once and applies it after: the other side starts its work while ours
     * applies the description, which takes a browser tens of milliseconds (it sets up transports
     * and starts gathering candidates). Nothing else touches the peer connection in between,
     * because the machine runs one operation at a time.
     */
    createDescription: fromPromise<DescriptionSignal, LocalDescriptionRequest>(() => notProvided('createDescription')),
    /** Applies the local description just created (`setLocalDescription(description)`). */
    setLocalDescription: fromPromise<void, DescriptionSignal>(() => notProvided('setLocalDescription')),
    /** Applies a remote offer (rolling back a local one if needed) or answer. */
    setRemoteDescription: fromPromise<void, DescriptionSignal>(() => notProvided('setRemoteDescription')),
    /** Applies one remote candidate. */
    addIceCandidate: fromPromise<void, CandidateRequest>(() => notProvided('addIceCandidate')),
  },
  actions: {
    /** Connect to the signaling server and join the room. */
    joinRoom: () => {},
    /** Tell the server we leave (`leave`) and drop the signaling connection. */
    leaveRoom: () => {},
    /** Create the RTCPeerConnection (tracks, data channel, handlers). */
    createPeerConnection: (_, _params: { iceServers: readonly IceServer[] }) => {},
    /** Close the peer connection and create a fresh one for the next peer. */
    resetPeerConnection: (_, _params: { iceServers: readonly IceServer[] }) => {},
    /** Close the peer connection. */
    closePeerConnection: () => {},
    /** Give the peer connection new ICE servers (`setConfiguration`). */
    applyIceServers: (_, _params: { iceServers: readonly IceServer[] }) => {},
    /** Relay a signal to the other peer (`data`). */
    sendSignal: (_, _params: { signal: SignalPayload }) => {},
    /** `RTCPeerConnection.restartIce()`. */
    restartIce: () => {},
    /** A swallowed failure, for logs; the machine has already moved on. */
    reportFailure: (_, _params: { effect: PeerEffect; error: unknown }) => {},

    storeRole: assign(({ event }) => {
      assertEvent(event, 'signal.role');
      return { role: event.role, room: event.room };
    }),
    storeIceServers: assign(({ event }) => {
      assertEvent(event, 'signal.iceServers');
      return { iceServers: event.iceServers };
    }),
    storeError: assign(({ event }) => {
      assertEvent(event, ['signal.error', 'signal.rejected']);
      return { error: { code: event.code, message: event.message } };
    }),
    enqueueSignal: assign(({ context, event }) => {
      assertEvent(event, ['signal.offer', 'signal.answer', 'signal.candidate']);
      const operation: PeerOperation =
        event.type === 'signal.candidate'
          ? { type: 'candidate', candidate: event.candidate }
          : { type: event.type === 'signal.offer' ? 'offer' : 'answer', sdp: event.sdp };
      return { operations: [...context.operations, operation] };
    }),
    requestNegotiation: assign(({ context }) => ({ operations: requestNegotiation(context.operations, false) })),
    requestIceRestartOffer: assign(({ context }) => ({ operations: requestNegotiation(context.operations, true) })),
    takeOperation: assign(({ context }, params: TakeParams) => {
      const index = nextOperationIndex(context.operations, filterFor(context, params.negotiate));
      return { current: context.operations[index], operations: withoutOperation(context.operations, index) };
    }),
    /** Drops the next operation: a colliding offer we ignore as impolite, or a stale answer. */
    dropOperation: assign(({ context }, params: TakeParams) => {
      const index = nextOperationIndex(context.operations, filterFor(context, params.negotiate));
      return { operations: withoutOperation(context.operations, index) };
    }),
    forgetError: assign({ error: undefined }),
    finishOperation: assign({ current: undefined }),
    recordRemoteDescription: assign(({ context }) => ({
      remoteDescription: currentDescription(context),
      current: undefined,
    })),
    /** Keeps the description just created (and sent) for `setLocalDescription`. */
    keepLocalDescription: assign((_, params: { description: DescriptionSignal }) => ({
      localDescription: params.description,
    })),
    forgetLocalDescription: assign({ localDescription: undefined }),
    forgetNegotiation: assign({
      operations: [],
      current: undefined,
      remoteDescription: undefined,
      localDescription: undefined,
    }),
    forgetPeer: assign({
      operations: [],
      current: undefined,
      remoteDescription: undefined,
      localDescription: undefined,
      restartAttempts: 0,
    }),
    countRestartAttempt: assign(({ context }) => ({ restartAttempts: context.restartAttempts + 1 })),
    resetRestartAttempts: assign({ restartAttempts: 0 }),
  },
  guards: {
    /** The next operation the current signaling state may take is of this type. */
    nextOperationIs: ({ context }, params: TakeParams & { type: PeerOperation['type'] }) => {
      const index = nextOperationIndex(context.operations, filterFor(context, params.negotiate));
      return index !== -1 && context.operations[index]?.type === params.type;
    },
    isPolite: ({ context }) => context.role === 'polite',
    restartsExhausted: ({ context }) => context.restartAttempts >= MAX_ICE_RESTARTS,
  },
  delays: {
    connectTimeout: PEER_TIMING.connectTimeout,
    disconnectGrace: PEER_TIMING.disconnectGrace,
    /** Exponential backoff: 1 s, 2 s, 4 s before the first, second and third restart. */
    restartBackoff: ({ context }) => PEER_TIMING.restartBaseDelay * 2 ** context.restartAttempts,
    restartTimeout: PEER_TIMING.restartTimeout,
  },
}).createMachine({
  id: 'peer',
  context: initialContext,
  initial: 'idle',
  on: {
    'user.hangUp': { target: '.closed', actions: 'leaveRoom' },
    'user.rejoin': { target: '.joining', reenter: true, actions: 'leaveRoom' },
    'signal.iceServers': {
      actions: [
        'storeIceServers',
        { type: 'applyIceServers', params: ({ event }) => ({ iceServers: event.iceServers }) },
      ],
    },
    'signal.error': { actions: 'storeError' },
  },
  states: {
    /** Not in a room. */
    idle: {
      on: { 'user.join': 'joining' },
    },
    /** Connecting to the signaling server; the `role` event admits us to the room. */
    joining: {
      entry: ['forgetError', 'joinRoom'],
      on: {
        'signal.role': { target: 'session', actions: 'storeRole' },
        'signal.rejected': { target: 'rejected', actions: 'storeError' },
      },
    },
    /** In the room, with a peer connection. */
    session: {
      entry: [
        'resetRestartAttempts',
        { type: 'createPeerConnection', params: ({ context }) => ({ iceServers: context.iceServers }) },
      ],
      // Nothing learnt about one peer connection may leak into the next session.
      exit: ['closePeerConnection', 'forgetNegotiation'],
      initial: 'waiting',
      on: {
        'signal.offer': { actions: 'enqueueSignal' },
        'signal.answer': { actions: 'enqueueSignal' },
        'signal.candidate': { actions: 'enqueueSignal' },
        'signal.role': { actions: 'storeRole' },
        'signal.rejected': { target: 'rejected', actions: 'storeError' },
      },
      states: {
        /** Alone in the room. Local `negotiationneeded` is ignored: there is nobody to offer to. */
        waiting: {
          on: {
            // By the original example's convention the peer that was waiting makes the offer.
            'signal.ready': { target: 'call', actions: 'requestNegotiation' },
            'signal.offer': { target: 'call', actions: 'enqueueSignal' },
          },
        },
        /** Two peers: negotiation and connectivity run side by side. */
        call: {
          type: 'parallel',
          on: {
            'signal.peerLeft': {
              target: 'waiting',
              actions: [
                'forgetPeer',
                { type: 'resetPeerConnection', params: ({ context }) => ({ iceServers: context.iceServers }) },
              ],
            },
            // A `role` event mid-call means the server saw us join afresh (the signaling socket
            // reconnected): the other peer has been told we left, so this call is over.
            'signal.role': {
              target: 'waiting',
              actions: [
                'storeRole',
                'forgetPeer',
                { type: 'resetPeerConnection', params: ({ context }) => ({ iceServers: context.iceServers }) },
              ],
            },
            'pc.localCandidate': {
              actions: {
                type: 'sendSignal',
                params: ({ event }) => ({ signal: { type: 'candidate', candidate: event.candidate } }),
              },
            },
            'pc.negotiationNeeded': { actions: 'requestNegotiation' },
          },
          states: {
            /**
             * Mirrors the peer connection's signaling state and is the only place that touches
             * its descriptions and remote candidates, one operation at a time.
             */
            negotiation: {
              id: 'negotiation',
              initial: 'stable',
              states: {
                stable: {
                  initial: 'idle',
                  states: {
                    idle: {
                      always: [
                        {
                          guard: { type: 'nextOperationIs', params: { type: 'offer', negotiate: true } },
                          target: '#negotiation.applyingRemoteOffer',
                          actions: { type: 'takeOperation', params: { negotiate: true } },
                        },
                        {
                          // An answer with no offer of ours out: stale or duplicated.
                          guard: { type: 'nextOperationIs', params: { type: 'answer', negotiate: true } },
                          actions: { type: 'dropOperation', params: { negotiate: true } },
                        },
                        {
                          guard: { type: 'nextOperationIs', params: { type: 'candidate', negotiate: true } },
                          target: 'applyingCandidate',
                          actions: { type: 'takeOperation', params: { negotiate: true } },
                        },
                        {
                          guard: { type: 'nextOperationIs', params: { type: 'negotiate', negotiate: true } },
                          target: '#negotiation.makingOffer',
                          actions: { type: 'takeOperation', params: { negotiate: true } },
                        },
                      ],
                    },
                    applyingCandidate: {
                      invoke: {
                        src: 'addIceCandidate',
                        id: 'addIceCandidate',
                        input: ({ context }) => candidateOf(context),
                        onDone: { target: 'idle', actions: 'finishOperation' },
                        onError: {
                          target: 'idle',
                          actions: [
                            'finishOperation',
                            {
                              type: 'reportFailure',
                              params: ({ event }) => ({ effect: 'addIceCandidate', error: event.error }),
                            },
                          ],
                        },
                      },
                    },
                  },
                },
                /** "Making an offer", first step: `createOffer()` is in flight. */
                makingOffer: {
                  invoke: {
                    src: 'createDescription',
                    id: 'createDescription',
                    input: ({ context }) => ({
                      type: 'offer',
                      iceRestart: context.current?.type === 'negotiate' && context.current.iceRestart,
                    }),
                    onDone: {
                      target: 'applyingLocalOffer',
                      actions: [
                        'finishOperation',
                        { type: 'sendSignal', params: ({ event }) => ({ signal: event.output }) },
                        { type: 'keepLocalDescription', params: ({ event }) => ({ description: event.output }) },
                      ],
                    },
                    onError: {
                      target: 'stable',
                      actions: [
                        'finishOperation',
                        {
                          type: 'reportFailure',
                          params: ({ event }) => ({ effect: 'createDescription', error: event.error }),
                        },
                      ],
                    },
                  },
                },
                /**
                 * "Making an offer", second step: the offer is out and `setLocalDescription(offer)`
                 * is in flight. An answer that arrives meanwhile waits in the queue.
                 */
                applyingLocalOffer: {
                  invoke: {
                    src: 'setLocalDescription',
                    id: 'setLocalDescription',
                    input: ({ context }) => createdDescription(context),
                    onDone: { target: 'haveLocalOffer', actions: 'forgetLocalDescription' },
                    onError: {
                      // The other side has the offer, but we do not: its answer will be dropped
                      // as stale, and the next `negotiationneeded` offers again.
                      target: 'stable',
                      actions: [
                        'forgetLocalDescription',
                        {
                          type: 'reportFailure',
                          params: ({ event }) => ({ effect: 'setLocalDescription', error: event.error }),
                        },
                      ],
                    },
                  },
                },
                /** Our offer is out; waiting for the answer. */
                haveLocalOffer: {
                  initial: 'idle',
                  states: {
                    idle: {
                      always: [
                        {
                          guard: { type: 'nextOperationIs', params: { type: 'answer', negotiate: false } },
                          target: '#negotiation.applyingRemoteAnswer',
                          actions: { type: 'takeOperation', params: { negotiate: false } },
                        },
                        {
                          // Glare, polite side: setRemoteDescription(offer) rolls our offer back.
                          // https://w3c.github.io/webrtc-pc/#perfect-negotiation-example
                          guard: and([
                            { type: 'nextOperationIs', params: { type: 'offer' as const, negotiate: false } },
                            'isPolite',
                          ]),
                          target: '#negotiation.applyingRemoteOffer',
                          actions: { type: 'takeOperation', params: { negotiate: false } },
                        },
                        {
                          // Glare, impolite side: ignore the colliding offer; ours wins.
                          guard: { type: 'nextOperationIs', params: { type: 'offer', negotiate: false } },
                          actions: { type: 'dropOperation', params: { negotiate: false } },
                        },
                        {
                          guard: { type: 'nextOperationIs', params: { type: 'candidate', negotiate: false } },
                          target: 'applyingCandidate',
                          actions: { type: 'takeOperation', params: { negotiate: false } },
                        },
                      ],
                    },
                    applyingCandidate: {
                      invoke: {
                        src: 'addIceCandidate',
                        id: 'addIceCandidate',
                        input: ({ context }) => candidateOf(context),
                        onDone: { target: 'idle', actions: 'finishOperation' },
                        onError: {
                          target: 'idle',
                          actions: [
                            'finishOperation',
                            {
                              type: 'reportFailure',
                              params: ({ event }) => ({ effect: 'addIceCandidate', error: event.error }),
                            },
                          ],
                        },
                      },
                    },
                  },
                },
                /** "Answering", first step: applying the remote offer. */
                applyingRemoteOffer: {
                  invoke: {
                    src: 'setRemoteDescription',
                    id: 'setRemoteDescription',
                    input: ({ context }) => currentDescription(context),
                    onDone: { target: 'makingAnswer', actions: 'recordRemoteDescription' },
                    onError: {
                      target: 'stable',
                      actions: [
                        'finishOperation',
                        {
                          type: 'reportFailure',
                          params: ({ event }) => ({ effect: 'setRemoteDescription', error: event.error }),
                        },
                      ],
                    },
                  },
                },
                /** "Answering", second step: `createAnswer()` is in flight. */
                makingAnswer: {
                  invoke: {
                    src: 'createDescription',
                    id: 'createDescription',
                    input: { type: 'answer', iceRestart: false },
                    onDone: {
                      target: 'applyingLocalAnswer',
                      actions: [
                        { type: 'sendSignal', params: ({ event }) => ({ signal: event.output }) },
                        { type: 'keepLocalDescription', params: ({ event }) => ({ description: event.output }) },
                      ],
                    },
                    onError: {
                      target: 'stable',
                      actions: {
                        type: 'reportFailure',
                        params: ({ event }) => ({ effect: 'createDescription', error: event.error }),
                      },
                    },
                  },
                },
                /** "Answering", third step: the answer is out and `setLocalDescription(answer)` is in flight. */
                applyingLocalAnswer: {
                  invoke: {
                    src: 'setLocalDescription',
                    id: 'setLocalDescription',
                    input: ({ context }) => createdDescription(context),
                    onDone: { target: 'stable', actions: 'forgetLocalDescription' },
                    onError: {
                      target: 'stable',
                      actions: [
                        'forgetLocalDescription',
                        {
                          type: 'reportFailure',
                          params: ({ event }) => ({ effect: 'setLocalDescription', error: event.error }),
                        },
                      ],
                    },
                  },
                },
                /** Applying the answer to our offer. */
                applyingRemoteAnswer: {
                  invoke: {
                    src: 'setRemoteDescription',
                    id: 'setRemoteDescription',
                    input: ({ context }) => currentDescription(context),
                    onDone: { target: 'stable', actions: 'recordRemoteDescription' },
                    onError: {
                      // The peer connection still holds our offer: keep waiting for a good answer.
                      target: 'haveLocalOffer',
                      actions: [
                        'finishOperation',
                        {
                          type: 'reportFailure',
                          params: ({ event }) => ({ effect: 'setRemoteDescription', error: event.error }),
                        },
                      ],
                    },
                  },
                },
              },
            },
            /** Connectivity of the peer connection and the ICE restart policy. */
            connection: {
              initial: 'connecting',
              states: {
                connecting: {
                  after: { connectTimeout: 'backingOff' },
                  on: { 'pc.connected': 'connected', 'pc.disconnected': 'disconnected', 'pc.iceFailed': 'backingOff' },
                },
                connected: {
                  entry: 'resetRestartAttempts',
                  on: { 'pc.disconnected': 'disconnected', 'pc.iceFailed': 'backingOff' },
                },
                /** `disconnected` often heals by itself; only a lasting one counts as a failure. */
                disconnected: {
                  after: { disconnectGrace: 'backingOff' },
                  on: { 'pc.connected': 'connected', 'pc.iceFailed': 'backingOff' },
                },
                /** Waiting (exponentially longer each time) before the next ICE restart. */
                backingOff: {
                  always: { guard: 'restartsExhausted', target: '#peer.failed' },
                  after: { restartBackoff: 'restarting' },
                  on: { 'pc.connected': 'connected' },
                },
                /** `restartIce()` and an offer with fresh ICE credentials (through the queue). */
                restarting: {
                  entry: ['countRestartAttempt', 'restartIce', 'requestIceRestartOffer'],
                  after: { restartTimeout: 'backingOff' },
                  on: { 'pc.connected': 'connected', 'pc.iceFailed': 'backingOff' },
                },
              },
            },
          },
        },
      },
    },
    /** The server refused us (e.g. `room-full`); `context.error` says why. */
    rejected: {
      on: { 'user.join': 'joining' },
    },
    /** ICE restarts are exhausted; we left the room. */
    failed: {
      entry: 'leaveRoom',
      on: { 'user.join': 'joining' },
    },
    /** The user hung up. */
    closed: {
      on: { 'user.join': 'joining' },
    },
  },
});

function candidateOf(context: PeerContext): CandidateRequest {
  if (context.current?.type !== 'candidate') throw new Error('no candidate in flight');
  return { candidate: context.current.candidate };
}

/** The peer machine's type, for adapters and tests. */
export type PeerMachine = typeof peerMachine;
