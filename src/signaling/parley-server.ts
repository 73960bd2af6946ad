/**
 * Parley's server: one uWebSockets.js app on one port serving the signaling protocol
 * (Socket.IO over Engine.IO at /socket.io/), the web app, /healthz and /metrics, over HTTP or
 * HTTPS (`tls`).
 */
import { timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { uws, uwsIsNative } from './uws.js';
import { ProtocolServer, type EngineOptions } from './engine/protocol-server.js';
import { DEFAULT_HOLD_WINDOW_MS, SignalingNamespace } from './signaling-namespace.js';
import { loadStaticFiles, resolveStaticFile, sendStaticFile, type StaticFile } from './static-files.js';
import type { TurnConfig } from './turn-credentials.js';
import type { RateLimit } from './address-rate-limiter.js';
import type { AllowedOrigins } from './engine/engine-options.js';
import { silentLog, type EngineLog } from './engine/engine-log.js';
import { FdGuard, UwsListenSocket } from './fd-guard.js';
import { createMetrics } from './metrics.js';
import { InspectionHub } from './inspector/inspection-hub.js';
import { ClusterRoomView } from './inspector/cluster-room-view.js';
import { resolveInspectorAccess, type InspectorAccess } from './inspector/inspector-access.js';
import { INSPECTOR_EVENTS_PATH, routeInspector } from './inspector/inspector-routes.js';
import { endWith, getAndHead } from './head-response.js';
import { ClusterNode } from './cluster/cluster-node.js';
import { ClusterKeys } from './cluster/cluster-keys.js';
import { registerClusterMetrics } from './cluster/cluster-metrics.js';
import { DEFAULT_NODE_TTL_MILLIS, heartbeatMillisFor, MIN_NODE_TTL_MILLIS } from './cluster/node-directory.js';
import { roomMachine } from '../machines/room-machine.js';
import { sharedResumeSecret } from './shared-resume-secret.js';
import type { RoomCluster } from './signaling-namespace.js';
import { membershipSessionData } from './cluster/membership-session-data.js';

/** Everything `parley serve` can be told. */
export interface ParleyServerConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * Page origins besides the server's own (and loopback) that may connect, over WebSocket and
   * long-polling alike; `'*'` allows any. See docs/security.md, "Origins".
   */
  readonly allowedOrigins: AllowedOrigins;
  /** Directory of the web app to serve at `/`, or undefined to serve none. */
  readonly staticDir: string | undefined;
  readonly turn: TurnConfig;
  /** TURN credentials one client address may get; default 10 at once, then 10 a minute. */
  readonly turnRate?: RateLimit;
  /** Wall-clock time in ms for the signaling app (credential expiry, TURN rate); default `Date.now`. */
  readonly now?: () => number;
  /** Engine.IO timing and limits; defaults are socket.io's, limits in engine-options.ts. */
  readonly engine?: Omit<EngineOptions, 'allowedOrigins' | 'log'>;
  /** HTTPS: PEM certificate chain and private key files. Without it the server speaks HTTP. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /**
   * `/metrics` (Prometheus). On by default; without a token it answers only requests from
   * loopback that came through no proxy, with one only requests bearing it.
   */
  readonly metrics?: { readonly enabled: boolean; readonly token?: string };
  /** Structured log (pino's shape); default nowhere. */
  readonly log?: EngineLog;
  /**
   * The live state inspector (`--inspect`), off by default: when given, `/inspector/events`
   * streams every room and session machine and the peers' published machines. `token`:
   * required of viewers (`?token=`); without one it is needed only off loopback, where one is
   * generated (see inspector-access.ts). `public` treats a loopback address as reachable by others.
   */
  readonly inspect?: { readonly token?: string; readonly public?: boolean };
  /**
   * The key of resume tokens (`--resume-secret`): a restarted server given the same one takes
   * its peers back into their calls (docs/protocol.md, "Resume after a restart"). Default:
   * random per process (`parley serve` keeps one in the user's state directory instead).
   */
  readonly resumeSecret?: string;
  /**
   * `--redis redis://…`: rooms live in this Redis, shared by every node given it (docs/scaling.md).
   * Without it rooms live in this process's memory. Without `resumeSecret` the nodes share one
   * kept in Redis (shared-resume-secret.ts).
   */
  readonly redis?: string;
  /**
   * With `redis`: how long this node counts as alive after its last heartbeat (`--node-ttl`),
   * in ms; default {@link DEFAULT_NODE_TTL_MILLIS}, at least {@link MIN_NODE_TTL_MILLIS}. A node
   * whose event loop stalls longer is taken for dead and its seats are released; heartbeats go
   * every third of it. Dead nodes' seats are released within it plus one heartbeat.
   */
  readonly nodeTtlMs?: number;
}

