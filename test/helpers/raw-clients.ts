/**
 * Wire-level clients for limit and origin tests: HTTP requests and WebSockets that choose their
 * loopback source address (127.0.0.2, 127.0.0.3, ...) and their headers (Origin, Host), and
 * that can stop halfway (a POST body that never finishes). Nothing here knows the engine's
 * internals; everything goes over the network.
 */
import http from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { WebSocket } from 'ws';

/** A finished HTTP exchange. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** How to send one HTTP request. */
export interface RawRequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Loopback source address, e.g. '127.0.0.2' (any 127/8 address works on Linux). */
  readonly localAddress?: string;
  /** An agent (keep-alive pools in the fuzzer); default: a fresh connection per request. */
  readonly agent?: http.Agent;
}

function readAnswer(res: http.IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
    );
    res.on('error', reject);
  });
}

/** Sends one request and reads the whole answer. */
export function httpRequest(url: string, options: RawRequestOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: {
        ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
        ...options.headers,
      },
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      agent: options.agent ?? false,
    });
    req.on('response', (res) => void readAnswer(res).then(resolve, reject));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A POST whose body arrives only in part until {@link PartialPost.finish}. */
export interface PartialPost {
  /** Settles when the server answers (possibly before the body is complete). */
  readonly answer: Promise<HttpAnswer>;
  /** True once an answer arrived. */
  answered(): boolean;
  /** Sends the rest of the body. */
  finish(): void;
  /** Drops the connection. */
  abort(): void;
}

/**
 * Starts a POST that announces `body.length` bytes and sends only the first `sentBytes`. The
 * connection is its own (no agent), so holding it open holds nothing else up.
 */
export function startPartialPost(
  url: string,
  body: string,
  sentBytes: number,
  options: { localAddress?: string; headers?: Record<string, string> } = {},
): PartialPost {
  let done = false;
  const req = http.request(url, {
    method: 'POST',
    headers: { 'content-length': String(Buffer.byteLength(body)), ...options.headers },
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    agent: false,
  });
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req.on('response', (res) => {
      void readAnswer(res).then((a) => {
        done = true;
        resolve(a);
      }, reject);
    });
    req.on('error', (error) => {
      // The server may answer early and close; a write after that fails, which is not news.
      if (!done) reject(error);
    });
  });
  answer.catch(() => {});
  req.flushHeaders();
  req.write(body.slice(0, sentBytes));
  return {
    answer,
    answered: () => done,
    finish: () => {
      if (!req.destroyed) req.end(body.slice(sentBytes));
    },
    abort: () => req.destroy(),
  };
}

/** A raw WebSocket client that records every frame and its close. */
export interface RawWebSocket {
  readonly ws: WebSocket;
  /** Frames received so far, text as strings, binary as Buffers. */
  readonly frames: Array<string | Buffer>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** Resolves with the first frame (from `from` on) that satisfies `match`. */
  waitForFrame(match: (frame: string | Buffer) => boolean, timeoutMs?: number, from?: number): Promise<string | Buffer>;
  /**
   * A WebSocket ping answered by a pong (uWS answers pings itself, in order): once it returns,
   * the server has handled every frame sent before. Resolves false if the socket closed first.
   */
  roundTrip(timeoutMs?: number): Promise<boolean>;
  /** Stops reading from the TCP socket (a client that has stopped consuming). */
  pauseReading(): void;
  resumeReading(): void;
}

/** Options of a raw WebSocket. */
export interface RawWebSocketOptions {
  readonly localAddress?: string;
  readonly origin?: string;
  readonly headers?: Record<string, string>;
}

/** The outcome of opening a WebSocket: open, or refused with an HTTP answer. */
export type WebSocketAttempt =
  { readonly opened: true; readonly socket: RawWebSocket } | { readonly opened: false; readonly refusal: HttpAnswer };

