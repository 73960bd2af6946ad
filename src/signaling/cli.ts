/**
 * The `parley` command line. Every flag has an environment variable (`--turn-secret` is
 * `PARLEY_TURN_SECRET`); repeatable flags take a comma-separated list there. Flags win.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeUwsImplementation, uwsIsNative } from './uws.js';
import { startParleyServer, type ParleyServerConfig, type RunningParleyServer } from './parley-server.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
import { randomBytes } from 'node:crypto';
import { DEFAULT_TURN_RATE, DEFAULT_TURN_TTL } from './turn-credentials.js';
import { ENGINE_DEFAULTS } from './engine/engine-options.js';
import { DEFAULT_NODE_TTL_MILLIS, MIN_NODE_TTL_MILLIS } from './cluster/node-directory.js';
import { loadOrCreateResumeSecret, MIN_RESUME_SECRET_LENGTH } from './resume-secret.js';
import { isLoopbackHost } from './inspector/inspector-access.js';
import { productionCoturnConfig, serveCommandFor, startTurnServer, type RunningTurnServer } from './turn-server.js';

const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/** The text of `parley --help`. */
export const HELP = `parley: one-to-one WebRTC calls. Web app, signaling and TURN credentials on one port.

Usage:
  parley serve [options]     Run the web app and the signaling server.
  parley turn [options]      Run a development TURN server (coturn) on loopback.
  parley --help              Show this help.
  parley --version           Show the version.

Options of serve (each also read from the environment variable in brackets;
repeatable options take a comma-separated list there):
  --port N              Port to listen on; 0 picks a free one.       [PARLEY_PORT]  (9999)
  --host ADDR           Address to listen on. 0.0.0.0 or :: for all.  [PARLEY_HOST]  (127.0.0.1)
  --allowed-origin ORIGIN
                        Let pages from ORIGIN (e.g. https://app.example.com)
                        connect, over WebSocket and long-polling alike. Pages
                        of the server's own origin and of loopback always
                        may; '*' allows any page. Repeatable.        [PARLEY_ALLOWED_ORIGIN]
  --cors-origin ORIGIN  Deprecated name of --allowed-origin.         [PARLEY_CORS_ORIGIN]
  --static DIR          Serve the web app from DIR.                  [PARLEY_STATIC]
                        (default: the built app in dist/web, if built)
  --turn-url URL        A TURN server, e.g. turn:turn.example.com:3478?transport=udp
                        or turns:turn.example.com:5349. Repeatable.  [PARLEY_TURN_URL]
  --turn-secret S       The shared secret of coturn's use-auth-secret
                        (static-auth-secret). Required with --turn-url.
                        It never leaves the server: clients get
                        credentials derived from it.                 [PARLEY_TURN_SECRET]
  --turn-ttl SECONDS    Lifetime of issued TURN credentials.         [PARLEY_TURN_TTL]  (${DEFAULT_TURN_TTL})
  --turn-rate N         TURN credentials per minute per client address
                        (and as many at once); over it a client gets
                        STUN servers only.                           [PARLEY_TURN_RATE]  (${DEFAULT_TURN_RATE.perMinute})
  --stun-url URL        A STUN server, e.g. stun:stun.example.com:3478. Repeatable.
                                                                     [PARLEY_STUN_URL]
  --turn                Also start a development TURN server (Debian's coturn,
                        apt-get install coturn) on 127.0.0.1 and a free port,
                        with a generated secret (or --turn-secret), and hand
                        out credentials for it. For one machine only: see
                        docs/deployment.md for a public TURN server.  [PARLEY_TURN=1]
  --ping-interval MS    Engine.IO heartbeat interval.                [PARLEY_PING_INTERVAL]  (25000)
  --ping-timeout MS     Time to answer a heartbeat.                  [PARLEY_PING_TIMEOUT]  (20000)
  --max-payload BYTES   Largest accepted message or HTTP body.       [PARLEY_MAX_PAYLOAD]  (1000000)

  --cert FILE           HTTPS: PEM certificate (chain) file; with --key. A camera
                        works from other machines only over https.  [PARLEY_CERT]
  --key FILE            HTTPS: PEM private key file.                 [PARLEY_KEY]
  --trusted-proxy ADDR  A reverse proxy's address (as this server sees it, e.g.
                        127.0.0.1): its X-Forwarded-For names the client that
                        limits count. Repeatable.                    [PARLEY_TRUSTED_PROXY]
  --metrics on|off      Prometheus metrics at /metrics.              [PARLEY_METRICS]  (on)
  --metrics-token T     Require "Authorization: Bearer T" for /metrics. Without
                        it only direct requests from loopback get metrics.
                                                                     [PARLEY_METRICS_TOKEN]
  --inspect             The live state inspector: every room and session
                        machine, and the peers' machines, streamed at
                        /inspector/events (@statelyai/inspect's format), a
                        viewer at /inspector. Off by default. Off loopback it
                        needs a token (given, or generated and printed once).
                                                                     [PARLEY_INSPECT=1]
  --inspect-token T     Require ?token=T of inspector viewers.       [PARLEY_INSPECT_TOKEN]
  --drain-timeout S     On SIGTERM: stop accepting, tell clients to reconnect,
                        exit within S seconds.                       [PARLEY_DRAIN_TIMEOUT]  (10)
  --recovery-window S   Hold a dropped client's socket S seconds: back
                        within them, it gets the same socket and what it
                        missed (connection state recovery). 0: off.  [PARLEY_RECOVERY_WINDOW]  (120)
  --resume-secret S     Key of the tokens peers resume their calls with
                        after a restart (16+ characters). Default: one
                        made once in $XDG_STATE_HOME/parley/ (else in
                        ~/.local/state/parley/): restarts just work. [PARLEY_RESUME_SECRET]
  --redis URL           Share rooms with every node given the same Redis
                        (redis://host:port): several processes serve one
                        set of rooms. Without --resume-secret the nodes
                        share one kept in Redis. docs/scaling.md.  [PARLEY_REDIS_URL]
  --node-ttl SECONDS    With --redis: a node that has not reached Redis
                        for this long (heartbeats every third of it) is
                        taken for dead and its seats are released. Raise
                        it if a busy node's event loop can stall that
                        long. At least ${MIN_NODE_TTL_MILLIS / 1000}.                            [PARLEY_NODE_TTL]  (${DEFAULT_NODE_TTL_MILLIS / 1000})
  --log-level LEVEL     trace, debug, info, warn, error, fatal or silent. JSON
                        lines unless the output is a terminal.       [PARLEY_LOG_LEVEL]  (info)

Limits (docs/security.md explains each):
  --max-buffered-bytes BYTES
                        Bytes queued for one client before it is cut
                        as a slow consumer.                          [PARLEY_MAX_BUFFERED_BYTES]  (${ENGINE_DEFAULTS.maxBufferedBytes})
  --max-connections-per-address N
                        WebSocket connections plus pending long-polls
                        from one address.                            [PARLEY_MAX_CONNECTIONS_PER_ADDRESS]  (${ENGINE_DEFAULTS.maxConnectionsPerAddress})
  --max-sessions-per-address N
                        Open sessions of one address.                [PARLEY_MAX_SESSIONS_PER_ADDRESS]  (${ENGINE_DEFAULTS.maxSessionsPerAddress})
  --handshake-rate N    New sessions per second from one address.    [PARLEY_HANDSHAKE_RATE]  (${ENGINE_DEFAULTS.handshakeRate})
  --message-rate N      Messages per second from one client; the
                        excess is dropped with an error.             [PARLEY_MESSAGE_RATE]  (${ENGINE_DEFAULTS.messageRate})
  --max-concurrent-bodies N
                        Long-polling request bodies received at once,
                        server-wide; more are refused with 503.      [PARLEY_MAX_CONCURRENT_BODIES]  (${ENGINE_DEFAULTS.maxConcurrentBodies})

Behind a reverse proxy every connection comes from the proxy's address: name it
with --trusted-proxy, so that limits count the client its X-Forwarded-For names.

Options of turn (a development coturn on 127.0.0.1; it prints its configuration and
the matching parley serve command line, and runs until SIGINT or SIGTERM):
  --port N              UDP and TCP port of the TURN server; 0 picks a free one.  (3478)
  --secret S            Its static-auth-secret.                      (random)
  --print-config        Print a coturn configuration for a public TURN server
                        (denies private and loopback peers; edit the lines
                        marked CHANGE) and exit, running nothing.

Endpoints: / (web app), /socket.io/ (Socket.IO v5 / Engine.IO v4), /healthz, /metrics,
/inspector and /inspector/events (with --inspect only).
SIGTERM and SIGINT drain: stop accepting, close sessions with "server shutting
down" (clients reconnect), exit within --drain-timeout. A second signal exits at once.
With --redis the node's seats are held for --recovery-window, for its clients to
resume their calls on other nodes; then the other nodes release what is left.

Parley runs on the native uWebSockets.js build for its Node: Node 20 on any
glibc, Node 22 and 24 on glibc 2.38 or later. Without one it refuses to start
(it never runs the slow JavaScript fallback) and says what to install.
`;

