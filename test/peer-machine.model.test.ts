/**
 * Model-based test of the pure peer machine against the independent reference model
 * (src/testing/peer-reference-model.ts, written from the WebRTC spec's perfect negotiation and
 * docs/statecharts.md, not from the machine): every path `peerModelPaths()` generates with
 * `xstate/graph` is replayed on an actor of src/machines/peer-machine.ts with fake effects and a
 * SimulatedClock (test/models/peer-machine-driver.ts), and after every step the machine's
 * effects, signals and call status must be what the model says. No network: this is the fast
 * twin of test/peer-adapter.model.test.ts, which drives the same paths through the real adapter
 * and server, and the one mutation testing leans on.
 */
import { describe, expect, it } from 'vitest';
import { peerMachine } from '../src/machines/peer-machine.js';
import { ModelMismatchError, peerModelPaths, runPeerModelPath } from '../src/testing/index.js';
import { createPeerMachineDriver } from './models/peer-machine-driver.js';

const paths = peerModelPaths({ randomWalks: { count: 40, length: 30, seed: 12 } });

function allStateIds(): string[] {
  const ids: string[] = [];
  const walk = (node: (typeof peerMachine)['root']) => {
    ids.push(node.id);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(peerMachine.root);
  return ids;
}

describe('the peer machine follows the reference model', () => {
  it(`replays all ${paths.length} model paths on the machine with fake effects`, async () => {
    const visited = new Set<string>();
    for (const path of paths) {
      const driver = createPeerMachineDriver();
      const observing = {
        perform: (event: Parameters<typeof driver.perform>[0]) => driver.perform(event),
        observe: () => {
          for (const id of driver.activeStateIds()) visited.add(id);
          return driver.observe();
        },
      };
      try {
        await runPeerModelPath(path, observing, { timeoutMs: 1_000, intervalMs: 0 });
      } finally {
        driver.dispose();
      }
    }
    // The paths are the model's, yet they take the machine through all of its chart (the
    // transient `joining` and the effect-in-flight states are passed through within a step).
    const quiescent = allStateIds().filter(
      (id) =>
        !/\.(joining|makingOffer|applyingLocalOffer|applyingRemoteOffer|makingAnswer|applyingLocalAnswer|applyingRemoteAnswer|applyingCandidate)$/.test(
          id,
        ),
    );
    expect(quiescent.filter((id) => !visited.has(id) && id !== 'peer.rejected')).toEqual([]);
    expect(paths.length).toBeGreaterThan(300);
  }, 120_000);

  it('stops a path at the first step where the implementation disagrees, and names it', async () => {
    const driver = createPeerMachineDriver();
    // An implementation that hangs up whenever it is asked to join.
    const wrong = {
      perform: (event: Parameters<typeof driver.perform>[0]) =>
        driver.perform(event.type === 'user.join' ? { type: 'user.hangUp' } : event),
      observe: () => driver.observe(),
    };
    const path = {
      name: 'join, then the other peer',
      events: [{ type: 'user.join' }, { type: 'remote.join' }],
    } as const;
    const failure = runPeerModelPath(path, wrong, { timeoutMs: 50 });
    await expect(failure).rejects.toBeInstanceOf(ModelMismatchError);
    await expect(failure).rejects.toThrow(/path "join, then the other peer", step 1:[\s\S]*"status":"waiting"/);
    driver.dispose();
  });
});
