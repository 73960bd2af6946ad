/**
 * A reference model of one side of a Parley call, written from the protocol's descriptions and
 * not from src/machines/peer-machine.ts: perfect negotiation as the WebRTC spec
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) and MDN describe it, remote
 * candidates held until a remote description is set, Parley's ICE-restart policy
 * (docs/statecharts.md, "ICE restart policy") and the call lifecycle on a real room of two.
 *
 * It is a model only: its events are what a test can make happen (a user action, a message from
 * the other peer, a change of the peer connection, time passing), and after each event its
 * context says what an implementation must observably have done by then, as running tallies
 * ({@link PeerModelTally}) and the call state a UI shows. A model step is "quiescent": the
 * implementation has finished reacting to the event before the next one.
 */
import { assign, setup, type SnapshotFrom } from 'xstate';

/** The two perfect-negotiation roles; the first peer in an empty room is `impolite`. */
export type ModelRole = 'polite' | 'impolite';

/** The policy's parameters, as docs/statecharts.md states them (milliseconds). */
export const MODEL_TIMING = {
  /** A new call that has not connected by then gets an ICE restart. */
  connectTimeout: 15_000,
  /** A `disconnected` connection that has not healed by then gets an ICE restart. */
  disconnectGrace: 3_000,
  /** The wait before the first restart, doubled before each further one. */
  restartBaseDelay: 1_000,
  /** A restart that has not connected by then counts as failed. */
  restartTimeout: 10_000,
  /** Restarts tried before the call is given up as `failed`. */
  maxRestarts: 3,
} as const;

/** What a test can make happen, one quiescent step at a time. */
export type PeerModelEvent =
  /** The user joins (from idle, after hanging up, or after a failure). */
  | { readonly type: 'user.join' }
  /** The user leaves whatever call this is and joins again. */
  | { readonly type: 'user.rejoin' }
  /**
   * The user joins and asks to rejoin before the server has answered (a double click): the
   * first signaling connection is dropped unanswered and a second one joins.
   */
  | { readonly type: 'user.joinAndRejoin' }
  /** The user hangs up. */
  | { readonly type: 'user.hangUp' }
  /** The other peer joins the room. */
  | { readonly type: 'remote.join' }
  /** The other peer leaves the room. */
  | { readonly type: 'remote.leave' }
  /** The other peer sends an offer. */
  | { readonly type: 'remote.offer' }
  /** The other peer answers (a stale answer when no offer of ours is out). */
  | { readonly type: 'remote.answer' }
  /** The other peer sends an answer our peer connection refuses (e.g. malformed SDP). */
  | { readonly type: 'remote.badAnswer' }
  /** The other peer trickles an ICE candidate. */
  | { readonly type: 'remote.candidate' }
  /** Our peer connection fires `negotiationneeded` (e.g. a track was added). */
  | { readonly type: 'pc.negotiationNeeded' }
  /** Our peer connection's `connectionState` becomes `connected`. */
  | { readonly type: 'pc.connected' }
  /** ... becomes `disconnected`. */
  | { readonly type: 'pc.disconnected' }
  /** ... becomes `failed`. */
  | { readonly type: 'pc.failed' }
  /** Time passes: `ms` milliseconds, just what the pending timer of the policy needs. */
  | { readonly type: 'clock.connectTimeout'; readonly ms: number }
  | { readonly type: 'clock.disconnectGrace'; readonly ms: number }
  | { readonly type: 'clock.restartBackoff'; readonly ms: number }
  | { readonly type: 'clock.restartTimeout'; readonly ms: number };

/** The type of a {@link PeerModelEvent}. */
export type PeerModelEventType = PeerModelEvent['type'];

/** Running counts of what the implementation must have done, from the start of the path. */
export interface PeerModelTally {
  /** Signaling connections opened (one per join or rejoin). */
  readonly sockets: number;
  /** Peer connections created (one per session, and a fresh one after the other peer left). */
  readonly peerConnections: number;
  /** Offers the other peer received. */
  readonly offers: number;
  /** Of these, offers created with `iceRestart: true`. */
  readonly iceRestartOffers: number;
  /** Answers the other peer received. */
  readonly answers: number;
  /** Our offers rolled back by a colliding remote offer (polite side). */
  readonly rollbacks: number;
  /** Remote candidates given to `addIceCandidate`. */
  readonly candidatesApplied: number;
  /** `restartIce()` calls. */
  readonly iceRestarts: number;
  /** Failures the implementation reported and moved past (a refused answer). */
  readonly failures: number;
  /** `ready` events the other peer received (we joined while it waited). */
  readonly remoteReady: number;
  /** `peer-left` events the other peer received (we left while it was there). */
  readonly remotePeerLeft: number;
}

