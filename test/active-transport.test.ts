/**
 * `activeTransportOf()` (src/machines/engine-session-machine.ts): which transport a session is on,
 * read from its snapshot value, for the inspector and the engine's stats. Checked on the values
 * the real machine takes, and on values it never takes.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import {
  activeTransportOf,
  engineSessionMachine,
  type EngineSessionEvent,
} from '../src/machines/engine-session-machine.js';

/** The snapshot value after `events`, from a fresh session. */
function valueAfter(events: EngineSessionEvent[]): unknown {
  const actor = createActor(engineSessionMachine).start();
  for (const event of events) actor.send(event);
  return actor.getSnapshot().value;
}

describe('activeTransportOf', () => {
  it('follows a session through polling, an upgrade and WebSocket, and is undefined before and after', () => {
    expect(activeTransportOf(valueAfter([]))).toBeUndefined();
    const polling: EngineSessionEvent[] = [{ type: 'transport.open', transport: 'polling' }];
    expect(activeTransportOf(valueAfter(polling))).toBe('polling');
    const upgrading: EngineSessionEvent[] = [...polling, { type: 'transport.upgradeStart' }];
    expect(activeTransportOf(valueAfter(upgrading))).toBe('upgrading');
    const probed: EngineSessionEvent[] = [...upgrading, { type: 'transport.upgradeProbe' }];
    expect(activeTransportOf(valueAfter(probed))).toBe('upgrading');
    expect(activeTransportOf(valueAfter([...probed, { type: 'transport.upgrade' }]))).toBe('websocket');
    expect(activeTransportOf(valueAfter([{ type: 'transport.open', transport: 'websocket' }]))).toBe('websocket');
    expect(activeTransportOf(valueAfter([...polling, { type: 'client.close' }]))).toBeUndefined();
  });

  it('is undefined for values that name no transport', () => {
    for (const value of [undefined, null, 'open', 42, {}, { open: {} }, { open: null }, { closed: {} }]) {
      expect(activeTransportOf(value)).toBeUndefined();
    }
  });

  it('reads any other transport state as an upgrade under way', () => {
    expect(activeTransportOf({ open: { transport: { upgrading: 'awaitingProbe' }, heartbeat: 'resting' } })).toBe(
      'upgrading',
    );
    expect(activeTransportOf({ open: { transport: 'polling', heartbeat: 'pingSent' } })).toBe('polling');
    expect(activeTransportOf({ open: { transport: 'websocket' } })).toBe('websocket');
  });
});