/** Where the inspector of a running server is. */
export interface RunningInspector {
  /** `http://host:port/inspector`, with `?token=` when one is required. */
  readonly pageUrl: string;
  /** `ws://host:port/inspector/events`, with `?token=` when one is required. */
  readonly eventsUrl: string;
  readonly access: InspectorAccess;
  readonly hub: InspectionHub;
}

/** A listening server. */
export interface RunningParleyServer {
  readonly port: number;
  /** `http://host:port` or `https://...`. */
  readonly url: string;
  readonly signaling: SignalingNamespace;
  readonly engine: ProtocolServer;
  /** The live state inspector, when it is on. */
  readonly inspector: RunningInspector | undefined;
  /** With `redis`: this node of the cluster. */
  readonly cluster: RoomCluster | undefined;
  /** Stops listening and closes every session at once. */
  close(): void;
  /**
   * A graceful stop: stops accepting, then closes the sessions spread over `spreadMs` (each
   * client is told the server is going away and reconnects, to this port's next process),
   * then closes. Resolves once done, and at the latest after `spreadMs` + 1 s (with `redis`,
   * up to 4 s more: the seats' writes, then leaving the cluster, see docs/scaling.md).
   */
  drain(spreadMs: number): Promise<void>;
}

/** Thrown when the port is taken by another process. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** Starts Parley and resolves once it listens (with `redis`, once it also joined the cluster). */
export async function startParleyServer(config: ParleyServerConfig): Promise<RunningParleyServer> {
  if (config.redis === undefined) return listenParleyServer(config, undefined);
  const nodeTtlMs = config.nodeTtlMs ?? DEFAULT_NODE_TTL_MILLIS;
  if (!Number.isFinite(nodeTtlMs) || nodeTtlMs < MIN_NODE_TTL_MILLIS) {
    throw new RangeError(
      `The node TTL must be at least ${MIN_NODE_TTL_MILLIS / 1000} s (three heartbeats, each allowed a 2 s ` +
        `command timeout and a 1 s reconnect), got ${nodeTtlMs} ms.`,
    );
  }
  const log = config.log ?? silentLog;
  const keys = new ClusterKeys();
  // The node calls into the namespace, which needs the node: it is handed over once made.
  let signaling: SignalingNamespace | undefined;
  // With --inspect: the rooms with a seat on this node, shown to the inspector.
  let roomView: ClusterRoomView | undefined;
  const cluster = await ClusterNode.start({
    url: config.redis,
    log,
    keys,
    machine: roomMachine,
    input: (room) => ({ room }),
    isDisposable: (snapshot) => snapshot.value === 'empty',
    leaveEvent: (peerId) => ({ type: 'room.leave' as const, peerId }),
    hosts: (peerId) => signaling?.hostsPeer(peerId) ?? false,
    effect: (effect, room) => {
      signaling?.runClusterEffect(effect, room);
      roomView?.touched(room);
    },
    onStep: (room, event, snapshot) => roomView?.stepped(room, event, snapshot),
    deliver: (peerId, text) => signaling?.deliverRelayed(peerId, text),
    onEvicted: () => void signaling?.reseatAll(),
    // A client recovers its session on whichever node it reaches (docs/scaling.md).
    sessions: membershipSessionData,
    ttlMillis: nodeTtlMs,
    heartbeatMillis: heartbeatMillisFor(nodeTtlMs),
  });
  try {
    const resumeSecret = config.resumeSecret ?? (await sharedResumeSecret(cluster.links[0], keys.prefix));
    const server = await listenParleyServer({ ...config, resumeSecret }, cluster);
    signaling = server.signaling;
    if (server.inspector !== undefined) {
      roomView = new ClusterRoomView({
        observer: server.inspector.hub,
        seatedHere: (peerId) => cluster.directory.localSeats.has(peerId),
        read: (room) => cluster.rooms.read(room),
        onReadError: (room, error) =>
          log.warn({ room, error: (error as Error).message }, 'inspector: could not read a room from Redis'),
      });
    }
    log.info({ node: cluster.nodeId }, 'joined the cluster: rooms are shared through Redis');
    return server;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

function listenParleyServer(
  config: ParleyServerConfig,
  cluster: RoomCluster | undefined,
): Promise<RunningParleyServer> {
  const log = config.log ?? silentLog;
  const app = config.tls
    ? uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile })
    : uws.App();
  // Near the open-file limit the guard stops accepting (src/signaling/fd-guard.ts); the engine's
  // own connection limit defaults to the guard's budget, so it refuses with 503 before that.
  const fdGuard = new FdGuard({ log });
  const maxConnections = config.engine?.maxConnections ?? fdGuard.connectionBudget;
  // How long a seat waits for its peer: a held session's window; with a cluster, also how long a
  // stopping node's seats are held for their peers to resume on another node.
  const holdWindowMs = config.engine?.connectionStateRecovery
    ? config.engine.connectionStateRecovery.maxDisconnectionDuration
    : DEFAULT_HOLD_WINDOW_MS;
  const inspection = config.inspect && startInspection(config, config.inspect, log);
  const hub = inspection?.hub;
  const engine = new ProtocolServer({
    ...config.engine,
    // Parley holds a dropped peer's socket for 2 minutes by default (docs/protocol.md,
    // "Connection state recovery"); the engine alone does not.
    connectionStateRecovery: config.engine?.connectionStateRecovery ?? { maxDisconnectionDuration: 120_000 },
    maxConnections,
    allowedOrigins: config.allowedOrigins,
    log,
    observer: hub,
  });
  const signaling = new SignalingNamespace({
    turn: config.turn,
    turnRate: config.turnRate,
    now: config.now,
    inspector: hub,
    resumeSecret: config.resumeSecret,
    cluster,
    log,
    // A seat re-formed after a restart waits as long as a held session would.
    holdWindowMs: config.engine?.connectionStateRecovery
      ? config.engine.connectionStateRecovery.maxDisconnectionDuration
      : undefined,
  });
  engine.of('/', signaling);
  if (cluster?.sessions !== undefined) {
    const { sessions } = cluster;
    engine.shareSessions(sessions);
    sessions.serve((request) => engine.handOverSession(request));
  }
  engine.attach(app);

  routeHealth(app, () => ({
    status: 'ok',
    uwsNative: uwsIsNative,
    sessions: engine.sessionCount,
    // With a cluster the rooms are in Redis, shared by every node: this node counts its own view.
    rooms: cluster === undefined ? signaling.rooms.size : nodeView(cluster).rooms,
    files: fdGuard.state,
    ...(cluster === undefined ? {} : { cluster: clusterHealth(cluster) }),
  }));
  if (config.metrics?.enabled ?? true) {
    const registry = createMetrics({
      engine,
      signaling,
      files: () => {
        const { openFiles, fileLimit, accepting } = fdGuard.state;
        return { open: openFiles, limit: fileLimit, accepting };
      },
    });
    if (cluster !== undefined) registerClusterMetrics(registry, cluster);
    routeMetrics(app, config.metrics?.token, () => registry.metrics(), registry.contentType);
  }
  const files = config.staticDir === undefined ? new Map<string, StaticFile>() : loadStaticFiles(config.staticDir);
  routeInspector(app, hub, {
    access: inspection?.access ?? { token: undefined, generated: false },
    allowedOrigins: config.allowedOrigins,
    files,
  });
  routeStaticFiles(app, files);

  return new Promise((resolve, reject) => {
    // Exclusive: a second server on a taken port must fail, not share it (SO_REUSEPORT would
    // split connections, and so rooms, between the two processes).
    const listen = app.listen.bind(app) as unknown as (
      host: string,
      port: number,
      options: number,
      cb: (token: us_listen_socket | false) => void,
    ) => void;
    listen(config.host, config.port, LISTEN_EXCLUSIVE_PORT, (token) => {
      if (!token) {
        reject(
          new PortInUseError(
            `Cannot listen on ${config.host}:${config.port}: the port is in use by another process, or ` +
              `${config.host} is not an address of this machine.`,
          ),
        );
        return;
      }
      const listenSocket = new UwsListenSocket(app, config.host, config.port, token, LISTEN_EXCLUSIVE_PORT);
      fdGuard.start(listenSocket);
      const port = listenSocket.port;
      const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `${config.tls ? 'https' : 'http'}://${hostInUrl}:${port}`;
      const stopAccepting = (): void => {
        fdGuard.stop();
        listenSocket.close();
      };
      const closeApp = (): void => {
        // Also end idle keep-alive HTTP connections, which would otherwise keep the process up.
        // (The native App has close(); this build's typings lack it.)
        (app as typeof app & { close?: () => void }).close?.();
      };
      /**
       * With a cluster, after the sessions are closed, in order: the seat writes of the sockets
       * that went (each marked away, or left) reach Redis, bounded; then the node leaves, its
       * seats held for the recovery window so that their peers resume on another node; only then
       * are the connections closed (docs/scaling.md, "Graceful stop").
       */
      const leaveCluster = async (): Promise<void> => {
        if (cluster === undefined) return;
        const unsettled = await signaling.settleClusterWrites(CLUSTER_WRITES_SETTLE_MS);
        if (unsettled > 0) {
          log.warn(
            { unsettled },
            'stopping: some seat writes to Redis did not finish in time; the other nodes release those seats after the hold',
          );
        }
        await cluster.stop({ holdSeatsMillis: holdWindowMs, settleMillis: CLUSTER_WRITES_SETTLE_MS }).catch(() => {});
      };
      const viewerToken = inspection?.access.token;
      const query = viewerToken === undefined ? '' : `?token=${encodeURIComponent(viewerToken)}`;
      resolve({
        port,
        url,
        signaling,
        engine,
        cluster,
        inspector: inspection && {
          pageUrl: `${url}/inspector${query}`,
          eventsUrl: `${url.replace(/^http/, 'ws')}${INSPECTOR_EVENTS_PATH}${query}`,
          ...inspection,
        },
        close: () => {
          stopAccepting();
          signaling.stopping();
          engine.close();
          hub?.close();
          closeApp();
          void leaveCluster();
        },
        drain: async (spreadMs) => {
          stopAccepting();
          signaling.stopping();
          await engine.drain(spreadMs);
          engine.close();
          hub?.close();
          closeApp();
          await leaveCluster();
        },
      });
    });
  });
}