/** The call state a UI shows, as `callStatus()` names it. */
export type ModelStatus = 'idle' | 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** The model's memory. */
export interface PeerModelContext {
  /** Whether the other peer is in the room, and its role there. */
  readonly remote: ModelRole | undefined;
  /** Our role, from the last time we joined. */
  readonly role: ModelRole | undefined;
  /** The signaling state of our current peer connection (outside a session: `closed`). */
  readonly signaling: 'none' | 'stable' | 'have-local-offer' | 'closed';
  /** Whether a remote description is set on our current peer connection. */
  readonly remoteDescription: boolean;
  /** Remote candidates held until a remote description is set. */
  readonly heldCandidates: number;
  /** A request to make an offer, held until the signaling state is `stable`. */
  readonly heldOffer: 'none' | 'plain' | 'iceRestart';
  /** ICE restarts tried since the connection was last up (a UI shows it). */
  readonly restartAttempts: number;
  readonly tally: PeerModelTally;
}

const NO_TALLY: PeerModelTally = {
  sockets: 0,
  peerConnections: 0,
  offers: 0,
  iceRestartOffers: 0,
  answers: 0,
  rollbacks: 0,
  candidatesApplied: 0,
  iceRestarts: 0,
  failures: 0,
  remoteReady: 0,
  remotePeerLeft: 0,
};

const other = (role: ModelRole): ModelRole => (role === 'polite' ? 'impolite' : 'polite');

type Changes = { -readonly [K in keyof PeerModelContext]?: PeerModelContext[K] };

/**
 * What a quiescent peer connection does with what is held: every held candidate is applied once
 * a remote description is set, and a held request to negotiate becomes an offer once the
 * signaling state is `stable` (the offer then waits for its answer in `have-local-offer`).
 */
function settled(context: PeerModelContext, changes: Changes = {}): Changes {
  const next = { ...context, ...changes };
  let { tally } = next;
  let { heldCandidates, heldOffer, signaling } = next;
  if (next.remoteDescription && heldCandidates > 0) {
    tally = { ...tally, candidatesApplied: tally.candidatesApplied + heldCandidates };
    heldCandidates = 0;
  }
  if (signaling === 'stable' && heldOffer !== 'none') {
    tally = {
      ...tally,
      offers: tally.offers + 1,
      iceRestartOffers: tally.iceRestartOffers + (heldOffer === 'iceRestart' ? 1 : 0),
    };
    heldOffer = 'none';
    signaling = 'have-local-offer';
  }
  return { ...changes, tally, heldCandidates, heldOffer, signaling };
}

function count(context: PeerModelContext, changes: Partial<Record<keyof PeerModelTally, number>>): PeerModelTally {
  const tally = { ...context.tally };
  for (const [key, n] of Object.entries(changes) as [keyof PeerModelTally, number][]) tally[key] += n;
  return tally;
}

/** A fresh peer connection: nothing negotiated, nothing held. */
const FRESH_CONNECTION = {
  signaling: 'stable',
  remoteDescription: false,
  heldCandidates: 0,
  heldOffer: 'none',
} as const;

