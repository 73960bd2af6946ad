/**
 * The cluster's Prometheus metrics, added to a server's registry (src/signaling/metrics.ts builds
 * it; with `--redis` the server passes its registry here). Like the rest, they read state when
 * scraped. docs/scaling.md says what to alert on.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RedisLink } from './redis-link.js';

/** What the cluster metrics read. */
export interface ClusterMetricSources {
  /** Every Redis connection of the node (commands, relay reader, ...). */
  readonly links: readonly RedisLink[];
  /** Cross-node relay counts, when the node relays (see RelayBus.stats). A ClusterNode is such a source. */
  readonly bus?: { readonly stats: { readonly sent: number; readonly delivered: number; readonly failed: number } };
  /** The seats this node holds (NodeDirectory.localSeats: peer → room). A ClusterNode's directory is such a source. */
  readonly directory?: { readonly localSeats: ReadonlyMap<string, string> };
}

/**
 * Registers `parley_redis_up` (and the relay counters, and this node's seats and rooms) in
 * `registry`: `registerClusterMetrics(registry, clusterNode)`.
 */
export function registerClusterMetrics(registry: Registry, sources: ClusterMetricSources): void {
  new Gauge({
    name: 'parley_redis_up',
    help: '1 while every Redis connection of this node is up, 0 while any is down (joins are refused then).',
    registers: [registry],
    collect() {
      this.set(sources.links.every((link) => link.up) ? 1 : 0);
    },
  });
  const directory = sources.directory;
  if (directory !== undefined) {
    // The rooms are in Redis, shared by every node (parley_rooms counts the in-memory registry,
    // empty with --redis): each node counts its own seats, and the rooms they are in.
    new Gauge({
      name: 'parley_cluster_seats',
      help: 'With --redis: seats this node holds (its peers, connected or held for their recovery).',
      registers: [registry],
      collect() {
        this.set(directory.localSeats.size);
      },
    });
    new Gauge({
      name: 'parley_cluster_rooms',
      help: 'With --redis: rooms where this node holds a seat (every room is in Redis, shared by the nodes).',
      registers: [registry],
      collect() {
        this.set(new Set(directory.localSeats.values()).size);
      },
    });
  }
  const relay = sources.bus;
  if (relay === undefined) return;
  const seen = { sent: 0, delivered: 0, failed: 0 };
  new Counter({
    name: 'parley_cluster_relay_messages_total',
    help: 'Messages relayed through Redis to peers on other nodes: sent, delivered here, failed to send (Redis down).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      for (const outcome of ['sent', 'delivered', 'failed'] as const) {
        const total = relay.stats[outcome];
        this.inc({ outcome }, Math.max(0, total - seen[outcome]));
        seen[outcome] = total;
      }
    },
  });
}
