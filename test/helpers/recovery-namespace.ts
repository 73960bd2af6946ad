/** A namespace handler that records what connection state recovery does to its sockets. */
import type {
  ConnectRefusal,
  DisconnectReason,
  NamespaceHandler,
  ServerSocket,
} from '../../src/signaling/engine/namespace-handler.js';

/** One call the engine made to the handler, in order. */
export type RecoveryCall =
  | { readonly kind: 'connect'; readonly socket: ServerSocket; readonly recovered: boolean }
  | { readonly kind: 'connected'; readonly socket: ServerSocket }
  | {
      readonly kind: 'disconnect';
      readonly socket: ServerSocket;
      readonly reason: DisconnectReason;
      readonly held: boolean;
    }
  | { readonly kind: 'expired'; readonly socket: ServerSocket };

/** The recording handler and what it saw. */
export interface RecoveryNamespace extends NamespaceHandler {
  readonly calls: RecoveryCall[];
  /** Every socket `connect()` was called with, fresh or recovered, once each. */
  readonly sockets: ServerSocket[];
  /** Refuses recovered sockets while true. */
  refuseRecovery: boolean;
  /** When set, `connect()` answers through this promise (an async handler). */
  connectAnswer: Promise<ConnectRefusal | undefined> | undefined;
  /** The calls of one socket, by kind. */
  callsOf(socket: ServerSocket): string[];
}

/**
 * Records every call. Events: `message` is echoed as `message-back`; `relay` sends the received
 * text back verbatim (`sendEncoded`).
 */
export function recoveryNamespace(): RecoveryNamespace {
  const calls: RecoveryCall[] = [];
  const sockets: ServerSocket[] = [];
  const handler: RecoveryNamespace = {
    calls,
    sockets,
    refuseRecovery: false,
    connectAnswer: undefined,
    callsOf(socket) {
      return calls
        .filter((call) => call.socket === socket)
        .map((call) => {
          if (call.kind === 'connect') return call.recovered ? 'connect(recovered)' : 'connect';
          if (call.kind === 'disconnect') return `disconnect(${call.reason}, ${call.held ? 'held' : 'gone'})`;
          return call.kind;
        });
    },
    connect(socket) {
      calls.push({ kind: 'connect', socket, recovered: socket.recovered });
      if (!sockets.includes(socket)) sockets.push(socket);
      if (socket.recovered && handler.refuseRecovery) return { message: 'no recovery here' };
      return handler.connectAnswer;
    },
    connected(socket) {
      calls.push({ kind: 'connected', socket });
    },
    event(socket, name, args, _ack, encoded) {
      if (name === 'message') socket.emit('message-back', ...args);
      else if (name === 'relay' && encoded !== undefined) socket.sendEncoded(encoded);
    },
    disconnect(socket, reason, held) {
      calls.push({ kind: 'disconnect', socket, reason, held });
    },
    expired(socket) {
      calls.push({ kind: 'expired', socket });
    },
    rateLimited() {},
  };
  return handler;
}
