/**
 * A signaling peer that speaks Engine.IO v4 / Socket.IO v5 by hand over a raw `ws` WebSocket,
 * so the load generator costs little per message and measures the server, not a client
 * library. Only what the bench needs: the handshake, heartbeats, the join events and `data`.
 * Protocols: https://github.com/socketio/engine.io-protocol (v4),
 * https://github.com/socketio/socket.io-protocol (v5).
 */
import WebSocket from 'ws';

/** What a peer tells its owner. `frame` is the whole Engine.IO text packet, as received. */
export interface WirePeerListener {
  joined(peer: WirePeer): void;
  ready(peer: WirePeer): void;
  data(peer: WirePeer, frame: Buffer): void;
  failed(peer: WirePeer, reason: string): void;
}

const CHAR_0 = 0x30;
const CHAR_2 = 0x32;
const CHAR_4 = 0x34;
const DATA_EVENT_PREFIX = Buffer.from('42["data"');
const TEXT_FRAME = { binary: false } as const;

/** True when the frame is `42["data",...`: an EVENT named data on namespace '/'. */
function isDataEvent(frame: Buffer): boolean {
  // Compared byte by byte: this runs for every relayed message.
  return (
    frame.length > 9 &&
    frame[0] === CHAR_4 &&
    frame[1] === CHAR_2 &&
    frame[4] === DATA_EVENT_PREFIX[4] &&
    frame[5] === DATA_EVENT_PREFIX[5] &&
    frame[6] === DATA_EVENT_PREFIX[6] &&
    frame[7] === DATA_EVENT_PREFIX[7] &&
    frame[8] === DATA_EVENT_PREFIX[8]
  );
}

/** One client connection to a signaling server, joined to one room. */
export class WirePeer {
  private readonly socket: WebSocket;
  /** How far the join got, for error messages: CONNECT acknowledged, `role`, `ice-servers`. */
  readonly progress = { connectAcknowledged: false, role: false, iceServers: false };
  private closing = false;
  /** The peer that received `ready` originates messages; the other echoes them. */
  isOriginator = false;

  /** `localAddress` is the loopback source address to connect from (default: the kernel's pick). */
  constructor(
    port: number,
    readonly room: string,
    private readonly listener: WirePeerListener,
    localAddress?: string,
  ) {
    const url = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&room=${encodeURIComponent(room)}`;
    // No compression offer and no UTF-8 validation: both would be client-side cost only. An
    // all-zero masking key lets ws skip masking and the per-frame randomFillSync (15% of the
    // generator's CPU otherwise); frames stay valid (RFC 6455 5.3), the server unmasks as usual.
    this.socket = new WebSocket(url, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: (mask: Buffer) => mask.fill(0),
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    this.socket.on('message', (frame: Buffer) => {
      if (isDataEvent(frame)) this.listener.data(this, frame);
      else this.onControlPacket(frame.toString('latin1'));
    });
    this.socket.on('error', (error: Error) => this.fail(`websocket error: ${error.message}`));
    this.socket.on('close', (code: number) => this.fail(`websocket closed (${code})`));
  }

  /** Sends an Engine.IO text packet. */
  send(packet: string): void {
    this.socket.send(packet);
  }

  /** Sends a received frame back unchanged, as text. */
  sendFrame(frame: Buffer): void {
    this.socket.send(frame, TEXT_FRAME);
  }

  /** Closes the connection; resolves once closed or after `timeoutMillis`. */
  close(timeoutMillis: number): Promise<void> {
    this.closing = true;
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, timeoutMillis);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close();
    });
  }

  private onControlPacket(packet: string): void {
    switch (packet.charCodeAt(0)) {
      case CHAR_0: // Engine.IO OPEN: connect to namespace '/'.
        this.send('40');
        return;
      case CHAR_2: // Engine.IO PING: answer PONG.
        this.send('3');
        return;
      case CHAR_4:
        this.onSocketIoPacket(packet);
        return;
      default: // NOOP, or CLOSE which the 'close' handler reports.
        return;
    }
  }

  private onSocketIoPacket(packet: string): void {
    const type = packet[1];
    if (type === '0') {
      // CONNECT acknowledged; the join events follow.
      this.progress.connectAcknowledged = true;
      return;
    }
    if (type === '1') return this.fail('server sent DISCONNECT');
    if (type === '4') return this.fail(`CONNECT_ERROR ${packet.slice(2)}`);
    if (type !== '2') return;
    const [name] = JSON.parse(packet.slice(2)) as [string, ...unknown[]];
    switch (name) {
      case 'role':
        this.progress.role = true;
        break;
      case 'ice-servers':
        this.progress.iceServers = true;
        break;
      case 'ready':
        this.isOriginator = true;
        this.listener.ready(this);
        return;
      case 'error':
        return this.fail(`error event ${packet.slice(2)}`);
      default:
        return;
    }
    if (this.progress.role && this.progress.iceServers) this.listener.joined(this);
  }

  private fail(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.listener.failed(this, reason);
  }
}