/** The reference model. Use {@link possiblePeerModelEvents} for the events each state allows. */
export const peerReferenceModel = setup({
  types: { context: {} as PeerModelContext, events: {} as PeerModelEvent },
  actions: {
    /** We connect and the server admits us: opposite role to a peer already there, which is told `ready`. */
    joinRoom: assign(({ context }) => ({
      role: context.remote === undefined ? 'impolite' : other(context.remote),
      ...FRESH_CONNECTION,
      restartAttempts: 0,
      tally: count(context, {
        sockets: 1,
        peerConnections: 1,
        remoteReady: context.remote === undefined ? 0 : 1,
      }),
    })),
    /** A signaling connection opened and dropped before the server admitted it. */
    abandonSocket: assign(({ context }) => ({ tally: count(context, { sockets: 1 }) })),
    /** We leave the room: the other peer, if there, hears `peer-left`; our peer connection closes. */
    leaveRoom: assign(({ context }) => ({
      signaling: 'closed' as const,
      tally: count(context, { remotePeerLeft: context.remote === undefined ? 0 : 1 }),
    })),
    /** The other peer joins a room we are not in: it is first, so `impolite`. */
    remoteJoinsEmptyRoom: assign({ remote: 'impolite' as const }),
    /** The other peer joins us: it takes the role we do not have. */
    remoteJoinsUs: assign(({ context }) => ({ remote: other(context.role ?? 'polite') })),
    remoteLeaves: assign({ remote: undefined }),
    /** The other peer left mid-call: a fresh peer connection for the next one, the restart count reset. */
    forgetPeer: assign(({ context }) => ({
      ...FRESH_CONNECTION,
      restartAttempts: 0,
      tally: count(context, { peerConnections: 1 }),
    })),
    /** `ready`: by the original example's convention, the peer that waited makes the offer. */
    offerToNewcomer: assign(({ context }) => settled(context, { heldOffer: 'plain' })),
    /**
     * A remote offer. In `stable`: apply it and answer. Colliding with our own offer: the polite
     * peer rolls its offer back and answers; the impolite peer ignores the offer (`ignoreOffer`).
     */
    takeRemoteOffer: assign(({ context }) => {
      if (context.signaling === 'have-local-offer' && context.role === 'impolite') return {};
      const rollback = context.signaling === 'have-local-offer' ? 1 : 0;
      return settled(context, {
        signaling: 'stable',
        remoteDescription: true,
        tally: count(context, { answers: 1, rollbacks: rollback }),
      });
    }),
    /** The answer to our offer; an answer with no offer of ours out is stale and ignored. */
    takeRemoteAnswer: assign(({ context }) =>
      context.signaling === 'have-local-offer'
        ? settled(context, { signaling: 'stable', remoteDescription: true })
        : {},
    ),
    /** A refused answer is reported; our offer stays out, waiting for a good answer. */
    refuseRemoteAnswer: assign(({ context }) =>
      context.signaling === 'have-local-offer' ? { tally: count(context, { failures: 1 }) } : {},
    ),
    /** Applied at once with a remote description set (even after an ignored offer); held otherwise. */
    takeRemoteCandidate: assign(({ context }) => settled(context, { heldCandidates: context.heldCandidates + 1 })),
    /** Held in waiting: there is no negotiation before the call. */
    holdRemoteCandidate: assign(({ context }) => ({ heldCandidates: context.heldCandidates + 1 })),
    /** A request to negotiate merges into one already held, which keeps its ICE-restart flag. */
    requestOffer: assign(({ context }) =>
      settled(context, { heldOffer: context.heldOffer === 'none' ? 'plain' : context.heldOffer }),
    ),
    /** One ICE restart: counted, `restartIce()`, and an offer with fresh ICE credentials. */
    restartIce: assign(({ context }) =>
      settled(context, {
        restartAttempts: context.restartAttempts + 1,
        heldOffer: 'iceRestart',
        tally: count(context, { iceRestarts: 1 }),
      }),
    ),
    connectionUp: assign({ restartAttempts: 0 }),
  },
  guards: {
    restartsSpent: ({ context }) => context.restartAttempts >= MODEL_TIMING.maxRestarts,
  },
}).createMachine({
  id: 'peerModel',
  context: {
    remote: undefined,
    role: undefined,
    signaling: 'none',
    remoteDescription: false,
    heldCandidates: 0,
    heldOffer: 'none',
    restartAttempts: 0,
    tally: NO_TALLY,
  },
  initial: 'idle',
  on: {
    'remote.join': { actions: 'remoteJoinsEmptyRoom' },
    'remote.leave': { actions: 'remoteLeaves' },
  },
  states: {
    idle: {
      on: {
        'user.join': 'session',
        'user.rejoin': 'session',
        'user.joinAndRejoin': { target: 'session', actions: 'abandonSocket' },
      },
    },
    /** In the room with a peer connection. */
    session: {
      entry: 'joinRoom',
      on: {
        'user.hangUp': { target: 'closed', actions: 'leaveRoom' },
        'user.rejoin': { target: 'session', reenter: true, actions: 'leaveRoom' },
      },
      initial: 'waiting',
      states: {
        /** Alone, or the other peer has not offered yet. */
        waiting: {
          on: {
            'remote.join': { target: 'call', actions: ['remoteJoinsUs', 'offerToNewcomer'] },
            'remote.offer': { target: 'call', actions: 'takeRemoteOffer' },
            'remote.candidate': { actions: 'holdRemoteCandidate' },
          },
        },
        /** Two peers: negotiation (in the context) and the connection policy (the states). */
        call: {
          on: {
            'remote.leave': { target: 'waiting', actions: ['remoteLeaves', 'forgetPeer'] },
            'remote.offer': { actions: 'takeRemoteOffer' },
            'remote.answer': { actions: 'takeRemoteAnswer' },
            'remote.badAnswer': { actions: 'refuseRemoteAnswer' },
            'remote.candidate': { actions: 'takeRemoteCandidate' },
            'pc.negotiationNeeded': { actions: 'requestOffer' },
          },
          initial: 'connecting',
          states: {
            connecting: {
              on: {
                'pc.connected': 'connected',
                'pc.failed': 'backingOff',
                'clock.connectTimeout': 'backingOff',
              },
            },
            connected: {
              entry: 'connectionUp',
              on: { 'pc.disconnected': 'disconnected', 'pc.failed': 'backingOff' },
            },
            /** `disconnected` often heals by itself within the grace period. */
            disconnected: {
              on: { 'pc.connected': 'connected', 'pc.failed': 'backingOff', 'clock.disconnectGrace': 'backingOff' },
            },
            backingOff: {
              always: { guard: 'restartsSpent', target: '#peerModel.failed' },
              on: { 'pc.connected': 'connected', 'clock.restartBackoff': 'restarting' },
            },
            restarting: {
              entry: 'restartIce',
              on: { 'pc.connected': 'connected', 'pc.failed': 'backingOff', 'clock.restartTimeout': 'backingOff' },
            },
          },
        },
      },
    },
    /** Restarts spent: we left the room. */
    failed: {
      entry: 'leaveRoom',
      on: {
        'user.join': 'session',
        'user.rejoin': 'session',
        'user.joinAndRejoin': { target: 'session', actions: 'abandonSocket' },
      },
    },
    /** We hung up. */
    closed: {
      on: {
        'user.join': 'session',
        'user.rejoin': 'session',
        'user.joinAndRejoin': { target: 'session', actions: 'abandonSocket' },
      },
    },
  },
});

