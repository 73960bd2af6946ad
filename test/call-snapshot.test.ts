/**
 * The call snapshot's contract, the one React's `useSyncExternalStore` and XState-style tools
 * rely on: `getSnapshot()` returns the same object until the call changes and a new one on
 * every change; `subscribe` and `getSnapshot` work unbound; unsubscribing stops the calls.
 * Driven through the adapter with the fake RTCPeerConnection and fake sockets, in unit tests
 * and in a property test over random sequences of what the server, the network and the user do.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createCallStore, mediaError, NO_MEDIA, type CallSnapshot } from '../src/client/call-snapshot.js';
import { createPeerAdapter } from '../src/client/peer-adapter.js';
import { callStatus, type CallStatus } from '../src/machines/peer-status.js';
import { flush } from './helpers/fake-peer-effects.js';
import { createFakeRtc } from './helpers/fake-peer-connection.js';
import { fakeSocketFactory } from './helpers/fake-signaling.js';

function setup() {
  const rtc = createFakeRtc();
  const sockets = fakeSocketFactory();
  const adapter = createPeerAdapter({
    room: 'kitchen',
    connectSocket: sockets.connect,
    RTCPeerConnection: rtc.RTCPeerConnection,
    clock: new SimulatedClock(),
    onWarning: () => {},
  });
  const socket = () => sockets.sockets.at(-1)!;
  return { adapter, sockets, socket, rtc };
}

/** Records every snapshot a subscriber is handed. */
function record(subscribe: (listener: (snapshot: CallSnapshot) => void) => () => void) {
  const seen: CallSnapshot[] = [];
  const unsubscribe = subscribe((snapshot) => seen.push(snapshot));
  return { seen, unsubscribe };
}

