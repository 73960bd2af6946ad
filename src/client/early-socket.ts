/**
 * A WebSocket to the signaling server that a page opens from its first inline script, before any
 * script file has arrived, and that socket.io-client adopts as its Engine.IO WebSocket transport
 * when the page connects (src/client/adopting-websocket.ts).
 *
 * On a real network every new connection costs round trips before its first byte (TCP, then
 * TLS), and so does every script file the page waits for. Opened from the page's head, the
 * WebSocket's handshakes run beside the script downloads instead of after them: the join reaches
 * the server that much sooner (docs/performance.md, "Eighth round: over a distance").
 */

/** The socket the inline script opened, and the messages it received before anyone listened. */
export interface EarlySocket {
  readonly socket: WebSocket;
  readonly received: (string | ArrayBuffer)[];
}

declare global {
  interface Window {
    /** The socket {@link openEarlySocket} opened, until a transport adopts it. */
    __parleyEarlySocket?: EarlySocket;
  }
}

/** Where socket.io-client (Engine.IO v4, default path) opens its WebSocket. */
const ENGINE_PATH = '/socket.io/';
const ENGINE_QUERY = 'EIO=4&transport=websocket';

/** Opens the Engine.IO WebSocket to this page's own server and keeps what it receives. Run by the inline script. */
export function openEarlySocket(): void {
  if (typeof WebSocket === 'undefined') return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}${ENGINE_PATH}?${ENGINE_QUERY}`);
  // As Engine.IO's own WebSocket transport has it.
  socket.binaryType = 'arraybuffer';
  const received: (string | ArrayBuffer)[] = [];
  socket.onmessage = ({ data }: MessageEvent<string | ArrayBuffer>) => received.push(data);
  window.__parleyEarlySocket = { socket, received };
}

/** Whether a socket opened early is waiting for its transport. */
export function hasEarlySocket(): boolean {
  return globalThis.window?.__parleyEarlySocket !== undefined;
}

/**
 * The early socket, if it goes to `url` (the URL Engine.IO's transport would open) and can still
 * be used; a closed one is dropped. Only the first caller gets it.
 */
export function takeEarlySocket(url: string): EarlySocket | undefined {
  const early = globalThis.window?.__parleyEarlySocket;
  if (early === undefined || !sameEndpoint(early.socket.url, url)) return undefined;
  delete window.__parleyEarlySocket;
  if (early.socket.readyState !== WebSocket.CONNECTING && early.socket.readyState !== WebSocket.OPEN) return undefined;
  return early;
}

/** Same host, path and query (in any order). */
function sameEndpoint(a: string, b: string): boolean {
  const [x, y] = [new URL(a), new URL(b)];
  const query = (u: URL) =>
    [...u.searchParams]
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join('&');
  return x.protocol === y.protocol && x.host === y.host && x.pathname === y.pathname && query(x) === query(y);
}
