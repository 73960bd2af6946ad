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

/**
 * Every state × every kind of event, against a table written from the diagram in the machine's
 * header (not from its config): a changed target, guard or action shows up as one wrong row.
 */
describe('signaling link machine: its whole transition table', () => {
  const prefixes = {
    disconnected: [],
    connecting: [{ type: 'socket.open' }],
    connected: [{ type: 'socket.open' }, { type: 'socket.connect' }],
    reconnecting: [
      { type: 'socket.open' },
      { type: 'socket.connect' },
      { type: 'socket.disconnect', reason: 'ping timeout' },
    ],
  } satisfies Record<string, SignalingLinkEvent[]>;
  type From = keyof typeof prefixes;

  const events = {
    open: { type: 'socket.open' },
    connect: { type: 'socket.connect' },
    drop: { type: 'socket.disconnect', reason: 'transport close' },
    clientDisconnect: { type: 'socket.disconnect', reason: 'io client disconnect' },
    serverDisconnect: { type: 'socket.disconnect', reason: 'io server disconnect' },
    failedAttempt: { type: 'socket.connectError', message: 'xhr poll error', refused: false },
    refusal: { type: 'socket.connectError', message: 'room-full', refused: true },
    close: { type: 'socket.close' },
  } satisfies Record<string, SignalingLinkEvent>;
  type Kind = keyof typeof events;

  /** The reason each state was reached with: the reconnecting prefix ended on a ping timeout. */
  const reasonIn: Record<From, string | undefined> = {
    disconnected: undefined,
    connecting: undefined,
    connected: undefined,
    reconnecting: 'ping timeout',
  };
  const stays = (from: From) => ({ value: from, reason: reasonIn[from], failedAttempts: 0 });
  const down = (reason: string | undefined) => ({ value: 'disconnected', reason, failedAttempts: 0 });

  const table: Record<From, Record<Kind, { value: string; reason: string | undefined; failedAttempts: number }>> = {
    disconnected: {
      open: { value: 'connecting', reason: undefined, failedAttempts: 0 },
      connect: stays('disconnected'),
      drop: stays('disconnected'),
      clientDisconnect: stays('disconnected'),
      serverDisconnect: stays('disconnected'),
      failedAttempt: stays('disconnected'),
      refusal: stays('disconnected'),
      close: down(undefined),
    },
    connecting: {
      open: stays('connecting'),
      connect: { value: 'connected', reason: undefined, failedAttempts: 0 },
      drop: down('transport close'),
      clientDisconnect: down('io client disconnect'),
      serverDisconnect: down('io server disconnect'),
      failedAttempt: { value: 'reconnecting', reason: 'xhr poll error', failedAttempts: 1 },
      refusal: down('room-full'),
      close: down(undefined),
    },
    connected: {
      open: { value: 'connecting', reason: undefined, failedAttempts: 0 },
      connect: stays('connected'),
      drop: { value: 'reconnecting', reason: 'transport close', failedAttempts: 0 },
      clientDisconnect: down('io client disconnect'),
      serverDisconnect: down('io server disconnect'),
      failedAttempt: stays('connected'),
      refusal: stays('connected'),
      close: down(undefined),
    },
    reconnecting: {
      open: { value: 'connecting', reason: 'ping timeout', failedAttempts: 0 },
      connect: { value: 'connected', reason: 'ping timeout', failedAttempts: 0 },
      // socket.io-client is already retrying: another transport-level drop changes nothing.
      drop: stays('reconnecting'),
      clientDisconnect: down('io client disconnect'),
      serverDisconnect: down('io server disconnect'),
      failedAttempt: { value: 'reconnecting', reason: 'xhr poll error', failedAttempts: 1 },
      refusal: down('room-full'),
      close: down(undefined),
    },
  };

  for (const from of Object.keys(table) as From[]) {
    for (const kind of Object.keys(events) as Kind[]) {
      it(`${from} + ${kind} → ${table[from][kind].value}`, () => {
        const actor = createActor(signalingLinkMachine).start();
        for (const event of prefixes[from]) actor.send(event);
        expect(actor.getSnapshot().value).toBe(from);
        actor.send(events[kind]);
        const { value, context } = actor.getSnapshot();
        expect({ value, ...context }).toEqual(table[from][kind]);
      });
    }
  }

  it('is named signalingLink, the name the live inspector shows it under', () => {
    expect(signalingLinkMachine.id).toBe('signalingLink');
    expect(createActor(signalingLinkMachine).start().getSnapshot().value).toBe('disconnected');
  });

  it('counts failed attempts while reconnecting, and starts again from zero on open', () => {
    const actor = createActor(signalingLinkMachine).start();
    actor.send({ type: 'socket.open' });
    for (let i = 0; i < 3; i += 1) actor.send({ type: 'socket.connectError', message: `try ${i}`, refused: false });
    expect(actor.getSnapshot().context).toEqual({ reason: 'try 2', failedAttempts: 3 });
    actor.send({ type: 'socket.open' });
    expect(actor.getSnapshot().context).toEqual({ reason: 'try 2', failedAttempts: 0 });
  });
});
