/**
 * The socket boundary of the browser side: opens the socket.io-client connection with the
 * shared typed events, validates every inbound payload once, and turns it into a peer machine
 * event. It decides nothing about the protocol.
 */
import { Manager, type ManagerOptions, type Socket } from 'socket.io-client';
import type { PeerEvent } from '../machines/peer-machine.js';
import type { SignalingStatus } from './call-snapshot.js';
import { adoptingTransports } from './adopting-websocket.js';
import { hasEarlySocket } from './early-socket.js';
import { joinEarly, sameJoin } from './early-join.js';
import { SIGNALING_ERROR_CODES, SignalingError, type SignalingErrorPayload } from '../protocol/signaling-error.js';
import {
  MAX_RESUME_TOKEN_LENGTH,
  parseSignal,
  type ClientToServerEvents,
  type HandshakeAuth,
  type IceServer,
  type IceServersPayload,
  type RolePayload,
  type ServerToClientEvents,
  type SignalPayload,
} from '../protocol/signaling-events.js';

/** The typed signaling socket the adapter talks through. */
export type SignalingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Opens a signaling socket for one join; the adapter calls it again to rejoin. */
export type SignalingSocketFactory = (auth: HandshakeAuth) => SignalingSocket;

/** How {@link connectSignaling} opens its connection. */
export interface ConnectSignalingOptions {
  /**
   * Open the connection to the server now, before the first join (e.g. while the camera is
   * starting), so that joining only sends the room over an open connection.
   */
  readonly preconnect?: boolean;
  /**
   * Join now with this auth, before anything listens (e.g. while the camera is starting): the
   * other peer hears `ready` and offers meanwhile. The first join with the same room and secret
   * gets this socket, and what the server sent it so far is delivered, in order, to the
   * listeners bound then (src/client/early-join.ts). A join with other auth opens a socket of its
   * own, and the early one leaves. Implies `preconnect`.
   */
  readonly join?: HandshakeAuth;
}

/**
 * WebSocket first: one upgrade request and the connection is open, where long-polling first
 * costs a polling handshake and an upgrade probe. Where WebSocket fails (a proxy that refuses
 * upgrades), socket.io-client falls back to long-polling.
 */
const SIGNALING_TRANSPORTS: Partial<ManagerOptions> = { transports: ['websocket', 'polling'], tryAllTransports: true };

/**
 * The default factory: a socket.io-client connection to `url` with the room in the handshake
 * auth, one Manager per join. Reconnection stays on: after a transport drop the server gives the
 * socket its session back (connection state recovery), or, after a restart, its seat back from
 * the resume token kept by {@link keepResumeToken}; only when neither works does it see a fresh
 * join, and the peer machine resets the call when the new `role` event arrives.
 */
export function connectSignaling(url: string, options: ConnectSignalingOptions = {}): SignalingSocketFactory {
  const { join } = options;
  // The page's inline script may have opened this connection's WebSocket already (early-socket.ts).
  const firstTransports: Partial<ManagerOptions> = hasEarlySocket()
    ? { ...SIGNALING_TRANSPORTS, transports: adoptingTransports() }
    : SIGNALING_TRANSPORTS;
  let preconnected = options.preconnect === true || join !== undefined ? new Manager(url, firstTransports) : undefined;
  let joined =
    join !== undefined && preconnected !== undefined
      ? joinEarly(preconnected.socket('/', { auth: { ...join } }), join)
      : undefined;
  return (auth) => {
    const taken = joined;
    joined = undefined;
    if (taken !== undefined) {
      preconnected = undefined;
      if (sameJoin(taken, auth)) return taken.take();
      taken.discard();
    }
    const manager = preconnected ?? new Manager(url, SIGNALING_TRANSPORTS);
    preconnected = undefined;
    return manager.socket('/', { auth: { ...auth } });
  };
}

/**
 * Forwards the socket's events to `send` as peer machine events until the returned function is
 * called. Payloads that break the contract are dropped and passed to `onInvalid`.
 */
export function bindSignaling(
  socket: SignalingSocket,
  send: (event: PeerEvent) => void,
  onInvalid: (error: SignalingError) => void = () => {},
): () => void {
  const guarded =
    <A extends unknown[]>(handle: (...args: A) => void) =>
    (...args: A) => {
      try {
        handle(...args);
      } catch (error) {
        if (error instanceof SignalingError) onInvalid(error);
        else throw error;
      }
    };

  const onReady = () => send({ type: 'signal.ready' });
  const onPeerLeft = () => send({ type: 'signal.peerLeft' });
  const onData = guarded((payload: unknown) => send(signalEvent(parseSignal(payload))));
  const onRole = guarded((payload: unknown) => {
    const { room, role, resumed } = parseRole(payload);
    // The server gave our old seat back (we presented our resume token after it restarted): the
    // call goes on over the same peer connection, and the machine must not hear of a new join.
    if (resumed === true) return;
    send({ type: 'signal.role', room, role });
  });
  const onIceServers = guarded((payload: unknown) => {
    const { iceServers, ttl } = parseIceServers(payload);
    send({ type: 'signal.iceServers', iceServers, ttl });
  });
  const onError = guarded((payload: unknown) => {
    const error = parseErrorPayload(payload, 'error');
    // A refused inspection batch is the inspection publisher's business, not the call's.
    if (error.code !== 'inspect-refused') send({ type: 'signal.error', ...error });
  });
  const onConnectError = (error: Error & { data?: unknown }) => {
    // Only a refusal by the signaling app carries a payload; other connect errors are
    // transport trouble that socket.io-client retries by itself.
    if (error.data === undefined) return;
    guarded(() => send({ type: 'signal.rejected', ...parseErrorPayload(error.data, 'connect_error') }))();
  };

  socket.on('ready', onReady);
  socket.on('peer-left', onPeerLeft);
  socket.on('data', onData);
  socket.on('role', onRole);
  socket.on('ice-servers', onIceServers);
  socket.on('error', onError);
  socket.on('connect_error', onConnectError);
  return () => {
    socket.off('ready', onReady);
    socket.off('peer-left', onPeerLeft);
    socket.off('data', onData);
    socket.off('role', onRole);
    socket.off('ice-servers', onIceServers);
    socket.off('error', onError);
    socket.off('connect_error', onConnectError);
  };
}

