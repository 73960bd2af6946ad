/** What every session of one {@link ProtocolServer} shares: options, namespaces, deadline queues. */
import type { EngineSession } from './engine-session.js';
import type { DeadlineQueue } from './deadline-queue.js';
import type { ResolvedEngineOptions } from './engine-options.js';
import type { NamespaceHandler } from './namespace-handler.js';
import type { PollingTombstones } from './polling-tombstones.js';

/** Server-wide state a session reaches through one reference. */
export interface EngineContext {
  readonly options: ResolvedEngineOptions;
  readonly namespaces: ReadonlyMap<string, NamespaceHandler>;
  readonly sessions: Map<string, EngineSession>;
  /** Pings due `pingInterval` after the last pong (or the open). */
  readonly pingQueue: DeadlineQueue<EngineSession>;
  /** Pongs due `pingTimeout` after a ping. */
  readonly pongQueue: DeadlineQueue<EngineSession>;
  /** A first CONNECT due `connectTimeout` after the open. */
  readonly connectQueue: DeadlineQueue<EngineSession>;
  /** An upgrade due `upgradeTimeout` after the probing WebSocket opened. */
  readonly upgradeQueue: DeadlineQueue<EngineSession>;
  /** Polling sessions the server closed with no GET pending: their next GET gets `1`. */
  readonly tombstones: PollingTombstones;
  /** The open packet's JSON minus the sid, per transport (computed once). */
  readonly openPacketTail: { readonly polling: string; readonly websocket: string };
}
