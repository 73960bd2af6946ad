/**
 * socket.io-client's transports for a page that opened its Engine.IO WebSocket early
 * (src/client/early-socket.ts): the WebSocket transport takes that socket instead of opening one.
 */
import { transports as engineTransports } from 'engine.io-client';
import { takeEarlySocket, type EarlySocket } from './early-socket.js';

/**
 * Engine.IO's WebSocket transport that takes the early socket instead of opening one, when it
 * goes where this transport would. An open one counts as just opened, and the packets it
 * received meanwhile (the Engine.IO handshake) are read in order.
 */
class AdoptingWebSocket extends engineTransports.websocket {
  #adopted: EarlySocket | undefined;

  override createSocket(
    uri: string,
    protocols: string | string[] | undefined,
    opts: Record<string, unknown>,
  ): WebSocket {
    const early = takeEarlySocket(uri);
    if (early === undefined) return super.createSocket(uri, protocols, opts) as WebSocket;
    this.#adopted = early;
    return early.socket;
  }

  override doOpen() {
    super.doOpen();
    const early = this.#adopted;
    this.#adopted = undefined;
    // Still connecting: its `open` event reaches the handlers the transport has just set.
    if (early?.socket.readyState !== WebSocket.OPEN) return this;
    // Engine.IO's socket listens to a transport only once `open()` has returned; a message that
    // arrives later is a task of its own, so it comes after these.
    queueMicrotask(() => {
      this.onOpen();
      for (const data of early.received) this.onData(data);
    });
    return this;
  }
}

/**
 * The transports socket.io-client should use: WebSocket first (adopting the early socket), then
 * long-polling where WebSocket fails.
 */
export function adoptingTransports(): [typeof AdoptingWebSocket, typeof engineTransports.polling] {
  return [AdoptingWebSocket, engineTransports.polling];
}
