import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { createTestModel } from 'xstate/graph';
import {
  activeTransportOf,
  engineSessionMachine,
  type EngineSessionEvent,
} from '../src/machines/engine-session-machine.js';

type Snapshot = ReturnType<typeof initialTransition<typeof engineSessionMachine>>[0];

function run(events: EngineSessionEvent[]): { snapshot: Snapshot; actions: string[] } {
  let [snapshot] = initialTransition(engineSessionMachine);
  const actions: string[] = [];
  for (const event of events) {
    const [next, executed] = transition(engineSessionMachine, snapshot, event);
    snapshot = next;
    for (const action of executed) {
      const params = action.params as { reason?: string } | undefined;
      actions.push(params?.reason ? `${action.type}:${params.reason}` : action.type);
    }
  }
  return { snapshot, actions };
}

describe('engine session machine', () => {
  it('opens over polling with the open packet and the timers', () => {
    const { snapshot, actions } = run([{ type: 'transport.open', transport: 'polling' }]);
    expect(snapshot.value).toEqual({ open: { transport: 'polling', heartbeat: 'resting' } });
    expect(actions).toEqual(['sendOpenPacket', 'schedulePing']);
  });

  it('opens straight over a WebSocket', () => {
    const { snapshot } = run([{ type: 'transport.open', transport: 'websocket' }]);
    expect(activeTransportOf(snapshot.value)).toBe('websocket');
  });

  it('upgrades only after the probe: probe answered, poll released, then the switch', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'transport.upgradeStart' },
      { type: 'transport.upgrade' }, // too early: ignored
      { type: 'transport.upgradeProbe' },
      { type: 'transport.upgrade' },
    ]);
    expect(activeTransportOf(snapshot.value)).toBe('websocket');
    expect(actions).toEqual([
      'sendOpenPacket',
      'schedulePing',
      'holdProbe',
      'answerProbe',
      'flushPollWithNoop',
      'switchToWebSocket',
    ]);
  });

  it('falls back to polling when the upgrade times out', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'transport.upgradeStart' },
      { type: 'transport.upgradeProbe' },
      { type: 'upgrade.timeout' },
    ]);
    expect(activeTransportOf(snapshot.value)).toBe('polling');
    expect(actions.at(-1)).toBe('dropProbe');
  });

  it('refuses a second upgrade once on a WebSocket', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'websocket' },
      { type: 'transport.upgradeStart' },
    ]);
    expect(activeTransportOf(snapshot.value)).toBe('websocket');
    expect(actions).not.toContain('holdProbe');
  });

  it('counts a pong only once its ping could have been read', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'client.pong' }, // nothing asked for it
      { type: 'heartbeat.due' },
      { type: 'client.pong' }, // the ping still waits for a GET: a blind pong
      { type: 'transport.pingDelivered' },
      { type: 'client.pong' },
    ]);
    expect(snapshot.value).toEqual({ open: { transport: 'polling', heartbeat: 'resting' } });
    expect(actions).toEqual(['sendOpenPacket', 'schedulePing', 'sendPing', 'schedulePing']);
  });

  it('times out a ping that was never read, whatever pongs came', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'heartbeat.due' },
      { type: 'client.pong' },
      { type: 'heartbeat.timeout' },
    ]);
    expect(snapshot.status).toBe('done');
    expect(actions.at(-1)).toBe('closeSession:ping timeout');
  });

  it.each([
    [{ type: 'heartbeat.timeout' } as const, 'ping timeout'],
    [{ type: 'connect.timeout' } as const, 'connect timeout'],
    [{ type: 'client.close' } as const, 'transport close'],
    [{ type: 'client.fault', reason: 'parse error' } as const, 'parse error'],
    [{ type: 'client.fault', reason: 'payload too large' } as const, 'payload too large'],
    [{ type: 'client.fault', reason: 'limit exceeded' } as const, 'limit exceeded'],
    [{ type: 'client.fault', reason: 'rate limited' } as const, 'rate limited'],
    [{ type: 'client.fault', reason: 'slow consumer' } as const, 'slow consumer'],
    [{ type: 'transport.close', reason: 'transport error' } as const, 'transport error'],
    [{ type: 'server.close', reason: 'server shutting down' } as const, 'server shutting down'],
  ])('closes once on %o with reason %s, and ignores everything after', (event, reason) => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      event,
      { type: 'heartbeat.timeout' },
      { type: 'transport.upgradeStart' },
    ]);
    expect(snapshot.status).toBe('done');
    expect(actions.filter((a) => a.startsWith('closeSession'))).toEqual([`closeSession:${reason}`]);
  });

  it('opens over a WebSocket with the same open packet and timers, resting', () => {
    const { snapshot, actions } = run([{ type: 'transport.open', transport: 'websocket' }]);
    expect(snapshot.value).toEqual({ open: { transport: 'websocket', heartbeat: 'resting' } });
    expect(actions).toEqual(['sendOpenPacket', 'schedulePing']);
  });

  it.each([
    ['before the probe', [] as EngineSessionEvent[]],
    ['after the probe', [{ type: 'transport.upgradeProbe' }] as EngineSessionEvent[]],
  ])('drops the probe and stays on polling when the upgrade fails %s, and may upgrade again', (_, probe) => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'transport.upgradeStart' },
      ...probe,
      { type: 'transport.upgradeFail' },
    ]);
    expect(snapshot.value).toEqual({ open: { transport: 'polling', heartbeat: 'resting' } });
    expect(actions.at(-1)).toBe('dropProbe');
    const again = transition(engineSessionMachine, snapshot, { type: 'transport.upgradeStart' });
    expect(again[0].value).toEqual({ open: { transport: { upgrading: 'awaitingProbe' }, heartbeat: 'resting' } });
    expect(again[1].map((action) => action.type)).toEqual(['holdProbe']);
  });

  it('falls back to polling when the upgrade times out before the probe', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'polling' },
      { type: 'transport.upgradeStart' },
      { type: 'upgrade.timeout' },
    ]);
    expect(snapshot.value).toEqual({ open: { transport: 'polling', heartbeat: 'resting' } });
    expect(actions).toEqual(['sendOpenPacket', 'schedulePing', 'holdProbe', 'dropProbe']);
  });

  it('closes with the reason a forced close gives', () => {
    const { snapshot, actions } = run([
      { type: 'transport.open', transport: 'websocket' },
      { type: 'server.close', reason: 'forced close' },
    ]);
    expect(snapshot.status).toBe('done');
    expect(actions.at(-1)).toBe('closeSession:forced close');
  });

  it('reaches every state along its shortest paths (model-based)', () => {
    const model = createTestModel(engineSessionMachine, {
      events: [
        { type: 'transport.open', transport: 'polling' },
        { type: 'transport.open', transport: 'websocket' },
        { type: 'transport.upgradeStart' },
        { type: 'transport.upgradeProbe' },
        { type: 'transport.upgrade' },
        { type: 'transport.upgradeFail' },
        { type: 'upgrade.timeout' },
        { type: 'heartbeat.due' },
        { type: 'transport.pingDelivered' },
        { type: 'client.pong' },
        { type: 'heartbeat.timeout' },
        { type: 'client.close' },
      ],
    });
    const paths = model.getShortestPaths();
    // Paths that are prefixes of longer ones are deduplicated away: count the states on the way.
    const reached = new Set<string>(['"handshaking"']);
    for (const path of paths) {
      // Drive the pure transition function along the path and check each state it claims.
      let [snapshot] = initialTransition(engineSessionMachine);
      for (const step of path.steps) {
        [snapshot] = transition(engineSessionMachine, snapshot, step.event);
        expect(snapshot.value).toEqual(step.state.value);
        reached.add(JSON.stringify(snapshot.value));
      }
      expect(snapshot.value).toEqual(path.state.value);
      reached.add(JSON.stringify(path.state.value));
    }
    expect(reached).toEqual(
      new Set([
        '"handshaking"',
        ...['resting', 'pingSent', 'awaitingPong'].flatMap((heartbeat) => [
          `{"open":{"transport":"polling","heartbeat":"${heartbeat}"}}`,
          `{"open":{"transport":"websocket","heartbeat":"${heartbeat}"}}`,
          `{"open":{"transport":{"upgrading":"awaitingProbe"},"heartbeat":"${heartbeat}"}}`,
          `{"open":{"transport":{"upgrading":"probed"},"heartbeat":"${heartbeat}"}}`,
        ]),
        '"closed"',
      ]),
    );
  });
});
