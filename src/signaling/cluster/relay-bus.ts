/**
 * Delivers text packets to sockets hosted on other nodes, through one Redis stream per node.
 *
 * Why streams and not pub/sub (docs/scaling.md has the whole argument): a pub/sub message is
 * pushed to whoever is subscribed at that instant, so everything published while a node's
 * subscriber connection is reconnecting (or after Redis cut it as a slow consumer) is gone
 * without a trace. A stream keeps its entries, and the reader resumes from the last id it
 * handled: a flap of the reading connection delays packets and loses none. The price is memory
 * for the entries until they are read, so the reader trims what it has handled, and senders cap
 * each stream (`MAXLEN ~`) in case its reader is gone for good.
 *
 * Order: a node sends every packet over its one command connection, Redis appends them in the
 * order it receives them, and the reader hands them over in stream order, so the packets from
 * one sender to one receiver arrive in the order they were sent. A packet whose send failed
 * (Redis down) is reported to the sender and not retried: later packets may arrive, earlier
 * ones never after them.
 *
 * Cost: the packets sent to one node during one turn of the event loop go out as one stream
 * entry (one command, one entry to read), so under load a packet costs a share of a command
 * rather than a whole one, and at low load nothing waits longer than the current turn.
 */
import type { Redis, Result } from 'ioredis';
import { ClusterKeys } from './cluster-keys.js';
import type { RedisLink } from './redis-link.js';

/** How to build a {@link RelayBus}. */
export interface RelayBusOptions {
  /** This node's id (the stream it reads). */
  readonly nodeId: string;
  /** The node's command connection: every send goes through it, in order. */
  readonly commands: RedisLink;
  /** A connection for this bus's blocking reads alone (without a command timeout); the bus closes it. */
  readonly reader: RedisLink;
  /** Hands a packet to the local socket `socketId` (which may have gone meanwhile). */
  readonly deliver: (socketId: string, text: string) => void;
  readonly keys?: ClusterKeys;
  /**
   * Most entries a stream keeps when its reader does not keep up (approximate; an entry is one
   * turn's packets from one node); default 10,000.
   */
  readonly maxBacklog?: number;
  /** Entries handed over per read; default 128. */
  readonly batch?: number;
  /** Most packets in one entry; default 256. */
  readonly packetsPerEntry?: number;
  /** How long a read waits for entries before it asks again; default 2000 ms. */
  readonly blockMillis?: number;
}

/** What a send came to: appended to the stream, or the node it was meant for is not alive. */
export type RelayOutcome = 'sent' | 'node-gone';

/** Counters for the metrics (parley_cluster_relay_messages_total). */
export interface RelayStats {
  sent: number;
  delivered: number;
  failed: number;
}

/**
 * Append packets to a node's stream as one entry (socket id, text, socket id, text...), unless
 * the node is not alive: packets for a dead node would never be read. KEYS: stream, alive key.
 * ARGV: cap, then the packets.
 */
