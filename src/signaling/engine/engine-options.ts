/**
 * Options of the protocol engine and their defaults. Timing follows engine.io's defaults; every
 * per-client resource has a bound (docs/security.md lists them with the reasoning behind each).
 */
import type { SnapshotFrom } from 'xstate';
import type {
  EngineCloseReason,
  EngineSessionEvent,
  EngineTransportName,
  engineSessionMachine,
} from '../../machines/engine-session-machine.js';
import { systemClock, type EngineClock } from './clock.js';
import { silentLog, type EngineLog } from './engine-log.js';

/** Which page origins may talk to the engine (see {@link EngineOptions.allowedOrigins}). */
export type AllowedOrigins = readonly string[] | '*';

/**
 * Watches every session's lifecycle as the session machine sees it (the live state inspector,
 * src/signaling/inspector). Called synchronously, before the effects of each event run; it must
 * not throw or feed the session. Without one the engine makes no call at all.
 */
export interface EngineSessionObserver {
  /** A session was made, in the machine's initial state, for a handshake over `transport`. */
  sessionOpened(
    sessionId: string,
    snapshot: SnapshotFrom<typeof engineSessionMachine>,
    info: { readonly transport: EngineTransportName },
  ): void;
  /** The session took `event` and is now in `snapshot` (status 'done' once it closed). */
  sessionEvent(sessionId: string, event: EngineSessionEvent, snapshot: SnapshotFrom<typeof engineSessionMachine>): void;
}

/**
 * Socket.IO's connection state recovery (v4.6 and later): a socket whose transport went away is
 * held for a while, and a client that reconnects within it gets the same socket back with what
 * it missed. See docs/protocol.md, "Connection state recovery".
 */
export interface ConnectionStateRecoveryOptions {
  /** ms a held socket waits for its client to come back; default 120000 (socket.io's). */
  maxDisconnectionDuration?: number;
  /**
   * Packets retained per socket that its client has not yet been proven to have read; default
   * 1000. Past that the oldest are dropped, and a client that had not read them gets a fresh
   * session instead of a recovered one (a held socket then expires at once).
   */
  maxRetainedPackets?: number;
  /** Bytes of retained packets per socket, bounded the same way; default 1 MiB. */
  maxRetainedBytes?: number;
}

/** Configuration of a {@link ProtocolServer}. Every field has a default. */
export interface EngineOptions {
  /** URL path the engine answers on; default '/socket.io/'. */
  path?: string;
  /** ms between server pings; default 25000. */
  pingInterval?: number;
  /** ms to wait for the pong before closing with 'ping timeout'; default 20000. */
  pingTimeout?: number;
  /** ms a polling → WebSocket upgrade may take; default 10000. */
  upgradeTimeout?: number;
  /** ms to receive a Socket.IO CONNECT after the Engine.IO open; default 45000. */
  connectTimeout?: number;
  /** Bytes: HTTP body and WebSocket frame limit, advertised in the handshake; default 1_000_000. */
  maxPayload?: number;

  /**
   * Page origins allowed to connect, on WebSocket upgrades and polling alike. A request without
   * an `Origin` header does not come from a browser page and always passes. Besides this list,
   * the server's own origin (the request's `Host`) and loopback origins always pass. `'*'`
   * allows every origin (CORS then answers `*`, never with credentials). Default: none besides
   * those.
   */
  allowedOrigins?: AllowedOrigins;

  /**
   * Addresses of reverse proxies in front of the engine (as uWS reports the peer, e.g.
   * '127.0.0.1'). A request from one of them is counted against the address the proxy appended
   * to `X-Forwarded-For`. Default none: every limit counts the connection's own peer address.
   */
  trustedProxies?: readonly string[];