describe('call snapshot', () => {
  it('returns the same object until the call changes, and works unbound', async () => {
    const { adapter, socket } = setup();
    const { getSnapshot, getState } = adapter;
    const idle = getSnapshot();
    expect(getSnapshot()).toBe(idle);
    expect(getState()).toBe(idle);
    expect(Object.isFrozen(idle)).toBe(true);
    expect(idle).toMatchObject({ status: 'idle', signaling: 'disconnected', local: NO_MEDIA, remote: NO_MEDIA });

    adapter.join();
    const joining = getSnapshot();
    expect(joining).not.toBe(idle);
    expect(joining).toMatchObject({ status: 'joining', signaling: 'connected' });
    // Events that change nothing the snapshot shows leave it alone.
    socket().deliver('ice-servers', { iceServers: [], ttl: 60 });
    await flush();
    expect(getSnapshot()).toBe(joining);
    expect(getSnapshot()).toBe(getSnapshot());
  });

  it('hands unbound subscribers each new snapshot once, and nothing after they unsubscribe', async () => {
    const { adapter, socket } = setup();
    const { subscribe, getSnapshot } = adapter;
    const first = record(subscribe);
    const second = record(subscribe);
    expect(first.seen).toEqual([getSnapshot()]);

    adapter.join();
    socket().deliver('role', { room: 'kitchen', role: 'impolite' });
    await flush();
    first.unsubscribe();
    first.unsubscribe(); // twice is harmless
    socket().deliver('ready');
    await flush();

    expect(first.seen.map((s) => s.status)).toEqual(['idle', 'joining', 'waiting']);
    expect(second.seen.map((s) => s.status)).toEqual(['idle', 'joining', 'waiting', 'connecting']);
    expect(second.seen.at(-1)).toBe(getSnapshot());
    // Consecutive snapshots are distinct objects with distinct contents.
    for (let i = 1; i < second.seen.length; i += 1) {
      expect(second.seen[i]).not.toBe(second.seen[i - 1]);
      expect(second.seen[i]).not.toEqual(second.seen[i - 1]);
    }
  });

  it('reports the signaling connection: connected, reconnecting after a drop, disconnected after hang-up', () => {
    const { adapter, socket } = setup();
    adapter.join();
    expect(adapter.getSnapshot().signaling).toBe('connected');
    socket().deliver('disconnect', 'transport close');
    expect(adapter.getSnapshot().signaling).toBe('reconnecting');
    socket().deliver('connect');
    expect(adapter.getSnapshot().signaling).toBe('connected');
    adapter.hangUp();
    expect(adapter.getSnapshot()).toMatchObject({ status: 'closed', signaling: 'disconnected' });
  });

  it("gives the server's refusal as a typed error, and keeps 0.1's error field", () => {
    const { adapter, socket } = setup();
    adapter.join();
    socket().deliver(
      'connect_error',
      Object.assign(new Error('refused'), { data: { code: 'room-full', message: 'full' } }),
    );
    expect(adapter.getSnapshot()).toMatchObject({
      status: 'rejected',
      error: { code: 'room-full', message: 'full' },
      callError: { code: 'room-full', message: 'full' },
    });
  });

  it('names a failed call ice-failed, and a media error by its kind when nothing else is wrong', () => {
    const status = (over: Partial<CallStatus>): CallStatus => ({
      status: 'connected',
      negotiating: false,
      role: 'polite',
      room: 'r',
      restartAttempts: 0,
      error: undefined,
      ...over,
    });
    const denied = mediaError(Object.assign(new Error('no'), { name: 'NotAllowedError' }));
    expect(denied).toEqual({ code: 'permission-denied', message: 'no' });
    expect(mediaError(Object.assign(new Error('none'), { name: 'NotFoundError' }))?.code).toBe('no-device');
    expect(mediaError(Object.assign(new Error('busy'), { name: 'NotReadableError' }))).toBeUndefined();

    const store = createCallStore({
      call: status({}),
      signaling: 'connected',
      local: NO_MEDIA,
      remote: NO_MEDIA,
      mediaError: denied,
    });
    expect(store.getSnapshot().callError?.code).toBe('permission-denied');
    store.update({ call: status({ status: 'failed', restartAttempts: 3 }) });
    expect(store.getSnapshot().callError?.code).toBe('ice-failed');
    const failed = store.getSnapshot();
    store.update({ local: { ...NO_MEDIA } }); // equal content: no new snapshot
    expect(store.getSnapshot()).toBe(failed);
    store.update({ local: { ...NO_MEDIA, audio: true } });
    expect(store.getSnapshot()).not.toBe(failed);
    expect(store.getSnapshot().local).toEqual({ ...NO_MEDIA, audio: true });
  });

  it('property: after any sequence of events, a new snapshot means new contents, heard once, mirroring the machine', async () => {
    type Step =
      | 'join'
      | 'rejoin'
      | 'hangUp'
      | 'role'
      | 'iceServers'
      | 'ready'
      | 'answer'
      | 'peerLeft'
      | 'drop'
      | 'reconnect'
      | 'refuse';
    const steps: readonly Step[] = [
      'join',
      'rejoin',
      'hangUp',
      'role',
      'iceServers',
      'ready',
      'answer',
      'peerLeft',
      'drop',
      'reconnect',
      'refuse',
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...steps), { maxLength: 25 }), async (sequence) => {
        const { adapter, sockets, socket } = setup();
        const { subscribe, getSnapshot } = adapter;
        const { seen } = record(subscribe);
        for (const step of sequence) {
          const before = getSnapshot();
          const heard = seen.length;
          const open = sockets.sockets.length > 0;
          switch (step) {
            case 'join':
              adapter.join();
              break;
            case 'rejoin':
              adapter.rejoin();
              break;
            case 'hangUp':
              adapter.hangUp();
              break;
            case 'role':
              if (open) socket().deliver('role', { room: 'kitchen', role: 'impolite' });
              break;
            case 'iceServers':
              if (open) socket().deliver('ice-servers', { iceServers: [], ttl: 60 });
              break;
            case 'ready':
              if (open) socket().deliver('ready');
              break;
            case 'answer':
              if (open) socket().deliver('data', { type: 'answer', sdp: 'their answer' });
              break;
            case 'peerLeft':
              if (open) socket().deliver('peer-left');
              break;
            case 'drop':
              if (open) socket().deliver('disconnect', 'transport close');
              break;
            case 'reconnect':
              if (open) socket().deliver('connect');
              break;
            case 'refuse':
              if (open)
                socket().deliver(
                  'connect_error',
                  Object.assign(new Error('refused'), { data: { code: 'room-full', message: 'full' } }),
                );
              break;
          }
          await flush();
          await flush();
          const after = getSnapshot();
          expect(getSnapshot()).toBe(after);
          // Unchanged: nobody hears anything. Changed: subscribers heard it, last of all the
          // snapshot now, and each snapshot they heard differs in content from the one before.
          if (after === before) expect(seen.length).toBe(heard);
          else expect(seen.at(-1)).toBe(after);
          for (let i = Math.max(heard, 1); i < seen.length; i += 1) {
            expect(JSON.stringify(seen[i])).not.toBe(JSON.stringify(seen[i - 1]));
          }
          // The machine's part is the machine's summary, never stale.
          expect(after).toMatchObject(callStatus(adapter.actor.getSnapshot()) as unknown as Record<string, unknown>);
        }
        adapter.dispose();
      }),
      { numRuns: 150 },
    );
  });
});
