/**
 * Records of recoverable sessions in a real redis-server (src/signaling/cluster/redis-session-store.ts):
 * a session is claimed once whatever races it, only in its namespace and only while its node is
 * a member of the cluster; a node forgets only its own record; what a held socket kept is handed
 * to the claimant in order, and is gone with the window.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisSessionStore, type SessionRecord } from '../src/signaling/cluster/redis-session-store.js';
import type { HeldLog } from '../src/signaling/engine/shared-session-store.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;
const links: RedisLink[] = [];
const stores: RedisSessionStore[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  for (const node of ['a', 'b', 'c']) {
    const link = new RedisLink({ url: redis.url, role: `node ${node}`, autoPipelining: true });
    await link.whenUp();
    links.push(link);
    stores.push(new RedisSessionStore({ link }));
  }
  // Node 'a' is alive; node 'dead' stopped beating but is not reaped yet; 'gone' was reaped.
  await links[0].redis.set('parley:node:a:alive', '1');
  await links[0].redis.sadd('parley:nodes', 'a', 'dead');
});
afterAll(async () => {
  await Promise.all(links.map((link) => link.close()));
  await redis?.stop();
});

const record = (sid: string, node = 'a', generation = 0): SessionRecord => ({
  sid,
  nsp: '/',
  data: { room: 'r', key: 'r', peerId: `peer-${sid}`, tokenPartner: null },
  node,
  generation,
});

const held = (packets: HeldLog['packets'], windowMillis = 120_000): HeldLog => ({
  tag: 'AbCdEfGh',
  first: 40,
  floor: 41,
  packets,
  windowMillis,
});

describe('session records in Redis', () => {
  it('hands a session to exactly one of several concurrent claims, saying its node still beats', async () => {
    const [a, b, c] = stores;
    await a.track('pid-1', record('s1'));
    const claims = await Promise.all([b.claim('pid-1', '/'), c.claim('pid-1', '/'), b.claim('pid-1', '/')]);
    const won = claims.filter((claim) => claim !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toEqual({ session: record('s1'), holderAlive: true, held: undefined });
    expect(await c.claim('pid-1', '/')).toBeUndefined();
  });

  it('gives the claimant what a held socket kept, in order, binary attachments included', async () => {
    const [a, b] = stores;
    await a.track('pid-2', record('s2', 'dead'));
    await a.persist('pid-2', held([{ offset: 42, packet: '2["data",{"candidate":1}]' }]));
    expect(
      await a.append('pid-2', 120_000, {
        offset: 43,
        packet: ['51-["file",{"_placeholder":true,"num":0}]', Buffer.from([0, 1, 255])],
      }),
    ).toBe(true);
    expect(await a.append('pid-2', 120_000, { offset: 44, packet: '2["chat","hé"]' })).toBe(true);
    const claimed = await b.claim('pid-2', '/');
    expect(claimed?.holderAlive).toBe(false);
    expect(claimed?.held).toEqual({
      tag: 'AbCdEfGh',
      first: 40,
      floor: 41,
      windowMillis: 0,
      packets: [
        { offset: 42, packet: '2["data",{"candidate":1}]' },
        { offset: 43, packet: ['51-["file",{"_placeholder":true,"num":0}]', Buffer.from([0, 1, 255])] },
        { offset: 44, packet: '2["chat","hé"]' },
      ],
    });
    // Taken: nothing more is kept for it.
    expect(await a.append('pid-2', 120_000, { offset: 45, packet: '2["late"]' })).toBe(false);
  });

  it('refuses another namespace, and a session of a node that left the cluster (deleting it)', async () => {
    const [a, b] = stores;
    await a.track('pid-3', record('s3'));
    expect(await b.claim('pid-3', '/admin')).toBeUndefined();
    await a.track('pid-4', record('s4', 'gone'));
    expect(await b.claim('pid-4', '/')).toBeUndefined();
    expect(await links[1].redis.exists('parley:session:pid-4')).toBe(0);
    expect((await b.claim('pid-3', '/'))?.session).toEqual(record('s3'));
  });

  it('lets a node forget only the record it wrote, in the generation it wrote it', async () => {
    const [a, b] = stores;
    await a.track('pid-5', record('s5', 'a', 2));
    expect(await b.release('pid-5', 'b', 2)).toBe(false);
    expect(await a.release('pid-5', 'a', 1)).toBe(false);
    expect(await a.release('pid-5', 'a', 2)).toBe(true);
    expect(await b.claim('pid-5', '/')).toBeUndefined();
  });

  it('gives nothing to a claim when another connection recovers the session while it is in flight', async () => {
    const [a] = stores;
    // Node b's claim reads generation 0; before its compare-and-delete runs, the session is
    // recovered on node a (generation 1), as a second reconnect with the same pid would do.
    let recoveredMeanwhile = false;
    const racing = {
      redis: links[1].redis,
      run: async <T>(operation: string, command: (redis: Redis) => Promise<T>): Promise<T> => {
        if (operation === 'claiming a session' && !recoveredMeanwhile) {
          recoveredMeanwhile = true;
          await a.track('pid-8', record('s8', 'a', 1));
        }
        return links[1].run(operation, command);
      },
    } as unknown as RedisLink;
    const b = new RedisSessionStore({ link: racing });
    await a.track('pid-8', record('s8', 'a', 0));
    expect(await b.claim('pid-8', '/')).toBeUndefined();
    expect(recoveredMeanwhile).toBe(true);
    // The recovered connection keeps its session: its record is still there, for a later claim.
    expect(JSON.parse((await links[2].redis.get('parley:session:pid-8'))!)).toMatchObject({ generation: 1 });
    expect((await stores[2].claim('pid-8', '/'))?.session.generation).toBe(1);
  });

  it('hands a session over once while it is recovered again, whichever comes first', async () => {
    const [a, b] = stores;
    for (let round = 0; round < 20; round++) {
      const pid = `race-${round}`;
      await a.track(pid, record(pid, 'a', 0));
      const [claimed] = await Promise.all([b.claim(pid, '/'), a.track(pid, record(pid, 'a', 1))]);
      // The claim took generation 0 before the recovery, or it was in flight when the recovery
      // came and got nothing: the record of generation 1 stays, for the connection that
      // recovered. Or it read the record after the recovery, as a later reconnect, and took it.
      const left = await links[2].redis.get(`parley:session:${pid}`);
      if (claimed?.session.generation === 1) expect(left).toBeNull();
      else {
        if (claimed !== undefined) expect(claimed.session.generation).toBe(0);
        expect(JSON.parse(left!)).toMatchObject({ generation: 1 });
      }
    }
  });

  it('a new generation is not held: what was kept before is dropped', async () => {
    const [a, b] = stores;
    await a.track('pid-6', record('s6', 'dead'));
    await a.persist('pid-6', held([{ offset: 42, packet: '2["old"]' }]));
    await a.track('pid-6', record('s6', 'dead', 1));
    expect((await b.claim('pid-6', '/'))?.held).toBeUndefined();
  });

  it('forgets what a held socket kept when its window has passed', async () => {
    const [a] = stores;
    await a.persist('pid-7', held([{ offset: 42, packet: '2["x"]' }], 150));
    const deadline = Date.now() + 10_000;
    while ((await links[1].redis.exists('parley:session:pid-7:packets')) > 0) {
      if (Date.now() > deadline) throw new Error('the held packets never expired');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });
});
