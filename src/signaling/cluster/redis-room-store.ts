/**
 * Rooms shared by every node through Redis, each kept as a snapshot of a state machine (the room
 * machine in Parley) and advanced one event at a time, atomically across nodes.
 *
 * The room logic stays in the machine: a step reads the room's snapshot, runs the machine's pure
 * transition here in Node (src/signaling/snapshot-stepper.ts, as RoomRegistry does in memory),
 * and writes the result back only if the room is still what was read: a compare-and-set in one
 * Lua script. If another node got there first, the step is recomputed on the newer snapshot,
 * so every event is applied to the state it was decided on, and no two nodes can both admit a
 * second peer into a room that had one.
 *
 * Why a compare-and-set script and not WATCH/MULTI/EXEC: WATCH belongs to the connection, so
 * concurrent steps sharing one connection would watch (and clear) each other's keys; WATCH
 * would need a connection per step in flight. The script needs one pipelined connection. The
 * compare is on the whole stored value, and that is enough: if a room went from A to B and back
 * to A in between, stepping A again gives what stepping A gave, since the transition is pure.
 *
 * The effects of the winning attempt come back as data (`{ type, params }`), for the caller to
 * carry out or route to the node that hosts the peer they concern. Effects of attempts that
 * lost are dropped: they were never decided.
 *
 * Limits: machines without history states or spawned actors (the stepper's own limit), whose
 * context is plain JSON.
 */
import type { Result } from 'ioredis';
import type { AnyStateMachine, EventFromLogic, InputFrom, SnapshotFrom } from 'xstate';
import { createSnapshotStepper, type SnapshotStepper } from '../snapshot-stepper.js';
import { ClusterError } from './cluster-error.js';
import type { RedisLink } from './redis-link.js';

/** An effect the machine decided on, for the caller to carry out (an action's name and params). */
export interface ClusterEffect {
  readonly type: string;
  readonly params: unknown;
}

/** What one step came to. */
export interface RoomStep<TMachine extends AnyStateMachine> {
  /** The room's snapshot after the event (stored, or removed when disposable). */
  readonly snapshot: SnapshotFrom<TMachine>;
  /** The machine's effects of this step, in order. */
  readonly effects: readonly ClusterEffect[];
  /** How many times the step was computed (1 without contention). */
  readonly attempts: number;
}

/** How to build a {@link RedisRoomStore}. */
export interface RedisRoomStoreOptions<TMachine extends AnyStateMachine> {
  readonly link: RedisLink;
  /** The machine every room runs, with or without provided actions (only their names and params are used). */
  readonly machine: TMachine;
  /** The input of a new room's machine. */
  readonly input: (key: string) => InputFrom<TMachine>;
  /** Whether a room in `snapshot` is gone (nobody in it): its key is deleted instead of written. */
  readonly isDisposable: (snapshot: SnapshotFrom<TMachine>) => boolean;
  /** Prefix of the Redis keys; default `parley:room:`. */
  readonly prefix?: string;
  /** Attempts before giving up with `contention`; default 64. */
  readonly maxAttempts?: number;
}

/**
 * Compare-and-set: write ARGV[2] (or delete the key when it is empty) if the key still holds
 * ARGV[1] (empty: does not exist). Returns 1, or 0 and what the key holds now.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return {0, current} end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return {1, ''}
`;

interface StoredSnapshot {
  readonly value: unknown;
  readonly context: unknown;
  readonly status: string;
}

type CompareAndSetReply = [0 | 1, string];

/** Rooms in Redis, stepped atomically across nodes. */
export class RedisRoomStore<TMachine extends AnyStateMachine> {
  readonly #link: RedisLink;
  readonly #machine: TMachine;
  readonly #stepper: SnapshotStepper<TMachine>;
  readonly #input: (key: string) => InputFrom<TMachine>;
  readonly #isDisposable: (snapshot: SnapshotFrom<TMachine>) => boolean;
  readonly #prefix: string;
  readonly #maxAttempts: number;

  constructor(options: RedisRoomStoreOptions<TMachine>) {
    this.#link = options.link;
    this.#machine = options.machine;
    this.#stepper = createSnapshotStepper(options.machine);
    this.#input = options.input;
    this.#isDisposable = options.isDisposable;
    this.#prefix = options.prefix ?? 'parley:room:';
    this.#maxAttempts = options.maxAttempts ?? 64;
    if (typeof this.#link.redis.parleyCompareAndSet !== 'function') {
      this.#link.redis.defineCommand('parleyCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET });
    }
  }

  /**
   * Feeds `event` to room `key` (created from the machine's initial state if absent), atomically
   * with respect to every other node. Rejects with a {@link ClusterError}: `redis-unavailable`
   * (nothing is known to have changed), or `contention`.
   */
  async step(key: string, event: EventFromLogic<TMachine>): Promise<RoomStep<TMachine>> {
    const redisKey = this.#prefix + key;
    let stored = await this.#link.run('reading a room', (redis) => redis.get(redisKey));
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const current = stored === null || stored === '' ? this.#initial(key) : this.#decode(stored);
      const [next, actions] = this.#stepper.step(current, event);
      const effects = actions
        .filter((action) => !action.type.startsWith('xstate.'))
        .map(({ type, params }) => ({ type, params }));
      const encoded = this.#isDisposable(next) ? '' : this.#encode(next);
      const previous = stored ?? '';
      // Nothing to write (an ignored event): the answer holds for the snapshot that was read.
      if (encoded === previous) return { snapshot: next, effects, attempts: attempt };
      const [written, now] = await this.#link.run('stepping a room', (redis) =>
        redis.parleyCompareAndSet(redisKey, previous, encoded),
      );
      if (written === 1) return { snapshot: next, effects, attempts: attempt };
      stored = now;
    }
    throw ClusterError.contention(key, this.#maxAttempts);
  }

  /** Room `key`'s snapshot, or undefined when it does not exist. */
  async read(key: string): Promise<SnapshotFrom<TMachine> | undefined> {
    const stored = await this.#link.run('reading a room', (redis) => redis.get(this.#prefix + key));
    return stored === null ? undefined : this.#decode(stored);
  }

  #initial(key: string): SnapshotFrom<TMachine> {
    return this.#stepper.initial(this.#input(key))[0];
  }

  #encode(snapshot: SnapshotFrom<TMachine>): string {
    const { value, context, status } = snapshot as unknown as StoredSnapshot;
    return JSON.stringify({ value, context, status } satisfies StoredSnapshot);
  }

  #decode(stored: string): SnapshotFrom<TMachine> {
    const { value, context, status } = JSON.parse(stored) as StoredSnapshot;
    return this.#machine.resolveState({ value, context, status } as never) as SnapshotFrom<TMachine>;
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** See COMPARE_AND_SET in redis-room-store.ts. */
    parleyCompareAndSet(key: string, expected: string, next: string): Result<CompareAndSetReply, Context>;
  }
}
