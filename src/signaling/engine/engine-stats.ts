/**
 * What one engine counts for operators: sessions closed by reason, packets dropped for the
 * message rate, and requests refused by kind. Plain numbers, bumped on the paths where they
 * happen and read when metrics are scraped (src/signaling/metrics.ts).
 */
import type { EngineCloseReason } from '../../machines/engine-session-machine.js';

/** Why a request was refused before it became (or reached) a session. */
export type RefusalKind = 'origin' | 'address limit' | 'server limit' | 'concurrent bodies';

/** Counters of one engine since it started. */
export class EngineStats {
  /** Sessions closed, by the engine's reason. */
  readonly closed = new Map<EngineCloseReason, number>();
  /** Requests refused, by kind. */
  readonly refused = new Map<RefusalKind, number>();
  /** Socket.IO packets dropped because their client exceeded its message rate. */
  droppedMessages = 0;
  /**
   * Connection state recovery: sockets held after their transport went away, given back to
   * their client, and held ones that expired (window passed, bounds exceeded, refused).
   */
  readonly recovery = { held: 0, recovered: 0, expired: 0 };

  countClose(reason: EngineCloseReason): void {
    this.closed.set(reason, (this.closed.get(reason) ?? 0) + 1);
  }

  countRefusal(kind: RefusalKind): void {
    this.refused.set(kind, (this.refused.get(kind) ?? 0) + 1);
  }
}