/** The inspector's access decision and its hub. */
function startInspection(
  config: ParleyServerConfig,
  inspect: NonNullable<ParleyServerConfig['inspect']>,
  log: EngineLog,
): { access: InspectorAccess; hub: InspectionHub } {
  const access = resolveInspectorAccess({ host: config.host, ...inspect });
  const hub = new InspectionHub({
    // Never shown wherever they turn up, e.g. echoed back by a browser into its machine's context.
    secrets: [config.turn.turnSecret, config.metrics?.token, access.token].filter((s) => s !== undefined),
    log,
    now: config.now,
  });
  return { access, hub };
}

/**
 * How long a stopping node waits for its seat writes, and then for its heartbeat and sweep in
 * flight, before it leaves the cluster anyway: 1 s each (on a reachable Redis they take
 * milliseconds; an unreachable one fails them at once).
 */
const CLUSTER_WRITES_SETTLE_MS = 1000;

/** A cluster node's own view of the rooms: those where it holds a seat, and how many seats. */
function nodeView(cluster: RoomCluster): { rooms: number; seats: number } {
  const seats = cluster.directory.localSeats;
  return { rooms: new Set(seats.values()).size, seats: seats.size };
}

/** `/healthz`'s `cluster` part: which node this is, whether Redis is up, and what `rooms` counts. */
function clusterHealth(cluster: RoomCluster): object {
  return {
    node: cluster.nodeId,
    redisUp: cluster.links.every((link) => link.up),
    nodeTtlMs: cluster.directory.ttlMillis,
    seats: nodeView(cluster).seats,
    rooms: 'counted on this node: rooms where it holds a seat (all rooms are in Redis)',
  };
}

