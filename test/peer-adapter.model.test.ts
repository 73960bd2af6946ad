/**
 * Model-based test of the browser adapter against the independent reference model
 * (src/testing/peer-reference-model.ts): every path from `xstate/graph` (shortest paths to every
 * model state, second passes after a call ended, seeded random walks) is driven against the real
 * adapter, a real Parley server, real socket.io-clients and the fake RTCPeerConnection
 * (test/models/peer-adapter-driver.ts), and every step checks what the model says each side
 * must have done: the call snapshot, the peer connection's calls, what the other peer received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningParleyServer } from '../src/signaling/parley-server.js';
import { peerModelPaths, runPeerModelPath, type ModelPath, type PeerModelEvent } from '../src/testing/index.js';
import { startTestServer } from './helpers/parley.js';
import { createPeerAdapterDriver } from './models/peer-adapter-driver.js';
import { MODEL_STUN_URL } from './models/peer-adapter-harness.js';

let server: RunningParleyServer;
beforeAll(async () => {
  server = await startTestServer({
    turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3_600, stunUrls: [MODEL_STUN_URL] },
  });
});
afterAll(() => server.close());

const paths = peerModelPaths({ randomWalks: { count: 40, length: 30, seed: 12 } });

/** Runs `paths` a few at a time, each in its own room, until one fails; resolves with the failure. */
async function runAll(paths: readonly ModelPath<PeerModelEvent>[], concurrency: number): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < paths.length && failures.length === 0; index = next++) {
      const driver = createPeerAdapterDriver(server.url, `model-${index}`);
      try {
        await runPeerModelPath(paths[index], driver);
      } catch (error) {
        failures.push((error as Error).message);
      } finally {
        await driver.dispose();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

describe('the browser adapter follows the reference model', () => {
  it('has paths to every kind of step, including second calls and re-failures', () => {
    const types = new Set(paths.flatMap((path) => path.events.map((event) => event.type)));
    expect([...types].sort()).toEqual(
      [
        'clock.connectTimeout',
        'clock.disconnectGrace',
        'clock.restartBackoff',
        'clock.restartTimeout',
        'pc.connected',
        'pc.disconnected',
        'pc.failed',
        'pc.negotiationNeeded',
        'remote.answer',
        'remote.badAnswer',
        'remote.candidate',
        'remote.join',
        'remote.leave',
        'remote.offer',
        'user.hangUp',
        'user.join',
        'user.joinAndRejoin',
        'user.rejoin',
      ].sort(),
    );
    expect(paths.length).toBeGreaterThan(300);
  });

  it(`drives all ${paths.length} paths against the adapter, the server and the fake peer connection`, async () => {
    expect(await runAll(paths, 4)).toEqual([]);
  }, 180_000);
});
