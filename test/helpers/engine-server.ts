/** A real ProtocolServer on a real uWS app on 127.0.0.1 and a free port, for engine tests. */
import { WebSocket } from 'ws';
import { uws } from '../../src/signaling/uws.js';
import {
  ProtocolServer,
  type EngineCloseReason,
  type EngineOptions,
} from '../../src/signaling/engine/protocol-server.js';
import type { ConnectRefusal, NamespaceHandler, ServerSocket } from '../../src/signaling/engine/namespace-handler.js';

/** A running engine and what it reported. */
export interface TestEngine {
  readonly engine: ProtocolServer;
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly url: string;
  /** `http://127.0.0.1:port/socket.io/?EIO=4&` + query */
  engineUrl(query: string, scheme?: 'http' | 'ws'): string;
  /** Sessions that ended, in order, with the engine's reason. */
  readonly closed: Array<{ sid: string; reason: EngineCloseReason }>;
  /** Resolves when session `sid` ends, with its reason. */
  closedSession(sid: string): Promise<EngineCloseReason>;
  stop(): void;
}

/** Starts an engine with `namespaces` on a free port. */
export function startEngine(options: EngineOptions, namespaces: Record<string, NamespaceHandler>): Promise<TestEngine> {
  const closed: Array<{ sid: string; reason: EngineCloseReason }> = [];
  const waiters = new Map<string, (reason: EngineCloseReason) => void>();
  const engine = new ProtocolServer({
    ...options,
    onSessionClosed(sid, reason) {
      closed.push({ sid, reason });
      waiters.get(sid)?.(reason);
      options.onSessionClosed?.(sid, reason);
    },
  });
  for (const [name, handler] of Object.entries(namespaces)) engine.of(name, handler);
  const app = uws.App();
  engine.attach(app);
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token) => {
      if (token === false) {
        reject(new Error('listen failed'));
        return;
      }
      const port = uws.us_socket_local_port(token);
      resolve({
        engine,
        port,
        url: `http://127.0.0.1:${port}`,
        engineUrl: (query, scheme = 'http') => `${scheme}://127.0.0.1:${port}/socket.io/?EIO=4&${query}`,
        closed,
        closedSession(sid) {
          const done = closed.find((c) => c.sid === sid);
          if (done) return Promise.resolve(done.reason);
          return new Promise((r) => waiters.set(sid, r));
        },
        stop() {
          engine.close();
          uws.us_listen_socket_close(token);
        },
      });
    });
  });
}

/** A namespace that records what happens and echoes `message` / `message-with-ack`. */
export function echoNamespace(): NamespaceHandler & {
  readonly sockets: ServerSocket[];
  readonly disconnects: Array<{ id: string; reason: string }>;
  readonly events: Array<{ name: string; args: unknown[]; encoded: string | undefined }>;
  /** EVENTs the engine dropped for the message rate (`rateLimited` calls), in order. */
  readonly rateLimitedEvents: Array<{ id: string; name: string }>;
} {
  const sockets: ServerSocket[] = [];
  const disconnects: Array<{ id: string; reason: string }> = [];
  const events: Array<{ name: string; args: unknown[]; encoded: string | undefined }> = [];
  const rateLimitedEvents: Array<{ id: string; name: string }> = [];
  return {
    sockets,
    disconnects,
    events,
    rateLimitedEvents,
    connect(socket): ConnectRefusal | undefined {
      sockets.push(socket);
      return socket.handshake.auth && (socket.handshake.auth as { refuse?: boolean }).refuse
        ? { message: 'refused', data: { why: 'test' } }
        : undefined;
    },
    connected() {},
    event(socket, name, args, ack, encoded) {
      events.push({ name, args, encoded });
      if (name === 'message') socket.emit('message-back', ...args);
      else if (name === 'message-with-ack') ack?.(...args);
      else if (name === 'relay' && encoded !== undefined) socket.sendEncoded(encoded);
      else if (name === 'leave') socket.disconnect();
      else if (name === 'ack-twice') {
        ack?.('first');
        ack?.('second');
      }
    },
    disconnect(socket, reason) {
      disconnects.push({ id: socket.id, reason });
    },
    rateLimited(socket, name) {
      rateLimitedEvents.push({ id: socket.id, name });
    },
  };
}

/** Reads a WebSocket's frames in order without ever missing one (frames may arrive together). */
export class FrameReader {
  private readonly frames: Array<string | Buffer> = [];
  private readonly waiting: Array<(frame: string | Buffer) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = isBinary ? data : data.toString();
      const waiter = this.waiting.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** The next frame. */
  next(): Promise<string | Buffer> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The next frame that is not a ping ('2'). */
  async nextNonPing(): Promise<string | Buffer> {
    for (;;) {
      const frame = await this.next();
      if (frame !== '2') return frame;
    }
  }
}

/** Opens a WebSocket and resolves once it is open, with a reader attached before any frame. */
export function openWebSocket(url: string): Promise<FrameReader> {
  const ws = new WebSocket(url);
  const reader = new FrameReader(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(reader));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Opens a direct WebSocket session and reads its open packet. */
export async function openWebSocketSession(test: TestEngine): Promise<{ reader: FrameReader; sid: string }> {
  const reader = await openWebSocket(test.engineUrl('transport=websocket', 'ws'));
  const open = (await reader.next()) as string;
  return { reader, sid: (JSON.parse(open.slice(1)) as { sid: string }).sid };
}

/** Opens a polling session: its sid and the parsed open packet. */
export async function openPollingSession(test: TestEngine): Promise<{ sid: string; open: Record<string, unknown> }> {
  const response = await fetch(test.engineUrl('transport=polling'));
  const text = await response.text();
  const open = JSON.parse(text.slice(1)) as Record<string, unknown>;
  return { sid: open['sid'] as string, open };
}

/** One long-poll GET; resolves with status and body. */
export async function poll(test: TestEngine, sid: string): Promise<{ status: number; body: string }> {
  const response = await fetch(test.engineUrl(`transport=polling&sid=${sid}`));
  return { status: response.status, body: await response.text() };
}

/** One POST of engine.io packets (joined with \x1e). */
export async function post(
  test: TestEngine,
  sid: string,
  ...packets: string[]
): Promise<{ status: number; body: string }> {
  const response = await fetch(test.engineUrl(`transport=polling&sid=${sid}`), {
    method: 'POST',
    body: packets.join('\x1e'),
  });
  return { status: response.status, body: await response.text() };
}
