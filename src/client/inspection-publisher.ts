/**
 * Publishes this browser's machines to Parley's live inspector (docs/inspector.md): the peer
 * machine and the signaling link. Nothing is sent unless the server asks: a Parley running with
 * `--inspect` emits `inspector { enabled: true }` to a peer after it joined; from then on the
 * publisher emits `inspect` with batches of events in @statelyai/inspect's format, starting with
 * an `@xstate.actor` announcement of each machine with its current snapshot. Payloads are
 * redacted and shortened first (inspection-redaction.ts).
 */
import { createActor, type Actor, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import { signalingLinkMachine, type SignalingLinkMachine } from '../machines/signaling-link-machine.js';
import { createInspectionBatcher, type InspectionBatcherOptions } from './inspection-batcher.js';
import { actorAnnouncement, convertInspectionEvent, type PublishedActor } from './inspection-conversion.js';
import { INSPECT_LIMITS, type InspectionEvent as StreamEvent } from '../protocol/inspection-events.js';
import type { SignalingErrorPayload } from '../protocol/signaling-error.js';
import type { SignalingSocket } from './signaling-client.js';

/** The kinds of actor a browser publishes. */
export type BrowserActorKind = 'peer' | 'signaling';

/** How to build an {@link InspectionPublisher}. */
export interface InspectionPublisherOptions {
  /** Batching; default one batch every 100 ms at most, within the server's INSPECT_LIMITS. */
  readonly batching?: Omit<InspectionBatcherOptions<StreamEvent>, 'send' | 'onOversized' | 'onOverflow'>;
  /** Wall-clock time for `createdAt`; default `Date.now`. */
  readonly now?: () => number;
  /** Receives events too large to publish (dropped). */
  readonly onWarning?: (message: string, cause: unknown) => void;
}

/** Inspection of one adapter's machines over its current signaling socket. */
export interface InspectionPublisher {
  /** The observer to pass as `createActor(machine, { inspect })` for the actor of this kind. */
  observe(kind: BrowserActorKind): Observer<InspectionEvent>;
  /** The signaling link's actor, driven from the attached socket's events. */
  readonly link: Actor<SignalingLinkMachine>;
  /** Whether the server asked the current socket for inspection. */
  readonly enabled: boolean;
  /** Watches a socket the adapter opened for a join; events go over it once the server asks. */
  attach(socket: SignalingSocket): void;
  /** The adapter dropped its socket: sends what is queued, then stops using it. */
  detach(): void;
  /** Stops publishing and the link actor. */
  stop(): void;
}

/** Creates a publisher; call {@link InspectionPublisher.attach} with each socket the adapter opens. */
export function createInspectionPublisher(options: InspectionPublisherOptions = {}): InspectionPublisher {
  const now = options.now ?? Date.now;
  const warn = options.onWarning ?? (() => {});
  /** The root actors seen, by kind, to announce when the server asks. */
  const actors = new Map<BrowserActorKind, { ref: AnyActorRef; published: PublishedActor }>();
  let socket: SignalingSocket | undefined;
  let unbind: (() => void) | undefined;
  let enabled = false;

  const batcher = createInspectionBatcher<StreamEvent>({
    maxEvents: INSPECT_LIMITS.maxBatchEvents,
    maxBytes: INSPECT_LIMITS.maxBatchChars,
    ...options.batching,
    send: (batch) => {
      if (enabled && socket?.connected === true) socket.emit('inspect', batch);
    },
    onOversized: (event, bytes) =>
      warn(`an inspection event of ${bytes} bytes is too large to publish; dropped`, { type: event.type }),
    // Events were lost: the viewers' picture is only right again after a fresh announcement.
    onOverflow: () => announce(),
  });

  const announce = () => {
    for (const { ref, published } of actors.values()) batcher.push(actorAnnouncement(ref, published, now()));
  };

  const observe = (kind: BrowserActorKind): Observer<InspectionEvent> => {
    const published: PublishedActor = { id: kind, tag: { kind } };
    return {
      next(event) {
        if (event.type === '@xstate.actor' && event.actorRef.sessionId === event.rootId) {
          // Announced when the server asks: the actor has no snapshot yet while it is created.
          actors.set(kind, { ref: event.actorRef as AnyActorRef, published });
          return;
        }
        if (!enabled) return;
        const converted = convertInspectionEvent(event, published, now());
        if (converted !== undefined) batcher.push(converted);
      },
    };
  };

  const link = createActor(signalingLinkMachine, { inspect: observe('signaling') });
  link.start();

  const disable = () => {
    enabled = false;
    batcher.clear();
  };

  const detach = () => {
    if (socket === undefined) return;
    batcher.flush();
    unbind?.();
    socket = undefined;
    unbind = undefined;
    disable();
    link.send({ type: 'socket.close' });
  };

  return {
    observe,
    link,
    get enabled() {
      return enabled;
    },
    attach(opened) {
      detach();
      socket = opened;
      link.send({ type: 'socket.open' });
      if (opened.connected) link.send({ type: 'socket.connect' });
      const onConnect = () => link.send({ type: 'socket.connect' });
      const onDisconnect = (reason: string) => {
        // The server asks again once the socket is back (rejoined, recovered or resumed).
        disable();
        link.send({ type: 'socket.disconnect', reason });
      };
      const onConnectError = (error: Error & { data?: unknown }) =>
        link.send({ type: 'socket.connectError', message: error.message, refused: error.data !== undefined });
      const onInspector = (payload: unknown) => {
        disable();
        if (typeof payload !== 'object' || payload === null || (payload as { enabled?: unknown }).enabled !== true)
          return;
        enabled = true;
        announce();
      };
      const onError = (payload: unknown) => {
        // The server took none of a batch (docs/protocol.md): stop until it asks again.
        if ((payload as Partial<SignalingErrorPayload> | undefined)?.code !== 'inspect-refused') return;
        warn('the server refused inspection events; publishing stopped', payload);
        disable();
      };
      opened.on('connect', onConnect);
      opened.on('disconnect', onDisconnect);
      opened.on('connect_error', onConnectError);
      opened.on('inspector', onInspector);
      opened.on('error', onError);
      unbind = () => {
        opened.off('connect', onConnect);
        opened.off('disconnect', onDisconnect);
        opened.off('connect_error', onConnectError);
        opened.off('inspector', onInspector);
        opened.off('error', onError);
      };
    },
    detach,
    stop() {
      detach();
      link.stop();
    },
  };
}