function wrapWebSocket(ws: WebSocket): RawWebSocket {
  const frames: Array<string | Buffer> = [];
  const listeners = new Set<() => void>();
  let closedFlag = false;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    frames.push(isBinary ? data : data.toString());
    for (const wake of [...listeners]) wake();
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      closedFlag = true;
      for (const wake of [...listeners]) wake();
      resolve({ code, reason: reason.toString() });
    }),
  );
  const netSocket = (): NetSocket | undefined => (ws as unknown as { _socket?: NetSocket })._socket;
  return {
    ws,
    frames,
    closed,
    isClosed: () => closedFlag,
    waitForFrame: (match, timeoutMs = 10_000, from = 0) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = frames.slice(from).find(match);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (closedFlag) {
            done();
            reject(new Error(`socket closed before the frame came; frames: ${describeFrames(frames)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching frame in ${timeoutMs} ms; frames: ${describeFrames(frames)}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    roundTrip: (timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        if (closedFlag || ws.readyState !== WebSocket.OPEN) {
          resolve(false);
          return;
        }
        const onPong = (): void => {
          done();
          resolve(true);
        };
        const onClose = (): void => {
          done();
          resolve(false);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no pong in ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          ws.off('pong', onPong);
          ws.off('close', onClose);
        };
        ws.on('pong', onPong);
        ws.on('close', onClose);
        ws.ping();
      }),
    pauseReading: () => netSocket()?.pause(),
    resumeReading: () => netSocket()?.resume(),
  };
}

function describeFrames(frames: Array<string | Buffer>): string {
  return JSON.stringify(
    frames.slice(-10).map((f) => (typeof f === 'string' ? f.slice(0, 120) : `<${f.length} bytes>`)),
  );
}

/** Opens a WebSocket; resolves when it is open or when the server refused the upgrade. */
export function openRawWebSocket(url: string, options: RawWebSocketOptions = {}): Promise<WebSocketAttempt> {
  const ws = new WebSocket(url, {
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  });
  const socket = wrapWebSocket(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: true, socket }));
    ws.once('unexpected-response', (_req, res) => {
      readAnswer(res).then((refusal) => resolve({ opened: false, refusal }), reject);
    });
    ws.once('error', (error) => reject(error));
  });
}

/** A direct WebSocket Engine.IO session: the socket and the sid from its open packet. */
export interface RawWebSocketSession {
  readonly socket: RawWebSocket;
  readonly sid: string;
}

/** `ws://host:port/socket.io/?EIO=4&transport=websocket` for a server at `baseUrl` (http://...). */
export function webSocketEngineUrl(baseUrl: string, query = ''): string {
  return `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket${query === '' ? '' : `&${query}`}`;
}

/** `http://host:port/socket.io/?EIO=4&transport=polling` (+ `&sid=` when given). */
export function pollingEngineUrl(baseUrl: string, sid?: string): string {
  return `${baseUrl}/socket.io/?EIO=4&transport=polling${sid === undefined ? '' : `&sid=${sid}`}`;
}

/** Opens a direct WebSocket session; throws if the upgrade is refused. */
export async function openRawWebSocketSession(
  baseUrl: string,
  options: RawWebSocketOptions = {},
): Promise<RawWebSocketSession> {
  const attempt = await openRawWebSocket(webSocketEngineUrl(baseUrl), options);
  if (!attempt.opened) throw new Error(`upgrade refused: HTTP ${attempt.refusal.status} ${attempt.refusal.body}`);
  const open = (await attempt.socket.waitForFrame((f) => typeof f === 'string' && f.startsWith('0{'))) as string;
  return { socket: attempt.socket, sid: (JSON.parse(open.slice(1)) as { sid: string }).sid };
}

/** Opens a WebSocket session and joins namespace '/' with `auth` (waits for the CONNECT ack). */
export async function openJoinedWebSocket(
  baseUrl: string,
  auth: Record<string, unknown> | undefined,
  options: RawWebSocketOptions = {},
): Promise<RawWebSocketSession> {
  const session = await openRawWebSocketSession(baseUrl, options);
  session.socket.ws.send(auth === undefined ? '40' : `40${JSON.stringify(auth)}`);
  await session.socket.waitForFrame((f) => typeof f === 'string' && (f.startsWith('40{') || f.startsWith('44')));
  return session;
}

/** A hand-driven long-polling client: one session, GETs and POSTs when told. */
export class RawPollingClient {
  sid = '';

  constructor(
    readonly baseUrl: string,
    readonly options: { localAddress?: string; origin?: string; agent?: http.Agent } = {},
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.origin === undefined ? {} : { origin: this.options.origin }), ...extra };
  }

  private request(method: string, url: string, body?: string | Buffer): Promise<HttpAnswer> {
    return httpRequest(url, {
      method,
      headers: this.headers(),
      ...(body === undefined ? {} : { body }),
      ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
      ...(this.options.agent === undefined ? {} : { agent: this.options.agent }),
    });
  }

  /** The handshake GET; on 200 remembers the sid. */
  async handshake(): Promise<HttpAnswer> {
    const answer = await this.request('GET', pollingEngineUrl(this.baseUrl));
    if (answer.status === 200) this.sid = (JSON.parse(answer.body.slice(1)) as { sid: string }).sid;
    return answer;
  }

  /** One long-poll GET. */
  get(): Promise<HttpAnswer> {
    return this.request('GET', pollingEngineUrl(this.baseUrl, this.sid));
  }

  /** One POST of engine.io packets joined with the record separator. */
  post(...packets: string[]): Promise<HttpAnswer> {
    return this.request('POST', pollingEngineUrl(this.baseUrl, this.sid), packets.join('\x1e'));
  }

  /** One POST of a raw body. */
  postBody(body: string | Buffer): Promise<HttpAnswer> {
    return this.request('POST', pollingEngineUrl(this.baseUrl, this.sid), body);
  }
}

/** Parses engine.io's JSON error body `{code, message}`, or undefined if it is not one. */
export function engineErrorBody(answer: HttpAnswer): { code: number; message: string } | undefined {
  try {
    const parsed = JSON.parse(answer.body) as { code?: unknown; message?: unknown };
    return typeof parsed.code === 'number' && typeof parsed.message === 'string'
      ? { code: parsed.code, message: parsed.message }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves after `ms` of real time (for network delivery only; engine time is simulated). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
