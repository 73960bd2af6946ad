/**
 * Connection state recovery across nodes (docs/scaling.md, "Recovery across nodes"): how long a
 * stock socket.io-client takes to recover its session and receive 5 missed packets when it comes
 * back to the same node, and when it comes back through another node, and how many Redis commands
 * that costs. Two `parley serve --redis` processes on one loopback redis-server. Run on its own:
 * `npx tsx bench/cross-node-recovery.ts` (not part of `npm run bench`).
 */
import { connectClient, candidateSignal } from '../test/helpers/parley.js';
import { runParley } from '../test/helpers/parley-process.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { clusterNodeArgs } from '../test/helpers/cluster-node-args.js';
import { RedisLink } from '../src/signaling/cluster/redis-link.js';

const TRIALS = 30;
const redis = await startRedisServer();
const nodes = [runParley(clusterNodeArgs(redis.url)), runParley(clusterNodeArgs(redis.url))];
const urls = [];
for (const node of nodes) urls.push((await node.listening()).origin);
const link = new RedisLink({ url: redis.url, role: 'stats' });
await link.whenUp();
const commands = async () => {
  const info = await link.redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const results: Record<string, { ms: number[]; cmds: number[] }> = {
  same: { ms: [], cmds: [] },
  other: { ms: [], cmds: [] },
};
for (let t = 0; t < TRIALS; t++) {
  for (const mode of ['same', 'other'] as const) {
    const room = `m-${mode}-${t}`;
    const a = await connectClient(urls[0], { room });
    const b = await connectClient(urls[1], { room });
    await a.next('ready');
    a.socket.io.engine.close();
    await a.next('disconnect');
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) b.socket.emit('data', candidateSignal(`h${i}`));
    await new Promise((r) => setTimeout(r, 100));
    const before = await commands();
    (a.socket.io as unknown as { uri: string }).uri = mode === 'same' ? urls[0] : urls[1];
    const started = performance.now();
    const connects = a.all('connect').length;
    a.socket.connect();
    await a.waitForCount('connect', connects + 1);
    await a.waitForCount('data', 5);
    const ms = performance.now() - started;
    if (!a.socket.recovered) throw new Error('not recovered');
    await new Promise((r) => setTimeout(r, 200));
    results[mode].ms.push(ms);
    results[mode].cmds.push((await commands()) - before - 1);
    a.close();
    b.close();
  }
}
for (const [mode, { ms, cmds }] of Object.entries(results)) {
  console.log(
    `${mode === 'same' ? 'same node   ' : 'other node  '} recovery until 5 missed packets received: p50 ${pct(ms, 0.5).toFixed(1)} ms, p90 ${pct(ms, 0.9).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms; Redis commands (all nodes, incl. heartbeats over ~200 ms) p50 ${pct(cmds, 0.5)}`,
  );
}
await link.close();
await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
await redis.stop();
