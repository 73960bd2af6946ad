/**
 * Watches the signaling connection itself (socket.io-client's connect, disconnect and
 * reconnect events) so the page can say "connection to the server lost, reconnecting". What a
 * reconnect means for the call is the peer machine's business; this only reports the link.
 */
import type { SignalingSocket, SignalingSocketFactory } from '../signaling-client.js';

/** The signaling link as the user sees it. */
export type SignalingLink =
  | { readonly state: 'connecting' }
  | { readonly state: 'connected' }
  /** The link dropped and socket.io-client is retrying; `attempt` counts from 1. */
  | { readonly state: 'reconnecting'; readonly attempt: number; readonly reason: string }
  /** We closed it (hang-up), or the server did after `leave`. */
  | { readonly state: 'closed' };

/**
 * Wraps a socket factory so that every socket it opens reports its link state to `onChange`.
 * socket.io-client hands back the same Socket for the same URL after a disconnect, so each
 * socket is watched once.
 */
export function watchSignaling(
  open: SignalingSocketFactory,
  onChange: (link: SignalingLink) => void,
): SignalingSocketFactory {
  const watched = new WeakSet<SignalingSocket>();
  return (auth) => {
    const socket = open(auth);
    onChange(socket.connected ? { state: 'connected' } : { state: 'connecting' });
    if (watched.has(socket)) return socket;
    watched.add(socket);
    let lastReason = 'connection lost';
    socket.on('connect', () => onChange({ state: 'connected' }));
    socket.on('disconnect', (reason) => {
      lastReason = reason;
      // Only these two end the link for good; socket.io-client retries after every other reason.
      if (reason === 'io client disconnect' || reason === 'io server disconnect') onChange({ state: 'closed' });
      else onChange({ state: 'reconnecting', attempt: 0, reason });
    });
    socket.io.on('reconnect_attempt', (attempt) => onChange({ state: 'reconnecting', attempt, reason: lastReason }));
    socket.on('connect_error', (error: Error & { data?: unknown }) => {
      // A refusal carries data (room-full, ...) and is the peer machine's to report; anything
      // else is the server being unreachable while socket.io-client keeps trying.
      if (error.data === undefined && socket.active)
        onChange({ state: 'reconnecting', attempt: 0, reason: error.message });
    });
    return socket;
  };
}
