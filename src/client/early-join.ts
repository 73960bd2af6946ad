/**
 * A join sent before anyone listens: the socket's CONNECT (which carries the room) leaves as
 * soon as the connection is open, while the page still waits for the camera, and what the server
 * sends meanwhile (`role`, `ice-servers`, the other peer's offer and candidates, or a refusal) is
 * held, then delivered in order to the listeners the adapter binds when it takes the socket.
 *
 * The gain is the whole wait for the camera: the other peer hears `ready` and makes its offer
 * while this page is still starting, instead of after (docs/performance.md, "Time to media").
 */
import type { HandshakeAuth } from '../protocol/signaling-events.js';
import type { SignalingSocket } from './signaling-client.js';

/** A socket that joined early, holding what it received until it is taken. */
export interface EarlyJoin {
  /** The auth the socket joined with. */
  readonly auth: HandshakeAuth;
  /**
   * The socket, for its new owner: what it held is delivered to the listeners bound by then
   * (listeners bound synchronously after this call, as the adapter's are), in arrival order.
   */
  take(): SignalingSocket;
  /** Nobody will take it: leave the room and close the socket. */
  discard(): void;
}

/** Events the socket delivers that are not a server's `emit`, so `onAny` does not see them. */
const RESERVED_HELD = ['connect_error'] as const;

/** Starts holding what `socket` receives; see {@link EarlyJoin}. */
export function joinEarly(socket: SignalingSocket, auth: HandshakeAuth): EarlyJoin {
  const held: { event: string; args: unknown[] }[] = [];
  const holdEmit = (event: string, ...args: unknown[]) => held.push({ event, args });
  const holdReserved = RESERVED_HELD.map((event) => {
    const listener = (...args: unknown[]) => held.push({ event, args });
    socket.on(event, listener);
    return () => socket.off(event, listener);
  });
  socket.onAny(holdEmit);
  // A tab closed before the page took the socket still leaves the room at once, as the
  // adapter's own `pagehide` does: the seat is not held for the recovery window.
  const onPageHide = () => discard();
  globalThis.addEventListener?.('pagehide', onPageHide);

  const stopHolding = () => {
    socket.offAny(holdEmit);
    for (const off of holdReserved) off();
    globalThis.removeEventListener?.('pagehide', onPageHide);
  };
  const discard = () => {
    stopHolding();
    held.length = 0;
    if (socket.connected) socket.emit('leave');
    socket.disconnect();
  };

  return {
    auth,
    take() {
      stopHolding();
      const pending = held.splice(0);
      if (pending.length > 0) {
        // socket.io-client's own order: catch-all listeners first, then the event's.
        queueMicrotask(() => {
          for (const { event, args } of pending) {
            if (event !== 'connect_error') for (const listener of socket.listenersAny()) listener(event, ...args);
            for (const listener of socket.listeners(event as 'connect_error'))
              (listener as (...a: unknown[]) => void)(...args);
          }
        });
      }
      return socket;
    },
    discard,
  };
}

/** Whether a join with `auth` is the one `early` made (same room, same secret, no resume token). */
export function sameJoin(early: EarlyJoin, auth: HandshakeAuth): boolean {
  return auth.room === early.auth.room && auth.secret === early.auth.secret && auth.resume === undefined;
}