/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT. */
const LISTEN_EXCLUSIVE_PORT = 1;

function routeHealth(app: TemplatedApp, health: () => object): void {
  getAndHead(app, '/healthz', (res, _req, head) => {
    const body = JSON.stringify(health());
    res.cork(() => {
      res.writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store');
      endWith(res, body, head);
    });
  });
}

function routeMetrics(
  app: TemplatedApp,
  token: string | undefined,
  render: () => Promise<string>,
  contentType: string,
): void {
  getAndHead(app, '/metrics', (res, req, head) => {
    const allowed = isMetricsRequestAllowed(res, req, token);
    if (!allowed) {
      res.cork(() => {
        res.writeStatus(token === undefined ? '403 Forbidden' : '401 Unauthorized');
        if (token !== undefined) res.writeHeader('www-authenticate', 'Bearer');
        res.writeHeader('content-type', 'text/plain');
        endWith(res, 'Metrics need a bearer token (--metrics-token), or a direct request from loopback.\n', head);
      });
      return;
    }
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void render().then(
      (text) => {
        if (aborted) return;
        res.cork(() => {
          res.writeHeader('content-type', contentType).writeHeader('cache-control', 'no-store');
          endWith(res, text, head);
        });
      },
      () => {
        if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
      },
    );
  });
}

/** With a token: the request bears it. Without: it comes from loopback, through no proxy. */
function isMetricsRequestAllowed(res: HttpResponse, req: HttpRequest, token: string | undefined): boolean {
  if (token !== undefined) {
    const given = Buffer.from(req.getHeader('authorization'));
    const wanted = Buffer.from(`Bearer ${token}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }
  const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  const proxied = req.getHeader('x-forwarded-for') !== '' || req.getHeader('forwarded') !== '';
  return loopback && !proxied;
}

function routeStaticFiles(app: TemplatedApp, files: ReadonlyMap<string, StaticFile>): void {
  getAndHead(app, '/*', (res, req, head) => {
    const file = resolveStaticFile(files, req.getUrl());
    if (file === undefined) {
      res.cork(() => {
        res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain');
        endWith(res, 'Not found\n', head);
      });
      return;
    }
    sendStaticFile(res, file, {
      ifNoneMatch: req.getHeader('if-none-match'),
      acceptEncoding: req.getHeader('accept-encoding'),
      head,
    });
  });
}