/** A command line that cannot be run, with a message for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `serve`'s options and environment into a server configuration. */
export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParleyServerConfig {
  return parseServeCommand(argv, env).config;
}

/** `serve`'s command line, parsed. */
export interface ServeCommand {
  readonly config: ParleyServerConfig;
  /** Also start a development TURN server. */
  readonly localTurn: boolean;
  /** How long a graceful stop (SIGTERM) may take before the process exits anyway. */
  readonly drainTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** For the user (deprecated options). */
  readonly warnings: string[];
}

/** Parses `serve`'s options and environment. */
export function parseServeCommand(argv: readonly string[], env: NodeJS.ProcessEnv): ServeCommand {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      'cors-origin': { type: 'string', multiple: true },
      static: { type: 'string' },
      'turn-url': { type: 'string', multiple: true },
      'turn-secret': { type: 'string' },
      'turn-ttl': { type: 'string' },
      'turn-rate': { type: 'string' },
      'stun-url': { type: 'string', multiple: true },
      turn: { type: 'boolean' },
      'ping-interval': { type: 'string' },
      'ping-timeout': { type: 'string' },
      'max-payload': { type: 'string' },
      'max-buffered-bytes': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'max-sessions-per-address': { type: 'string' },
      'handshake-rate': { type: 'string' },
      'message-rate': { type: 'string' },
      'max-concurrent-bodies': { type: 'string' },
      'trusted-proxy': { type: 'string', multiple: true },
      cert: { type: 'string' },
      key: { type: 'string' },
      metrics: { type: 'string' },
      'metrics-token': { type: 'string' },
      inspect: { type: 'boolean' },
      'inspect-token': { type: 'string' },
      'drain-timeout': { type: 'string' },
      'recovery-window': { type: 'string' },
      'log-level': { type: 'string' },
      'resume-secret': { type: 'string' },
      redis: { type: 'string' },
      'node-ttl': { type: 'string' },
    },
  });
  const variableOf = (flag: string): string => `PARLEY_${flag.toUpperCase().replaceAll('-', '_')}`;
  const one = (flag: keyof typeof values): string | undefined =>
    (values[flag] as string | undefined) ?? nonEmpty(env[variableOf(flag)]);
  const many = (flag: keyof typeof values): string[] =>
    (values[flag] as string[] | undefined) ??
    nonEmpty(env[variableOf(flag)])
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ??
    [];
  /** A whole-number flag from `min` to `max`, `fallback` when absent. */
  const count = (flag: keyof typeof values, fallback: number, min: number, max: number): number =>
    integer(`--${flag}`, one(flag) ?? String(fallback), min, max);

  const warnings: string[] = [];
  const corsOrigins = many('cors-origin');
  if (corsOrigins.length > 0) warnings.push('--cors-origin (PARLEY_CORS_ORIGIN) is deprecated: use --allowed-origin.');
  const allowedOrigins = [...new Set([...many('allowed-origin'), ...corsOrigins])];
  const turnUrls = many('turn-url');
  const turnSecret = one('turn-secret');
  if (turnUrls.length > 0 && turnSecret === undefined) {
    throw new UsageError('--turn-url needs --turn-secret (the static-auth-secret coturn checks credentials with).');
  }
  const staticDir = one('static') ?? (existsSync(DEFAULT_STATIC_DIR) ? DEFAULT_STATIC_DIR : undefined);
  if (staticDir !== undefined && !existsSync(staticDir))
    throw new UsageError(`--static ${staticDir}: no such directory.`);

  const localTurn = values.turn ?? ['1', 'true', 'yes'].includes(env['PARLEY_TURN'] ?? '');
  const turnRate = count('turn-rate', DEFAULT_TURN_RATE.perMinute, 1, 1_000_000);

  const config: ParleyServerConfig = {
    host: one('host') ?? '127.0.0.1',
    port: count('port', 9999, 0, 65_535),
    allowedOrigins: allowedOrigins.includes('*') ? '*' : allowedOrigins,
    staticDir,
    turn: {
      turnUrls,
      turnSecret,
      turnTtl: count('turn-ttl', DEFAULT_TURN_TTL, 60, 31_536_000),
      stunUrls: many('stun-url'),
    },
    // A minute's worth at once, so the default is 10 at once, then 10 a minute.
    turnRate: { perMinute: turnRate, burst: turnRate },
    engine: {
      pingInterval: count('ping-interval', ENGINE_DEFAULTS.pingInterval, 100, 3_600_000),
      pingTimeout: count('ping-timeout', ENGINE_DEFAULTS.pingTimeout, 100, 3_600_000),
      maxPayload: count('max-payload', ENGINE_DEFAULTS.maxPayload, 1024, 100_000_000),
      maxBufferedBytes: count('max-buffered-bytes', ENGINE_DEFAULTS.maxBufferedBytes, 1024, 1_000_000_000),
      maxConnectionsPerAddress: count(
        'max-connections-per-address',
        ENGINE_DEFAULTS.maxConnectionsPerAddress,
        1,
        1_000_000,
      ),
      maxSessionsPerAddress: count('max-sessions-per-address', ENGINE_DEFAULTS.maxSessionsPerAddress, 1, 1_000_000),
      handshakeRate: count('handshake-rate', ENGINE_DEFAULTS.handshakeRate, 1, 1_000_000),
      messageRate: count('message-rate', ENGINE_DEFAULTS.messageRate, 1, 1_000_000),
      maxConcurrentBodies: count('max-concurrent-bodies', ENGINE_DEFAULTS.maxConcurrentBodies, 1, 1_000_000),
      // Absent: the server's default (2 minutes); 0 turns connection state recovery off.
      connectionStateRecovery: recoveryWindowOf(one('recovery-window')),
    },
  };
  const cert = one('cert');
  const key = one('key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together.');
  for (const file of [cert, key]) {
    if (file !== undefined && !existsSync(file)) throw new UsageError(`${file}: no such file.`);
  }
  const metrics = one('metrics') ?? 'on';
  if (metrics !== 'on' && metrics !== 'off') throw new UsageError(`--metrics must be on or off, got "${metrics}".`);
  const logLevel = one('log-level') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}".`);
  }
  const inspect = values.inspect ?? ['1', 'true', 'yes'].includes(env['PARLEY_INSPECT'] ?? '');
  const inspectToken = one('inspect-token');
  if (!inspect && inspectToken !== undefined)
    warnings.push('--inspect-token (PARLEY_INSPECT_TOKEN) does nothing without --inspect (PARLEY_INSPECT=1).');
  const redis = redisUrlOf(values.redis ?? nonEmpty(env['PARLEY_REDIS_URL']) ?? one('redis'));
  const nodeTtl = one('node-ttl');
  if (nodeTtl !== undefined && redis === undefined)
    warnings.push('--node-ttl (PARLEY_NODE_TTL) does nothing without --redis (PARLEY_REDIS_URL).');
  const withOperations: ParleyServerConfig = {
    ...config,
    engine: { ...config.engine, trustedProxies: many('trusted-proxy') },
    tls: cert !== undefined && key !== undefined ? { certFile: cert, keyFile: key } : undefined,
    metrics: { enabled: metrics === 'on', token: one('metrics-token') },
    ...(inspect ? { inspect: { token: inspectToken } } : {}),
    resumeSecret: resumeSecretOf(one('resume-secret')),
    // The variable names what it holds (a URL); PARLEY_REDIS, the flag's own name, works too.
    redis,
    ...(nodeTtl === undefined ? {} : { nodeTtlMs: nodeTtlOf(nodeTtl) }),
  };
  return {
    config: withOperations,
    localTurn,
    drainTimeoutMs: count('drain-timeout', 10, 1, 3_600) * 1000,
    logLevel: logLevel as LogLevel,
    warnings,
  };
}