  /** Bytes queued for one client (either transport) before it is cut as a slow consumer; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Attachments one binary packet may announce; default 10. */
  maxAttachments?: number;
  /** Bytes of all attachments of one binary packet; default 1_000_000. */
  maxAttachmentBytes?: number;
  /** ms for all attachments of a binary packet to arrive after its header; default 10000. */
  attachmentTimeout?: number;
  /** POST bodies being received at once, server-wide; more get 503; default 256. */
  maxConcurrentBodies?: number;
  /** ms a POST body may take to arrive; default 10000. */
  bodyTimeout?: number;
  /** Characters of an event name; default 128. */
  maxEventNameLength?: number;
  /** Largest ack id a client may use; default 2^31 - 1. */
  maxAckId?: number;
  /** Nesting depth of an event's arguments (arrays and objects); default 32. */
  maxDepth?: number;
  /** WebSocket connections plus pending long-poll requests from one address; default 100. */
  maxConnectionsPerAddress?: number;
  /** WebSocket connections plus pending long-poll requests in all; default 1_000_000 (the fd guard bounds the real number). */
  maxConnections?: number;
  /** Open Engine.IO sessions of one address; default 100. */
  maxSessionsPerAddress?: number;
  /** Handshakes (new sessions) per second from one address, sustained; default 20. */
  handshakeRate?: number;
  /** Handshakes one address may make in a burst; default 40. */
  handshakeBurst?: number;
  /** Socket.IO packets (CONNECT, EVENT, ACK) per second from one client, sustained; default 50. */
  messageRate?: number;
  /** Packets one client may send in a burst; default 100. */
  messageBurst?: number;
  /**
   * Packets dropped for exceeding the rate within 10 seconds before the client is closed with
   * 'rate limited'; default 100. Each dropped EVENT is answered with the handler's
   * `rateLimited()` (the signaling app emits an `error` coded `rate-limited`).
   */
  maxDroppedMessages?: number;

  /** Connection state recovery, or false (the default, as in socket.io) for none. */
  connectionStateRecovery?: ConnectionStateRecoveryOptions | false;

  /** Time source of every deadline; default the system's monotonic clock. Tests pass xstate's SimulatedClock. */
  clock?: EngineClock;
  /** Where the engine writes its structured warnings (bad input, cuts); default nowhere. */
  log?: EngineLog;
  /** Told once per session when it ends, with the engine's precise reason (logs, tests). */
  onSessionClosed?: (sessionId: string, reason: EngineCloseReason) => void;
  /** Told every session's lifecycle events (the inspector); default none, at no cost. */
  observer?: EngineSessionObserver;
}

/** {@link EngineOptions} with every default filled in. */
export type ResolvedEngineOptions = Readonly<
  Required<Omit<EngineOptions, 'onSessionClosed' | 'observer' | 'connectionStateRecovery'>> &
    Pick<EngineOptions, 'onSessionClosed' | 'observer'> & {
      connectionStateRecovery: Readonly<Required<ConnectionStateRecoveryOptions>> | false;
    }
>;

/** The defaults of {@link ConnectionStateRecoveryOptions}. */
export const RECOVERY_DEFAULTS = {
  maxDisconnectionDuration: 120_000,
  maxRetainedPackets: 1_000,
  maxRetainedBytes: 1_048_576,
} as const;

/** The defaults, for docs and the CLI's help. */
export const ENGINE_DEFAULTS = {
  path: '/socket.io/',
  pingInterval: 25_000,
  pingTimeout: 20_000,
  upgradeTimeout: 10_000,
  connectTimeout: 45_000,
  maxPayload: 1_000_000,
  allowedOrigins: [] as AllowedOrigins,
  trustedProxies: [] as readonly string[],
  maxBufferedBytes: 1_048_576,
  maxAttachments: 10,
  maxAttachmentBytes: 1_000_000,
  attachmentTimeout: 10_000,
  maxConcurrentBodies: 256,
  bodyTimeout: 10_000,
  maxEventNameLength: 128,
  maxAckId: 2_147_483_647,
  maxDepth: 32,
  maxConnectionsPerAddress: 100,
  maxConnections: 1_000_000,
  maxSessionsPerAddress: 100,
  handshakeRate: 20,
  handshakeBurst: 40,
  messageRate: 50,
  messageBurst: 100,
  maxDroppedMessages: 100,
  connectionStateRecovery: false,
} as const;

/** Fills in the defaults; an option given as `undefined` takes its default too. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  const given: EngineOptions = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const recovery = given.connectionStateRecovery;
  const connectionStateRecovery =
    recovery === undefined || recovery === false
      ? false
      : {
          ...RECOVERY_DEFAULTS,
          ...Object.fromEntries(Object.entries(recovery).filter(([, value]) => value !== undefined)),
        };
  return { ...ENGINE_DEFAULTS, clock: systemClock, log: silentLog, ...given, connectionStateRecovery };
}
