/**
 * HTTP long-polling as one session's transport: the pending GET that packets are written to,
 * the queue of packets waiting for the next GET, and the POST bodies carrying the client's
 * packets. Every response written outside its request tick is corked.
 *
 * Bounds: the queue holds at most `maxBufferedBytes` (a client that stops polling is cut as a
 * slow consumer, like a WebSocket whose send buffer is full); one POST body at a time per
 * session, `maxConcurrentBodies` server-wide, each at most `maxPayload` bytes and `bodyTimeout`
 * ms; each pending GET takes one of its address's connection slots.
 */
import { decodePayload, encodePayload, type Packet as EnginePacket } from 'engine.io-parser';
import type { HttpResponse } from 'uWebSockets.js';
import type { EngineCloseReason } from '../../machines/engine-session-machine.js';
import type { Deadline } from './deadline-queue.js';
import { EngineErrorCode, writeEngineError, writeRefusal } from './engine-error.js';
import type { DeadlineTarget, EngineRuntime } from './engine-runtime.js';
import { endResponse, writeResponseHead, type ResponseStyle } from './response-style.js';
import { CLOSE, NOOP, type PollingSide, type TransportOwner } from './transport.js';

/**
 * Reasons for which the server ends a session whose client it believes alive. A polling client
 * with no GET pending then gets the close packet on its next GET (see PollingTombstones), as
 * engine.io's `socket.close()` does. For the other reasons the client is gone or misbehaved and
 * engine.io answers its next request 400 "Session ID unknown"; so does this engine.
 */
const CLOSES_ANNOUNCED_TO_POLLING: ReadonlySet<EngineCloseReason> = new Set<EngineCloseReason>([
  'connect timeout',
  'forced close',
  'server shutting down',
]);

/** The GET waiting for packets. */
interface PendingGet {
  readonly res: HttpResponse;
  readonly style: ResponseStyle;
}

/** A POST body being received; its deadline ends it if it stalls. */
class PostBody implements DeadlineTarget {
  finished = false;
  received = 0;
  readonly chunks: Buffer[] = [];
  deadline: Deadline | null = null;

  constructor(
    private readonly transport: PollingTransport,
    readonly res: HttpResponse,
    readonly style: ResponseStyle,
  ) {}

  deadlinePassed(): void {
    this.transport.bodyTimedOut(this);
  }
}

/** The polling transport of one session. */
export class PollingTransport implements PollingSide {
  // On the prototype, not in every instance.
  get name(): 'polling' {
    return 'polling';
  }

  private owner: TransportOwner | null = null;
  private pending: PendingGet | null = null;
  private queue: EnginePacket[] = [];
  private queuedBytes = 0;
  private body: PostBody | null = null;
  private closed = false;

  constructor(
    private readonly runtime: EngineRuntime,
    /** The session's id, for its tombstone. */
    private readonly sid: string,
    private readonly address: string,
  ) {}

  /** Binds the session this transport carries. */
  attach(owner: TransportOwner): void {
    this.owner = owner;
  }

  // ---- Outbound -------------------------------------------------------------------------

  sendMessage(text: string): void {
    this.enqueue({ type: 'message', data: text }, text.length + 1);
  }

  sendBinary(data: Buffer): void {
    // Base64 on the wire: four bytes for every three.
    this.enqueue({ type: 'message', data }, Math.ceil(data.length / 3) * 4 + 2);
  }

  sendOpen(packet: string): void {
    this.enqueue({ type: 'open', data: packet.slice(1) }, packet.length);
  }

  sendPing(): void {
    this.enqueue({ type: 'ping' }, 1);
  }

  releaseWithNoop(): void {
    if (this.queue.length === 0) this.respond(NOOP);
  }

  handOver(): EnginePacket[] {
    const packets = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.respond(NOOP);
    return packets;
  }

  private enqueue(packet: EnginePacket, bytes: number): void {
    if (this.closed) return;
    this.queue.push(packet);
    this.queuedBytes += bytes;
    if (this.queuedBytes > this.runtime.options.maxBufferedBytes && this.pending === null) {
      this.owner?.fault('slow consumer', `${this.queuedBytes} bytes queued for a client that does not poll`);
      return;
    }
    this.flush();
  }

  /** Answers the pending GET with everything queued, if both exist. */
  private flush(): void {
    if (this.pending === null || this.queue.length === 0) return;
    const packets = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    let carriesPing = false;
    for (const packet of packets) if (packet.type === 'ping') carriesPing = true;
    encodePayload(packets, (payload) => this.respond(payload));
    if (carriesPing) this.owner?.pingDelivered();
  }