/** `--recovery-window` in seconds: undefined when absent, false for 0. */
function recoveryWindowOf(value: string | undefined): false | { maxDisconnectionDuration: number } | undefined {
  if (value === undefined) return undefined;
  const seconds = integer('--recovery-window', value, 0, 86_400);
  return seconds === 0 ? false : { maxDisconnectionDuration: seconds * 1000 };
}

/** `--node-ttl` in seconds, as ms; too short a one is refused with the reason. */
function nodeTtlOf(value: string): number {
  const min = MIN_NODE_TTL_MILLIS / 1000;
  const seconds = integer('--node-ttl', value, 0, 3_600);
  if (seconds < min) {
    throw new UsageError(
      `--node-ttl must be at least ${min} seconds, got ${seconds}: heartbeats go every third of it, and one ` +
        'that Redis is slow to answer (2 s) or a reconnect (1 s) would get a live node taken for dead.',
    );
  }
  return seconds * 1000;
}

/** `--redis`: a `redis://` or `rediss://` URL, or undefined (rooms in memory). */
function redisUrlOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--redis needs a URL such as redis://127.0.0.1:6379, not "${value}".`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--redis needs a redis:// or rediss:// URL, not "${url.protocol}".`);
  }
  return value;
}

/** `--resume-secret`, checked for length; undefined lets `main` use the state file (resume-secret.ts). */
function resumeSecretOf(value: string | undefined): string | undefined {
  if (value !== undefined && value.length < MIN_RESUME_SECRET_LENGTH) {
    throw new UsageError(`--resume-secret needs at least ${MIN_RESUME_SECRET_LENGTH} characters.`);
  }
  return value;
}