/** A snapshot of the reference model. */
export type PeerModelSnapshot = SnapshotFrom<typeof peerReferenceModel>;

/** The call state a UI shows in this model state. */
export function modelStatus(snapshot: PeerModelSnapshot): ModelStatus {
  if (snapshot.matches('idle')) return 'idle';
  if (snapshot.matches('failed')) return 'failed';
  if (snapshot.matches('closed')) return 'closed';
  if (snapshot.matches({ session: 'waiting' })) return 'waiting';
  if (snapshot.matches({ session: { call: 'connecting' } })) return 'connecting';
  if (snapshot.matches({ session: { call: 'connected' } })) return 'connected';
  return 'reconnecting';
}

/**
 * The events a test can make happen in this state: the other peer only offers, answers and
 * trickles while both are in the room; connection changes only during a call (and `connected`
 * only once a remote description is set: ICE has nothing to check before); time passes only
 * where a timer of the policy is pending.
 */
export function possiblePeerModelEvents(snapshot: PeerModelSnapshot): PeerModelEvent[] {
  const { context } = snapshot;
  const events: PeerModelEvent[] = [];
  const inSession = snapshot.matches('session');
  const inCall = snapshot.matches({ session: 'call' });
  if (!inSession) events.push({ type: 'user.join' }, { type: 'user.joinAndRejoin' });
  if (inSession) events.push({ type: 'user.hangUp' }, { type: 'user.rejoin' });
  events.push({ type: context.remote === undefined ? 'remote.join' : 'remote.leave' });
  if (inSession && context.remote !== undefined) {
    events.push({ type: 'remote.offer' });
    if (context.heldCandidates < 2) events.push({ type: 'remote.candidate' });
  }
  if (!inCall) return events;
  events.push({ type: context.signaling === 'have-local-offer' ? 'remote.badAnswer' : 'remote.answer' });
  if (context.signaling === 'have-local-offer') events.push({ type: 'remote.answer' });
  if (context.heldOffer === 'none') events.push({ type: 'pc.negotiationNeeded' });
  const connection = snapshot.value as { session: { call: string } };
  const phase = connection.session.call;
  if (context.remoteDescription && phase !== 'connected') events.push({ type: 'pc.connected' });
  if (phase === 'connected') events.push({ type: 'pc.disconnected' });
  if (phase !== 'backingOff') events.push({ type: 'pc.failed' });
  const wait = {
    connecting: { type: 'clock.connectTimeout', ms: MODEL_TIMING.connectTimeout },
    disconnected: { type: 'clock.disconnectGrace', ms: MODEL_TIMING.disconnectGrace },
    backingOff: {
      type: 'clock.restartBackoff',
      ms: MODEL_TIMING.restartBaseDelay * 2 ** context.restartAttempts,
    },
    restarting: { type: 'clock.restartTimeout', ms: MODEL_TIMING.restartTimeout },
  }[phase] as PeerModelEvent | undefined;
  if (wait !== undefined) events.push(wait);
  return events;
}

/**
 * The model state without its tallies: what path generation tells apart. Tallies grow without
 * bound along a path; the runner replays each path on a fresh model to get them right.
 */
export function serializePeerModelState(snapshot: PeerModelSnapshot): string {
  const { tally: _tally, ...rest } = snapshot.context;
  return JSON.stringify({ value: snapshot.value, ...rest });
}
