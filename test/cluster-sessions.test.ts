/**
 * Held sessions of connection state recovery in a real redis-server: a session held on one node
 * is claimed on another with its packets in order, once, whatever races it; a packet appended
 * after the take is answered `claimed` (never lost in between); the window expires it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';
import { RedisSessionStore, type HeldSession } from '../src/signaling/cluster/redis-session-store.js';
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
    stores.push(new RedisSessionStore({ link, windowMillis: 120_000 }));
  }
});
afterAll(async () => {
  await Promise.all(links.map((link) => link.close()));
  await redis?.stop();
});

const session = (sid: string): HeldSession => ({
  sid,
  nsp: '/',
  data: { room: 'r', key: 'r', peer: `peer-${sid}` },
  node: 'a',
  lastOffset: 41,
});

describe('held sessions in Redis', () => {
  it('hands a session held on one node to a claim on another, with its packets in order, once', async () => {
    const [a, b, c] = stores;
    await a.persist('pid-1', session('s1'));
    expect(await a.append('pid-1', 42, '42["data",{"candidate":1}]')).toBe('kept');
    expect(await a.append('pid-1', 43, ['451-["file",{"_placeholder":true,"num":0}]', Buffer.from([0, 1, 255])])).toBe(
      'kept',
    );
    expect(await a.append('pid-1', 44, '42["chat","hé"]')).toBe('kept');

    const claims = await Promise.all([b.claim('pid-1', '/'), c.claim('pid-1', '/'), b.claim('pid-1', '/')]);
    const won = claims.filter((claim) => claim !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]?.session).toEqual(session('s1'));
    expect(won[0]?.packets).toEqual([
      { offset: 42, packet: '42["data",{"candidate":1}]' },
      { offset: 43, packet: ['451-["file",{"_placeholder":true,"num":0}]', Buffer.from([0, 1, 255])] },
      { offset: 44, packet: '42["chat","hé"]' },
    ]);
    // Taken: the node that held it must route later packets to the claimant, and not end it.
    expect(await a.append('pid-1', 45, '42["late"]')).toBe('claimed');
    expect(await a.expire('pid-1')).toBe(false);
  });

  it('loses no packet to a claim racing the appends: each is replayed or answered claimed', async () => {
    const [a, b] = stores;
    for (let round = 0; round < 20; round++) {
      const pid = `race-${round}`;
      await a.persist(pid, session(pid));
      const appends: Array<Promise<'kept' | 'claimed'>> = [];
      let claim: ReturnType<RedisSessionStore['claim']> | undefined;
      for (let offset = 0; offset < 50; offset++) {
        appends.push(a.append(pid, offset, `p${offset}`));
        if (offset === 5 + round) claim = b.claim(pid, '/');
      }
      const outcomes = await Promise.all(appends);
      const claimed = await claim!;
      const replayed = claimed!.packets.map(({ offset }) => offset);
      const kept = outcomes.flatMap((outcome, offset) => (outcome === 'kept' ? [offset] : []));
      // Exactly the kept packets are replayed, in order, and they are the ones before the take.
      expect(replayed).toEqual(kept);
      expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i));
      expect(outcomes.slice(kept.length).every((outcome) => outcome === 'claimed')).toBe(true);
    }
  });

  it('matches the namespace, and lets the node that held a session end it when nobody claimed it', async () => {
    const [a, b] = stores;
    await a.persist('pid-2', session('s2'));
    expect(await b.claim('pid-2', '/admin')).toBeUndefined();
    expect(await a.expire('pid-2')).toBe(true);
    expect(await b.claim('pid-2', '/')).toBeUndefined();
    expect(await a.append('pid-2', 1, 'x')).toBe('claimed');
  });

  it('forgets a held session when its window has passed', async () => {
    const short = new RedisSessionStore({ link: links[0], windowMillis: 150 });
    await short.persist('pid-3', session('s3'));
    await short.append('pid-3', 1, 'x');
    const deadline = Date.now() + 10_000;
    while ((await links[1].redis.exists('parley:session:pid-3', 'parley:session:pid-3:packets')) > 0) {
      if (Date.now() > deadline) throw new Error('the held session never expired');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await stores[1].claim('pid-3', '/')).toBeUndefined();
  });
});