const SEND = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 2))
return 1
`;

/** Packets for one node, sent together at the end of this turn of the event loop. */
interface Outgoing {
  readonly nodeId: string;
  /** Socket id, text, socket id, text... */
  readonly fields: string[];
  readonly sent: Promise<RelayOutcome>;
  resolve(outcome: RelayOutcome): void;
  reject(error: unknown): void;
}

/** How often the reader trims what it has handed over: entries, or time. */
const TRIM_EVERY_ENTRIES = 256;
const TRIM_EVERY_MILLIS = 1000;

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

/** The cross-node relay of one node: sends to others' streams, reads its own. */
export class RelayBus {
  readonly stats: RelayStats = { sent: 0, delivered: 0, failed: 0 };
  readonly #nodeId: string;
  readonly #commands: RedisLink;
  readonly #reader: RedisLink;
  readonly #deliver: (socketId: string, text: string) => void;
  readonly #keys: ClusterKeys;
  readonly #maxBacklog: string;
  readonly #batch: number;
  readonly #packetsPerEntry: number;
  readonly #blockMillis: number;
  /** Packets waiting for the end of this turn, by node. */
  readonly #outgoing = new Map<string, Outgoing>();
  #flushScheduled = false;
  /** The id of the last entry handed over: reads resume after it, across reconnects. */
  #lastId = '0-0';
  #running: Promise<void> | undefined;
  #stopped = false;
  /** Entries handed over since the last trim, and when that was. */
  #untrimmed = 0;
  #trimmedAt = 0;
  /** Resolves when {@link stop} is called: ends a wait for the link to come back. */
  readonly #stopping: Promise<void>;
  #stop: () => void = () => {};

  constructor(options: RelayBusOptions) {
    this.#nodeId = options.nodeId;
    this.#commands = options.commands;
    this.#reader = options.reader;
    this.#deliver = options.deliver;
    this.#keys = options.keys ?? new ClusterKeys();
    this.#maxBacklog = String(options.maxBacklog ?? 10_000);
    this.#batch = options.batch ?? 128;
    this.#packetsPerEntry = options.packetsPerEntry ?? 256;
    this.#blockMillis = options.blockMillis ?? 2000;
    this.#stopping = new Promise((resolve) => (this.#stop = resolve));
    if (typeof this.#commands.redis.parleyRelaySend !== 'function') {
      this.#commands.redis.defineCommand('parleyRelaySend', { numberOfKeys: 2, lua: SEND });
    }
  }

  /**
   * Sends `text` to socket `socketId` on node `nodeId`, with the other packets sent to that node
   * in this turn of the event loop. Resolves once Redis has them (`sent`), or with `node-gone`;
   * rejects with `redis-unavailable` when Redis is away (then they were not sent, or, if the
   * connection dropped mid-command, possibly sent: at most once). Packets sent in one turn share
   * one promise.
   */
  send(nodeId: string, socketId: string, text: string): Promise<RelayOutcome> {
    let outgoing = this.#outgoing.get(nodeId);
    if (outgoing === undefined) {
      outgoing = this.#open(nodeId);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    }
    outgoing.fields.push(socketId, text);
    if (outgoing.fields.length >= 2 * this.#packetsPerEntry) this.#sendEntry(outgoing);
    return outgoing.sent;
  }

  #open(nodeId: string): Outgoing {
    let resolve!: (outcome: RelayOutcome) => void;
    let reject!: (error: unknown) => void;
    const sent = new Promise<RelayOutcome>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    // A sender that does not wait for the outcome must not leave an unhandled rejection.
    sent.catch(() => {});
    const outgoing: Outgoing = { nodeId, fields: [], sent, resolve, reject };
    this.#outgoing.set(nodeId, outgoing);
    return outgoing;
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const outgoing of [...this.#outgoing.values()]) this.#sendEntry(outgoing);
  }

  #sendEntry(outgoing: Outgoing): void {
    this.#outgoing.delete(outgoing.nodeId);
    const { nodeId, fields } = outgoing;
    const packets = fields.length / 2;
    this.#commands
      .run('relaying packets', (redis) =>
        redis.parleyRelaySend(this.#keys.relay(nodeId), this.#keys.alive(nodeId), this.#maxBacklog, ...fields),
      )
      .then(
        (appended) => {
          if (appended === 1) this.stats.sent += packets;
          outgoing.resolve(appended === 1 ? 'sent' : 'node-gone');
        },
        (error: unknown) => {
          this.stats.failed += packets;
          outgoing.reject(error);
        },
      );
  }

  /** Starts reading this node's stream (from its start: node ids are new for each process). */
  start(): void {
    this.#running ??= this.#readLoop();
  }

  /** Stops reading and closes the reader's connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop();
    // Closing the connection ends a blocked read at once.
    await this.#reader.close();
    await this.#running;
  }

  async #readLoop(): Promise<void> {
    const stream = this.#keys.relay(this.#nodeId);
    while (!this.#stopped) {
      let reply: StreamReply;
      try {
        await Promise.race([this.#reader.whenUp(60_000), this.#stopping]);
        if (this.#stopped) break;
        reply = await this.#reader.run('reading relayed packets', (redis: Redis) =>
          redis.xread('COUNT', this.#batch, 'BLOCK', this.#blockMillis, 'STREAMS', stream, this.#lastId),
        );
      } catch {
        // Down (logged by the link) or stopping: wait for the link, then resume after #lastId.
        continue;
      }
      const entries = reply?.[0]?.[1];
      if (entries === undefined || entries.length === 0) continue;
      for (const [id, fields] of entries) {
        this.#lastId = id;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          this.stats.delivered += 1;
          this.#deliver(fields[i], fields[i + 1]);
        }
      }
      // Handed over: the stream need not keep them. Trimmed every few hundred entries or every
      // second, not after each read, which at a low rate would double the commands per packet.
      // A failure here only delays the trim.
      this.#untrimmed += entries.length;
      const now = Date.now();
      if (this.#untrimmed >= TRIM_EVERY_ENTRIES || now - this.#trimmedAt >= TRIM_EVERY_MILLIS) {
        this.#untrimmed = 0;
        this.#trimmedAt = now;
        this.#commands
          .run('trimming relayed packets', (redis) => redis.xtrim(stream, 'MINID', '~', this.#lastId))
          .catch(() => {});
      }
    }
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** See SEND in relay-bus.ts. */
    parleyRelaySend(stream: string, alive: string, cap: string, ...packets: string[]): Result<0 | 1, Context>;
  }
}