/**
 * Keeps the latest `resume-token` the server sends in the socket's CONNECT auth, so that a
 * reconnection (socket.io-client's own, to this server or the next process on its port)
 * presents it and gets the seat back, until the returned function is called. The token lives
 * with the socket: a rejoin opens another socket, which joins afresh.
 */
export function keepResumeToken(socket: SignalingSocket): () => void {
  const onToken = (payload: unknown) => {
    const token = (payload as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_RESUME_TOKEN_LENGTH) return;
    // `auth` is an object here (connectSignaling's); a function would compute it anew each time.
    if (typeof socket.auth === 'object') socket.auth = { ...socket.auth, resume: token };
  };
  socket.on('resume-token', onToken);
  return () => socket.off('resume-token', onToken);
}

/**
 * Reports the state of one socket's connection to `onChange` (now, then on every change) until
 * the returned function is called: connected, dropped and being retried by socket.io-client,
 * or closed for good (by us, or by the server after `leave`).
 */
export function watchSignalingLink(socket: SignalingSocket, onChange: (status: SignalingStatus) => void): () => void {
  let everConnected = socket.connected;
  const onConnect = () => {
    everConnected = true;
    onChange('connected');
  };
  const onDisconnect = (reason: string) => {
    // Only these two end the link for good; socket.io-client retries after every other reason.
    onChange(reason === 'io client disconnect' || reason === 'io server disconnect' ? 'disconnected' : 'reconnecting');
  };
  const onConnectError = (error: Error & { data?: unknown }) => {
    // A refusal carries data (room-full, ...) and is the peer machine's to report.
    if (error.data === undefined && socket.active) onChange(everConnected ? 'reconnecting' : 'connecting');
  };
  onChange(socket.connected ? 'connected' : 'connecting');
  socket.on('connect', onConnect);
  socket.on('disconnect', onDisconnect);
  socket.on('connect_error', onConnectError);
  return () => {
    socket.off('connect', onConnect);
    socket.off('disconnect', onDisconnect);
    socket.off('connect_error', onConnectError);
  };
}

function signalEvent(signal: SignalPayload): PeerEvent {
  switch (signal.type) {
    case 'offer':
      return { type: 'signal.offer', sdp: signal.sdp };
    case 'answer':
      return { type: 'signal.answer', sdp: signal.sdp };
    case 'candidate':
      return { type: 'signal.candidate', candidate: signal.candidate };
  }
}

function record(value: unknown, event: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw SignalingError.badPayload(event, 'expected an object');
  }
  return value as Record<string, unknown>;
}

function parseRole(value: unknown): RolePayload {
  const payload = record(value, 'role');
  const { room, role, resumed } = payload;
  if (typeof room !== 'string') throw SignalingError.badPayload('role', '"room" must be a string');
  if (role !== 'polite' && role !== 'impolite')
    throw SignalingError.badPayload('role', '"role" must be "polite" or "impolite"');
  return resumed === true ? { room, role, resumed } : { room, role };
}

function parseIceServers(value: unknown): IceServersPayload {
  const payload = record(value, 'ice-servers');
  const { iceServers, ttl } = payload;
  if (!Array.isArray(iceServers)) throw SignalingError.badPayload('ice-servers', '"iceServers" must be an array');
  if (typeof ttl !== 'number') throw SignalingError.badPayload('ice-servers', '"ttl" must be a number');
  return { iceServers: iceServers.map(parseIceServer), ttl };
}

function parseIceServer(value: unknown): IceServer {
  const server = record(value, 'ice-servers');
  const { urls, username, credential } = server;
  const urlsValid = typeof urls === 'string' || (Array.isArray(urls) && urls.every((url) => typeof url === 'string'));
  if (!urlsValid) throw SignalingError.badPayload('ice-servers', '"urls" must be a string or an array of strings');
  if (username !== undefined && typeof username !== 'string')
    throw SignalingError.badPayload('ice-servers', '"username" must be a string');
  if (credential !== undefined && typeof credential !== 'string')
    throw SignalingError.badPayload('ice-servers', '"credential" must be a string');
  return server as unknown as IceServer;
}

function parseErrorPayload(value: unknown, event: string): SignalingErrorPayload {
  const payload = record(value, event);
  const { code, message } = payload;
  if (typeof code !== 'string' || !SIGNALING_ERROR_CODES.has(code as SignalingErrorPayload['code'])) {
    throw SignalingError.badPayload(event, '"code" is not a known error code');
  }
  if (typeof message !== 'string') throw SignalingError.badPayload(event, '"message" must be a string');
  return { code: code as SignalingErrorPayload['code'], message };
}
