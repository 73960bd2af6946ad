/**
 * React bindings for a call: `useParleyCall` renders from a call's snapshot through
 * `useSyncExternalStore`, `useParleyCallFactory` creates a call for a component's lifetime.
 */
import { useEffect, useState, useSyncExternalStore, type DependencyList } from 'react';
import type { CallSnapshot } from '../client/call-snapshot.js';
import type { PeerAdapter } from '../client/peer-adapter.js';

/** What the hook reads: any store with the call's snapshot contract (a {@link PeerAdapter} is one). */
export type CallSource = Pick<PeerAdapter, 'subscribe' | 'getSnapshot'>;

const subscribeToNothing = () => () => {};
const noSnapshot = () => undefined;

/**
 * The call's snapshot, re-rendering the component when it changes (and only then: the snapshot
 * is the same object until the call changes). Without a call (`undefined`, e.g. while
 * {@link useParleyCallFactory} creates one) it returns `undefined`.
 */
export function useParleyCall(call: CallSource): CallSnapshot;
export function useParleyCall(call: CallSource | undefined): CallSnapshot | undefined;
export function useParleyCall(call: CallSource | undefined): CallSnapshot | undefined {
  // The call's own functions are stable and work unbound, so React resubscribes only when the call changes.
  return useSyncExternalStore<CallSnapshot | undefined>(
    call?.subscribe ?? subscribeToNothing,
    call?.getSnapshot ?? noSnapshot,
    call?.getSnapshot ?? noSnapshot,
  );
}

/**
 * Creates a call with `create` once the component mounts, and disposes of it when the component
 * unmounts or `deps` change (then creates a new one). `undefined` until the first call exists:
 * creating in an effect, not during render, keeps StrictMode's double mount from using a
 * disposed call. `create` typically calls `createPeerAdapter(...)` and `join()`.
 */
export function useParleyCallFactory(create: () => PeerAdapter, deps: DependencyList = []): PeerAdapter | undefined {
  const [call, setCall] = useState<PeerAdapter | undefined>(undefined);
  useEffect(() => {
    const created = create();
    setCall(created);
    return () => {
      setCall(undefined);
      created.dispose();
    };
    // `deps` are the caller's, as with useEffect's own.
  }, deps);
  return call;
}