  /** Ends the pending GET with `payload`. */
  private respond(payload: string): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    this.runtime.addresses.releaseConnection(this.address);
    const { res, style } = pending;
    res.cork(() => {
      writeResponseHead(res, '200 OK', style);
      res.writeHeader('Content-Type', 'text/plain; charset=UTF-8');
      endResponse(res, style, payload);
    });
  }

  close(reason: EngineCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.body?.deadline?.cancel();
    if (this.pending !== null) {
      // A client's close packet releases its pending GET with a noop, anything else with close.
      this.respond(reason === 'transport close' ? NOOP : CLOSE);
    } else if (CLOSES_ANNOUNCED_TO_POLLING.has(reason)) {
      this.runtime.tombstones.add(this.sid);
    }
  }

  // ---- Inbound (called by the HTTP route) ------------------------------------------------

  /** The handshake GET: it is the first poll, and the open packet answers it. */
  acceptHandshake(res: HttpResponse, style: ResponseStyle): void {
    // Counted like any pending GET, and released as the open packet answers it.
    this.runtime.addresses.takeConnection(this.address);
    this.pending = { res, style };
  }

  /** A long-poll GET. */
  receiveGet(res: HttpResponse, style: ResponseStyle): void {
    if (this.pending !== null) {
      // engine.io: "overlap from client" is a transport error.
      writeEngineError(res, EngineErrorCode.badRequest, style);
      this.owner?.transportClosed(this, 'transport error');
      return;
    }
    const refusal = this.runtime.addresses.takeConnection(this.address);
    if (refusal !== undefined) {
      writeRefusal(res, refusal, style);
      return;
    }
    res.onAborted(() => {
      if (this.pending?.res !== res) return;
      this.pending = null;
      this.runtime.addresses.releaseConnection(this.address);
      this.owner?.transportClosed(this, 'transport close');
    });
    this.pending = { res, style };
    this.flush();
  }

  /** A POST of packets; `declaredLength` is its Content-Length header ('' when absent). */
  receivePost(res: HttpResponse, declaredLength: string, style: ResponseStyle): void {
    const { runtime } = this;
    const { maxPayload, maxConcurrentBodies } = runtime.options;
    if (declaredLength !== '' && Number(declaredLength) > maxPayload) {
      writeResponseHead(res, '413 Payload Too Large', style);
      endResponse(res, style);
      this.owner?.fault('payload too large', `POST of ${declaredLength} bytes declared, at most ${maxPayload}`);
      return;
    }
    if (this.body !== null) {
      writeEngineError(res, EngineErrorCode.badRequest, style);
      this.owner?.transportClosed(this, 'transport error');
      return;
    }
    if (runtime.bodiesInFlight >= maxConcurrentBodies) {
      runtime.stats.countRefusal('concurrent bodies');
      writeRefusal(res, { status: '503 Service Unavailable', message: 'Too many requests in flight' }, style);
      return;
    }
    const body = new PostBody(this, res, style);
    this.body = body;
    runtime.bodiesInFlight += 1;
    body.deadline = runtime.bodies.schedule(body);
    res.onAborted(() => {
      if (this.finishBody(body)) this.owner?.transportClosed(this, 'transport error');
    });
    res.onData((chunk, isLast) => this.receiveChunk(body, chunk, isLast));
  }

  private receiveChunk(body: PostBody, chunk: ArrayBuffer, isLast: boolean): void {
    if (body.finished) return;
    const { maxPayload } = this.runtime.options;
    body.received += chunk.byteLength;
    if (body.received > maxPayload) {
      this.finishBody(body);
      body.res.cork(() => {
        writeResponseHead(body.res, '413 Payload Too Large', { ...body.style, closeConnection: true });
        body.res.end(undefined, true);
      });
      this.owner?.fault('payload too large', `POST body over ${maxPayload} bytes`);
      return;
    }
    // uWS reuses the chunk's memory after this callback: copy it.
    body.chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    const payload = Buffer.concat(body.chunks, body.received).toString('utf8');
    this.finishBody(body);
    body.res.cork(() => {
      writeResponseHead(body.res, '200 OK', body.style);
      body.res.writeHeader('Content-Type', 'text/html');
      endResponse(body.res, body.style, 'ok');
    });
    if (this.closed) return;
    let packets: EnginePacket[];
    try {
      packets = decodePayload(payload);
    } catch {
      this.owner?.fault('parse error', 'undecodable polling payload');
      return;
    }
    for (const packet of packets) {
      if (this.closed) return;
      // A bare '4' decodes with no data: an empty message, as '4' over a WebSocket is.
      if (packet.type === 'message') this.owner?.receiveMessage((packet.data as string | Buffer | undefined) ?? '');
      else this.owner?.receivePacket(packet);
    }
  }

  /** The body's deadline passed before its last byte: 408, and the session is cut. */
  bodyTimedOut(body: PostBody): void {
    if (!this.finishBody(body)) return;
    body.res.cork(() => {
      writeResponseHead(body.res, '408 Request Timeout', { ...body.style, closeConnection: true });
      body.res.end(undefined, true);
    });
    this.owner?.fault('limit exceeded', `POST body not received within ${this.runtime.options.bodyTimeout} ms`);
  }

  /** Marks `body` finished and frees its slot; false if it already was. */
  private finishBody(body: PostBody): boolean {
    if (body.finished) return false;
    body.finished = true;
    body.deadline?.cancel();
    body.chunks.length = 0;
    this.runtime.bodiesInFlight -= 1;
    if (this.body === body) this.body = null;
    return true;
  }
}
