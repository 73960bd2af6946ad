/**
 * The Redis keys the cluster uses, in one place (docs/scaling.md lists them). Every key starts
 * with a prefix (default `parley:`), so several Parley clusters can share one Redis.
 */

/** The keys of one cluster, under `prefix`. */
export class ClusterKeys {
  constructor(readonly prefix = 'parley:') {}

  /** Set of the ids of the nodes that are members (alive, or dead and not yet reaped). */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }

  /** Hash: peer identity → the id of the node that hosts it. */
  get where(): string {
    return `${this.prefix}where`;
  }

  /** Hash: dead node id → id of the node releasing its seats. */
  get reaping(): string {
    return `${this.prefix}reaping`;
  }

  /** String with a TTL, refreshed by node `node`'s heartbeat: it exists while the node lives. */
  alive(node: string): string {
    return `${this.prefix}node:${node}:alive`;
  }

  /** Hash: peer identity → room key, the seats node `node` holds. */
  seats(node: string): string {
    return `${this.prefix}node:${node}:seats`;
  }

  /**
   * String with a TTL, set by node `node` when it stops gracefully: while it exists the node's
   * seats are held for their peers to resume elsewhere, and no survivor releases them.
   */
  leaving(node: string): string {
    return `${this.prefix}node:${node}:leaving`;
  }

  /** Hash: the seats of dead node `node` being released. */
  releasing(node: string): string {
    return `${this.prefix}node:${node}:releasing`;
  }

  /** String with the window's TTL: held session `pid` (see redis-session-store.ts). */
  session(pid: string): string {
    return `${this.prefix}session:${pid}`;
  }

  /** List of offset, packet, offset, packet... emitted to held session `pid`. */
  sessionPackets(pid: string): string {
    return `${this.prefix}session:${pid}:packets`;
  }

  /** Stream of the packets relayed to sockets on node `node`. */
  relay(node: string): string {
    return `${this.prefix}relay:${node}`;
  }
}
