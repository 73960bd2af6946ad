import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { signalingLinkMachine, type SignalingLinkEvent } from '../src/machines/signaling-link-machine.js';

function run(events: SignalingLinkEvent[]) {
  const actor = createActor(signalingLinkMachine).start();
  return events.map((event) => {
    actor.send(event);
    return actor.getSnapshot().value;
  });
}

describe('signaling link machine', () => {
  it('goes connecting, connected, reconnecting on a transport drop, and connected again', () => {
    expect(
      run([
        { type: 'socket.open' },
        { type: 'socket.connect' },
        { type: 'socket.disconnect', reason: 'transport close' },
        { type: 'socket.connectError', message: 'xhr poll error', refused: false },
        { type: 'socket.connect' },
      ]),
    ).toEqual(['connecting', 'connected', 'reconnecting', 'reconnecting', 'connected']);
  });

  it('is disconnected for good after a refusal, a disconnect by either side, or a close', () => {
    expect(
      run([{ type: 'socket.open' }, { type: 'socket.connectError', message: 'room-full', refused: true }]),
    ).toEqual(['connecting', 'disconnected']);
    expect(
      run([
        { type: 'socket.open' },
        { type: 'socket.connect' },
        { type: 'socket.disconnect', reason: 'io server disconnect' },
      ]),
    ).toEqual(['connecting', 'connected', 'disconnected']);
    expect(run([{ type: 'socket.open' }, { type: 'socket.connect' }, { type: 'socket.close' }])).toEqual([
      'connecting',
      'connected',
      'disconnected',
    ]);
  });

  it('counts failed attempts and keeps the last reason', () => {
    const actor = createActor(signalingLinkMachine).start();
    actor.send({ type: 'socket.open' });
    actor.send({ type: 'socket.connectError', message: 'timeout', refused: false });
    actor.send({ type: 'socket.connectError', message: 'xhr poll error', refused: false });
    expect(actor.getSnapshot().context).toEqual({ reason: 'xhr poll error', failedAttempts: 2 });
    actor.send({ type: 'socket.connect' });
    expect(actor.getSnapshot().context.failedAttempts).toBe(0);
  });
});
