import { onScopeDispose, shallowReadonly, shallowRef, type ShallowRef } from 'vue';
import type { PeerAdapter } from 'parley/client';

/** The call's snapshot. */
export type CallSnapshot = ReturnType<PeerAdapter['getSnapshot']>;

/**
 * The call's snapshot as a ref, for templates and computed values. A snapshot is immutable and
 * replaced on every change, so a shallow ref is all the reactivity it needs. Unsubscribes when
 * the calling component (or effect scope) goes away.
 */
export function useParleyCall(call: PeerAdapter): Readonly<ShallowRef<CallSnapshot>> {
  const snapshot = shallowRef(call.getSnapshot());
  onScopeDispose(call.subscribe((next) => (snapshot.value = next)));
  return shallowReadonly(snapshot);
}
