/**
 * `parley serve --redis` in real Chromium: two Parley processes on one redis-server, a call
 * between a tab on each node with video both ways; then the node of one tab is killed with
 * SIGKILL mid-call. The call keeps its media (frames keep being decoded, the same ICE
 * credentials, one peer connection) and that tab's socket.io-client reconnects by itself through
 * the other node, where its resume token gives it its seat back; an ICE restart then goes
 * through the surviving node.
 *
 * How the killed tab reaches the other node: as behind a load balancer. Its page is opened
 * through a plain TCP front in this test that sends each new connection to the first node that
 * accepts it (node A while it lives, then node B), which is what a balancer with health checks
 * does when a backend dies. The page and its socket.io-client are unchanged: they only ever see
 * the front's address. The other tab talks to node B directly.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser.js';
import { runParley, type ParleyProcess } from './helpers/parley-process.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { clusterNodeArgs } from './helpers/cluster-node-args.js';
import {
  buildApp,
  callStatusOf,
  expectRemoteVideoFlowing,
  localIceUfrag,
  noticeKinds,
  openApp,
  waitForStatus,
  expectSameCallThenIceRestart,
  framesDecoded,
} from './helpers/app.js';

let app: Awaited<ReturnType<typeof buildApp>>;
let browser: Browser;
let redis: RedisServer;

beforeAll(async () => {
  app = await buildApp();
  browser = await launchChromium();
  redis = await startRedisServer();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.remove();
  await redis?.stop();
});

/** A TCP front on a free loopback port: each connection goes to the first of `ports` that accepts it. */
async function failoverFront(ports: readonly number[]): Promise<{ port: number; server: Server }> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.pause();
    const attempt = (index: number): void => {
      if (index >= ports.length) return void client.destroy();
      const upstream = connect({ host: '127.0.0.1', port: ports[index] });
      upstream.once('error', () => attempt(index + 1));
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of open) socket.destroy();
    return close(callback);
  };
  return { port: address.port, server };
}

/** Video frames the page's current peer connection has decoded so far. */
async function sessions(origin: string): Promise<number> {
  return ((await (await fetch(`${origin}/healthz`)).json()) as { sessions: number }).sessions;
}

describe('a call across two nodes of a cluster', () => {
  it('flows between tabs on two nodes, and survives a SIGKILL of one tab’s node', async () => {
    const listening = (node: ParleyProcess) =>
      node.waitForRecord((record) => typeof record['url'] === 'string', 'the "listening" line', 60_000);
    const nodeA = runParley(clusterNodeArgs(redis.url, 0, ['--static', app.dir]));
    const nodeB = runParley(clusterNodeArgs(redis.url, 0, ['--static', app.dir]));
    const contexts = [await browser.newContext(), await browser.newContext()];
    let front: Server | undefined;
    let watching = true;
    try {
      const originA = new URL(String((await listening(nodeA))['url'])).origin;
      const originB = new URL(String((await listening(nodeB))['url'])).origin;
      const fronted = await failoverFront([Number(new URL(originA).port), Number(new URL(originB).port)]);
      front = fronted.server;
      const pages = [
        await openApp(contexts[0], `http://127.0.0.1:${fronted.port}/?room=cross-node`),
        await openApp(contexts[1], `${originB}/?room=cross-node`),
      ];
      for (const page of pages) await waitForStatus(page, 'connected', 45_000);
      for (const page of pages) await expectRemoteVideoFlowing(page);
      // One tab on each node: the call's signaling crossed nodes through Redis.
      expect(await sessions(originA)).toBe(1);
      expect(await sessions(originB)).toBe(1);
      const ufrags = await Promise.all(pages.map(localIceUfrag));
      expect(ufrags.every((ufrag) => ufrag !== undefined)).toBe(true);

      const statuses = new Set<string | null>();
      const watcher = (async () => {
        while (watching) {
          for (const page of pages) statuses.add(await callStatusOf(page).catch(() => 'page closed'));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();

      await nodeA.stop('SIGKILL');
      const framesAtKill = await Promise.all(pages.map(framesDecoded));
      for (const [index, page] of pages.entries()) {
        await expect.poll(() => framesDecoded(page), { timeout: 10_000 }).toBeGreaterThan(framesAtKill[index] + 10);
      }
      // The first tab reconnects by itself, through the front, to node B: both are there now.
      await expect.poll(() => sessions(originB), { timeout: 30_000 }).toBe(2);
      for (const page of pages)
        await expect.poll(() => noticeKinds(page), { timeout: 15_000 }).not.toContain('signaling-lost');
      // Past the bound in which node B releases node A's seats: the tab's seat moved, it is kept.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      watching = false;
      await watcher;
      expect([...statuses]).toEqual(['connected']);
      await expectSameCallThenIceRestart(pages, ufrags);
    } finally {
      watching = false;
      for (const context of contexts) await context.close();
      front?.close();
      await nodeA.stop('SIGKILL');
      await nodeB.stop('SIGKILL');
    }
  }, 240_000);
});
