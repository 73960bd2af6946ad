/**
 * Rooms shared through a real redis-server: joins raced from many simulated nodes (each its own
 * store and its own Redis connection) never put more than two peers in a room, and what each
 * joiner was told (admitted in a role, or refused) agrees with the room that results.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMachine, type RoomEvent, type RoomPeer } from '../src/machines/room-machine.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisRoomStore, type RoomStep } from '../src/signaling/cluster/redis-room-store.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

const NODES = 4;

let redis: RedisServer;
const links: RedisLink[] = [];
const stores: Array<RedisRoomStore<typeof roomMachine>> = [];

beforeAll(async () => {
  redis = await startRedisServer();
  for (let node = 0; node < NODES; node++) {
    const link = new RedisLink({ url: redis.url, role: `node ${node}`, autoPipelining: true });
    await link.whenUp();
    links.push(link);
    stores.push(
      new RedisRoomStore({
        link,
        machine: roomMachine,
        input: (room) => ({ room }),
        isDisposable: (snapshot) => snapshot.value === 'empty',
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(links.map((link) => link.close()));
  await redis?.stop();
});

type Step = RoomStep<typeof roomMachine>;

describe('rooms in Redis across nodes', () => {
  it('admits two of many concurrent joiners, whatever nodes they reach, and refuses the rest', async () => {
    let run = 0;
    let contended = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ node: fc.nat({ max: NODES - 1 }), leaves: fc.boolean() }), {
          minLength: 1,
          maxLength: 14,
        }),
        async (joiners) => {
          run += 1;
          const room = `race-${run}`;
          const joined: Array<Step | undefined> = [];
          const left = new Set<string>();
          const stepped: Step[] = [];
          await Promise.all(
            joiners.map(async ({ node, leaves }, index) => {
              const peerId = `p${index}`;
              const step = await stores[node].step(room, { type: 'room.join', peerId } satisfies RoomEvent);
              joined[index] = step;
              stepped.push(step);
              const admitted = step.snapshot.context.peers.some((peer) => peer.id === peerId);
              if (admitted && leaves) {
                // Leave through another node: membership is the room's, not the node's.
                stepped.push(await stores[(node + 1) % NODES].step(room, { type: 'room.leave', peerId }));
                left.add(peerId);
              }
            }),
          );
          contended += stepped.filter((step) => step.attempts > 1).length;

          for (const step of stepped) expect(step.snapshot.context.peers.length).toBeLessThanOrEqual(2);
          const final = await stores[0].read(room);
          const finalPeers = final?.context.peers ?? [];
          expect(finalPeers.length).toBeLessThanOrEqual(2);
          expect(new Set(finalPeers.map((peer) => peer.role)).size).toBe(finalPeers.length);

          const admitted = new Set<string>();
          joiners.forEach((_, index) => {
            const peerId = `p${index}`;
            const step = joined[index]!;
            const member = step.snapshot.context.peers.find((peer) => peer.id === peerId);
            const types = step.effects.map((effect) => effect.type);
            if (member !== undefined) {
              admitted.add(peerId);
              expect(types).toContain('welcomePeer');
              expect(step.effects[0]).toEqual({
                type: 'welcomePeer',
                params: { peerId, role: member.role, room },
              });
            } else {
              // Refused: the room it saw was full, and it told the joiner so.
              expect(step.snapshot.matches('ready')).toBe(true);
              expect(step.effects).toEqual([{ type: 'refuseRoomFull', params: { peerId, room } }]);
            }
          });
          // Who is in the room at the end: exactly the admitted peers that did not leave.
          const stayed = [...admitted].filter((peerId) => !left.has(peerId));
          expect(finalPeers.map((peer) => peer.id).sort()).toEqual(stayed.sort());
          // Each seat is taken once, and again only after a leave freed it.
          expect(admitted.size).toBeLessThanOrEqual(2 + left.size);
          if (left.size === 0) expect(admitted.size).toBe(Math.min(2, joiners.length));
          // An empty room is deleted, not kept.
          if (stayed.length === 0) expect(final).toBeUndefined();
        },
      ),
      { numRuns: 60, endOnFailure: true },
    );
    // The race really happened: some steps found their room changed and were recomputed.
    expect(contended).toBeGreaterThan(0);
  });

  it('ignores a leave of a peer that is not in the room, without writing', async () => {
    await stores[0].step('quiet', { type: 'room.join', peerId: 'a' });
    const step = await stores[1].step('quiet', { type: 'room.leave', peerId: 'stranger' });
    expect(step.effects).toEqual([]);
    const seats = (peers: readonly RoomPeer[] | undefined) => peers?.map(({ id, role }) => ({ id, role }));
    expect(seats(step.snapshot.context.peers)).toEqual([{ id: 'a', role: 'impolite' }]);
    expect(seats((await stores[2].read('quiet'))?.context.peers)).toEqual([{ id: 'a', role: 'impolite' }]);
  });
});
