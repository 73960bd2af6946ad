// @vitest-environment happy-dom
/**
 * `parley/react` in a real React (react-dom in happy-dom): a component using `useParleyCall`
 * renders once per call change, never loops, and sees the very snapshot object the call hands
 * out; `useParleyCallFactory` creates a call on mount and disposes of it on unmount, StrictMode
 * included. The call runs on the fake RTCPeerConnection and fake sockets.
 */
import { act, createElement, StrictMode, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { CallSnapshot } from '../src/client/call-snapshot.js';
import { createPeerAdapter, type PeerAdapter } from '../src/client/peer-adapter.js';
import { useParleyCall, useParleyCallFactory } from '../src/react/use-parley-call.js';
import { createFakeRtc } from './helpers/fake-peer-connection.js';
import { fakeSocketFactory } from './helpers/fake-signaling.js';

// React's act() warns unless the environment says it is a test.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

function fakeCall() {
  const sockets = fakeSocketFactory();
  const call = createPeerAdapter({
    room: 'kitchen',
    connectSocket: sockets.connect,
    RTCPeerConnection: createFakeRtc().RTCPeerConnection,
    clock: new SimulatedClock(),
    onWarning: () => {},
  });
  return { call, socket: () => sockets.sockets.at(-1)! };
}

let root: Root | undefined;

function mount(node: ReactNode): void {
  root = createRoot(document.createElement('div'));
  act(() => {
    root!.render(node);
  });
}

afterEach(() => {
  act(() => {
    root?.unmount();
  });
  root = undefined;
});

describe('parley/react', () => {
  it('renders a call once per change, with the snapshot object the call hands out, and never loops', () => {
    const { call, socket } = fakeCall();
    const rendered: CallSnapshot[] = [];
    function Status({ call }: { call: PeerAdapter }) {
      const snapshot = useParleyCall(call);
      rendered.push(snapshot);
      return createElement('p', null, snapshot.status);
    }
    mount(createElement(Status, { call }));
    // A second render with the same call: React asks getSnapshot again and gets the same object.
    act(() => {
      root!.render(createElement(Status, { call }));
    });
    expect(rendered).toHaveLength(2);
    expect(rendered[0]).toBe(rendered[1]);
    expect(rendered[1]).toBe(call.getSnapshot());

    act(() => {
      call.join();
    });
    act(() => {
      socket().deliver('role', { room: 'kitchen', role: 'impolite' });
    });
    expect(rendered.map((s) => s.status)).toEqual(['idle', 'idle', 'joining', 'waiting']);
    expect(rendered.at(-1)).toBe(call.getSnapshot());
    // Nothing the snapshot shows changed: no render.
    act(() => {
      socket().deliver('ice-servers', { iceServers: [], ttl: 60 });
    });
    expect(rendered).toHaveLength(4);
    act(() => call.dispose());
  });

  it('creates the call on mount and disposes of it on unmount, under StrictMode too', () => {
    const created: ReturnType<typeof fakeCall>[] = [];
    const statuses: (string | undefined)[] = [];
    function Call() {
      const call = useParleyCallFactory(() => {
        const made = fakeCall();
        created.push(made);
        made.call.join();
        return made.call;
      });
      const snapshot = useParleyCall(call);
      statuses.push(snapshot?.status);
      return createElement('p', null, snapshot?.status ?? 'starting');
    }
    mount(createElement(StrictMode, null, createElement(Call)));
    // StrictMode mounts twice: the first call is disposed of, the second is the one in use.
    const live = created.at(-1)!.call;
    expect(created.slice(0, -1).every(({ call }) => call.actor.getSnapshot().status === 'stopped')).toBe(true);
    expect(live.actor.getSnapshot().status).toBe('active');
    expect(statuses.at(-1)).toBe('joining');

    act(() => {
      root!.unmount();
    });
    root = undefined;
    expect(live.actor.getSnapshot().status).toBe('stopped');
  });

  it('renders on the server from the snapshot, without subscribing', () => {
    const { call } = fakeCall();
    function Status() {
      return createElement('p', null, useParleyCall(call).status);
    }
    expect(renderToString(createElement(Status))).toBe('<p>idle</p>');
    call.dispose();
  });
});