/** `turn`'s options. */
export interface TurnOptions {
  readonly port: number;
  readonly secret: string | undefined;
  /** Print a production coturn configuration instead of running coturn. */
  readonly printConfig: boolean;
}

/** Parses `turn`'s options. */
export function parseTurnOptions(argv: readonly string[]): TurnOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: { port: { type: 'string' }, secret: { type: 'string' }, 'print-config': { type: 'boolean' } },
  });
  return {
    port: integer('--port', values.port ?? '3478', 0, 65_535),
    secret: values.secret,
    printConfig: values['print-config'] ?? false,
  };
}

/** Parley's version, from its package.json. */
export function parleyVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/** The addresses others on this machine's networks can reach it at (for a wildcard bind). */
function networkAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')
    .map((entry) => entry!.address);
}

/** Runs the command line; resolves with the process exit code, or never for a running server. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`parley ${parleyVersion()}\n`);
    return 0;
  }
  if (
    command === undefined ||
    command === '--help' ||
    command === '-h' ||
    command === 'help' ||
    rest.includes('--help')
  ) {
    process.stdout.write(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command === 'turn') return runTurn(rest);
  if (command !== 'serve') {
    process.stderr.write(`parley: unknown command "${command}". See parley --help.\n`);
    return 2;
  }
  let serve: ServeCommand;
  try {
    serve = parseServeCommand(rest, env);
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message}\nSee parley --help.\n`);
    return 2;
  }
  const log = createLogger({ level: serve.logLevel });
  for (const warning of serve.warnings) log.warn({}, warning);
  let { config } = serve;
  // With --redis and no --resume-secret, the nodes share one through Redis (parley-server.ts).
  if (config.resumeSecret === undefined && config.redis === undefined) {
    // Tokens must outlive the process for a restart to resume calls: keep one secret per user.
    try {
      const kept = loadOrCreateResumeSecret(env);
      config = { ...config, resumeSecret: kept.secret };
      if (kept.created) log.info({ path: kept.path }, 'created the resume secret (--resume-secret)');
    } catch (error) {
      log.warn({}, `no resume secret kept (${(error as Error).message}): calls do not survive a restart`);
    }
  }

  if (!uwsIsNative) {
    // The one refusal an operator must see whatever reads the output: a log line and plain text.
    log.fatal({ node: process.version }, describeUwsImplementation());
    process.stderr.write(`\n!!! ${describeUwsImplementation()}\n\n`);
    return 1;
  }
  log.info({ version: parleyVersion(), node: process.version }, describeUwsImplementation());

  let turn: RunningTurnServer | undefined;
  let stopping = false;
  if (serve.localTurn) {
    try {
      turn = await startTurnServer({
        secret: config.turn.turnSecret,
        onLog: (line) => log.info({ source: 'coturn' }, line),
      });
    } catch (error) {
      log.fatal({}, `--turn: ${(error as Error).message}`);
      return 1;
    }
    config = {
      ...config,
      turn: { ...config.turn, turnUrls: [...config.turn.turnUrls, ...turn.turnUrls], turnSecret: turn.secret },
    };
    log.info(
      { ip: turn.ip, port: turn.port, relayPorts: turn.relayPorts },
      `Development TURN server (coturn) on ${turn.ip}:${turn.port}`,
    );
    const running = turn;
    void running.exited.then((code) => {
      if (!stopping) log.error({ code }, 'the TURN server exited; relayed calls will fail');
    });
  }

  let server: RunningParleyServer;
  try {
    server = await startParleyServer({ ...config, log });
  } catch (error) {
    log.fatal({ host: config.host, port: config.port }, (error as Error).message);
    await turn?.stop();
    return 1;
  }
  // Handlers first, then the line saying we are up: stdout to a pipe is synchronous, so whoever
  // waits for that line may signal us before the next statement runs.
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      // With --redis, leaving the cluster after the sessions takes up to 4 s more (parley-server.ts):
      // the spread gives it that time within the drain timeout, so the seats are held, not lost.
      const leaveMs = config.redis === undefined ? 0 : 4_000;
      const spreadMs = Math.min(5_000, Math.max(0, serve.drainTimeoutMs - leaveMs) / 2);
      log.info(
        { signal, sessions: server.engine.sessionCount, spreadMs, timeoutMs: serve.drainTimeoutMs },
        `${signal}: draining, not accepting; clients are told to reconnect`,
      );
      // The bound: whatever lingers, the process is gone by then.
      setTimeout(() => {
        log.warn({}, 'drain timeout: exiting');
        process.exit(0);
      }, serve.drainTimeoutMs).unref();
      void server
        .drain(spreadMs)
        .then(() => turn?.stop())
        .then(() => {
          log.info({}, 'drained, exiting');
          resolve(0);
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  announce(log, server, config);
  return stopped;
}

/** The start-up lines: where to connect, and what a camera needs from here. */
function announce(log: Logger, server: RunningParleyServer, config: ParleyServerConfig): void {
  log.info({ url: server.url }, `Parley is listening on ${server.url}`);
  announceInspector(log, server.inspector);
  if (config.staticDir === undefined)
    log.info({}, 'No web app is served (build it with npm run build, or pass --static).');
  else log.info({}, `Open ${server.url}/ in two browser tabs to make a call.`);
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  if (wildcard) {
    const scheme = config.tls ? 'https' : 'http';
    for (const address of networkAddresses()) log.info({}, `On your network: ${scheme}://${address}:${server.port}/`);
  }
  if (isLoopbackHost(config.host)) {
    log.info(
      {},
      'Only this machine can connect. To call someone on your network: --host 0.0.0.0 with --cert and --key ' +
        '(browsers give the camera only to https pages, or to localhost).',
    );
  } else if (config.tls === undefined) {
    log.warn(
      {},
      'Serving plain http to other machines: their browsers will refuse camera and microphone (an http page ' +
        'on a network address is not a secure context). Give --cert and --key, or put Parley behind an https proxy.',
    );
  }
}

/**
 * The inspector's line. A generated token is printed here, once, and nowhere else; a token the
 * operator gave is not repeated into the log.
 */
function announceInspector(log: Logger, inspector: RunningParleyServer['inspector']): void {
  if (inspector === undefined) return;
  const { access } = inspector;
  const page = inspector.pageUrl.replace(/\?token=.*$/, '');
  if (access.token === undefined) {
    log.info({ url: page }, `Live state inspector on ${page} (stream: ${inspector.eventsUrl})`);
  } else if (access.generated) {
    log.info(
      { url: page },
      `Live state inspector on ${inspector.pageUrl} (stream: ${inspector.eventsUrl}); the token is generated ` +
        'for this run and printed only here (--inspect-token sets one).',
    );
  } else {
    log.info({ url: page }, `Live state inspector on ${page}?token=<your --inspect-token>`);
  }
}

/** `parley turn`: coturn on loopback until SIGINT or SIGTERM. */
async function runTurn(argv: readonly string[]): Promise<number> {
  let options: TurnOptions;
  try {
    options = parseTurnOptions(argv);
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message}\nSee parley --help.\n`);
    return 2;
  }
  if (options.printConfig) {
    process.stdout.write(productionCoturnConfig({ secret: options.secret ?? randomBytes(32).toString('base64url') }));
    return 0;
  }
  let turn: RunningTurnServer;
  try {
    turn = await startTurnServer({
      port: options.port,
      secret: options.secret,
      onLog: (line) => process.stdout.write(`coturn: ${line}\n`),
    });
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message}\n`);
    return 1;
  }
  // Handlers before the line saying we are up, as for serve: a waiting parent may signal at once.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      stopping = true;
      process.stdout.write(`parley: ${signal}, stopping the TURN server\n`);
      void turn.stop().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void turn.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`parley: the TURN server exited (${code ?? 'signal'})\n`);
      resolve(1);
    });
  });
  process.stdout.write(
    `coturn runs with this configuration (development only: it allows loopback peers; for a public\n` +
      `TURN server see parley turn --print-config and docs/deployment.md):\n` +
      turn.config.replace(/^(?=.)/gm, '  ') +
      `TURN server (coturn) listening on ${turn.ip}:${turn.port} (UDP and TCP), relay ports ${turn.relayPorts.min}-${turn.relayPorts.max}.\n` +
      `Run Parley with it:\n  ${serveCommandFor(turn)}\n`,
  );
  return stopped;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}".`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
