/**
 * The `parley` command line. Every flag has an environment variable (`--turn-secret` is
 * `PARLEY_TURN_SECRET`); repeatable flags take a comma-separated list there. Flags win.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeUwsImplementation, uwsIsNative } from './uws.js';
import { startParleyServer, type ParleyServerConfig } from './parley-server.js';
import { DEFAULT_TURN_TTL } from './turn-credentials.js';
import { serveCommandFor, startTurnServer, type RunningTurnServer } from './turn-server.js';

const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../web/', import.meta.url));

/** The text of `parley --help`. */
export const HELP = `parley: one-to-one WebRTC calls. Web app, signaling and TURN credentials on one port.

Usage:
  parley serve [options]     Run the web app and the signaling server.
  parley turn [options]      Run a development TURN server (coturn) on loopback.
  parley --help              Show this help.

Options of serve (each also read from the environment variable in brackets;
repeatable options take a comma-separated list there):
  --port N              Port to listen on; 0 picks a free one.       [PARLEY_PORT]  (9999)
  --host ADDR           Address to listen on. 0.0.0.0 or :: for all.  [PARLEY_HOST]  (127.0.0.1)
  --cors-origin ORIGIN  Let pages from ORIGIN use the signaling server
                        (long-polling CORS); '*' allows any. Repeatable.
                        WebSocket needs no CORS.                     [PARLEY_CORS_ORIGIN]
  --static DIR          Serve the web app from DIR.                  [PARLEY_STATIC]
                        (default: the built app in dist/web, if built)
  --turn-url URL        A TURN server, e.g. turn:turn.example.com:3478?transport=udp
                        or turns:turn.example.com:5349. Repeatable.  [PARLEY_TURN_URL]
  --turn-secret S       The shared secret of coturn's use-auth-secret
                        (static-auth-secret). Required with --turn-url.
                        It never leaves the server: clients get
                        credentials derived from it.                 [PARLEY_TURN_SECRET]
  --turn-ttl SECONDS    Lifetime of issued TURN credentials.         [PARLEY_TURN_TTL]  (${DEFAULT_TURN_TTL})
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

Options of turn (a development coturn on 127.0.0.1; it prints the matching
parley serve command line and runs until SIGINT or SIGTERM):
  --port N              UDP and TCP port of the TURN server; 0 picks a free one.  (3478)
  --secret S            Its static-auth-secret.                      (random)

Endpoints: / (web app), /socket.io/ (Socket.IO v5 / Engine.IO v4), /healthz.
SIGINT and SIGTERM close every session and stop the server.

Parley needs the native uWebSockets.js binary, which exists for Node 20. On another
Node version it refuses to start (set PARLEY_ALLOW_SLOW_UWS=1 to run the slow
JavaScript fallback anyway).
`;

/** A command line that cannot be run, with a message for the user. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `serve`'s options and environment into a server configuration. */
export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParleyServerConfig {
  return parseServeCommand(argv, env).config;
}

/** `serve`'s options: the server configuration, and whether to start a development TURN server too. */
export function parseServeCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { config: ParleyServerConfig; localTurn: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      static: { type: 'string' },
      'turn-url': { type: 'string', multiple: true },
      'turn-secret': { type: 'string' },
      'turn-ttl': { type: 'string' },
      'stun-url': { type: 'string', multiple: true },
      turn: { type: 'boolean' },
      'ping-interval': { type: 'string' },
      'ping-timeout': { type: 'string' },
      'max-payload': { type: 'string' },
    },
  });
  const one = (flag: keyof typeof values, variable: string): string | undefined =>
    (values[flag] as string | undefined) ?? nonEmpty(env[variable]);
  const many = (flag: keyof typeof values, variable: string): string[] =>
    (values[flag] as string[] | undefined) ??
    nonEmpty(env[variable])
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ??
    [];

  const corsOrigins = many('cors-origin', 'PARLEY_CORS_ORIGIN');
  const turnUrls = many('turn-url', 'PARLEY_TURN_URL');
  const turnSecret = one('turn-secret', 'PARLEY_TURN_SECRET');
  if (turnUrls.length > 0 && turnSecret === undefined) {
    throw new UsageError('--turn-url needs --turn-secret (the static-auth-secret coturn checks credentials with).');
  }
  const staticDir = one('static', 'PARLEY_STATIC') ?? (existsSync(DEFAULT_STATIC_DIR) ? DEFAULT_STATIC_DIR : undefined);
  if (staticDir !== undefined && !existsSync(staticDir))
    throw new UsageError(`--static ${staticDir}: no such directory.`);

  const localTurn = values.turn ?? ['1', 'true', 'yes'].includes(env['PARLEY_TURN'] ?? '');

  const config: ParleyServerConfig = {
    host: one('host', 'PARLEY_HOST') ?? '127.0.0.1',
    port: integer('--port', one('port', 'PARLEY_PORT') ?? '9999', 0, 65_535),
    corsOrigins: corsOrigins.includes('*') ? '*' : corsOrigins,
    staticDir,
    turn: {
      turnUrls,
      turnSecret,
      turnTtl: integer('--turn-ttl', one('turn-ttl', 'PARLEY_TURN_TTL') ?? String(DEFAULT_TURN_TTL), 60, 31_536_000),
      stunUrls: many('stun-url', 'PARLEY_STUN_URL'),
    },
    engine: {
      pingInterval: integer('--ping-interval', one('ping-interval', 'PARLEY_PING_INTERVAL') ?? '25000', 100, 3_600_000),
      pingTimeout: integer('--ping-timeout', one('ping-timeout', 'PARLEY_PING_TIMEOUT') ?? '20000', 100, 3_600_000),
      maxPayload: integer('--max-payload', one('max-payload', 'PARLEY_MAX_PAYLOAD') ?? '1000000', 1024, 100_000_000),
    },
  };
  return { config, localTurn };
}

/** Parses `turn`'s options. */
export function parseTurnOptions(argv: readonly string[]): { port: number; secret: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: { port: { type: 'string' }, secret: { type: 'string' } },
  });
  return { port: integer('--port', values.port ?? '3478', 0, 65_535), secret: values.secret };
}

/** Runs the command line; resolves with the process exit code, or never for a running server. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...rest] = argv;
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
  let config: ParleyServerConfig;
  let localTurn: boolean;
  try {
    ({ config, localTurn } = parseServeCommand(rest, env));
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message}\nSee parley --help.\n`);
    return 2;
  }

  if (!uwsIsNative) {
    process.stderr.write(`\n!!! ${describeUwsImplementation()}\n\n`);
    if (env['PARLEY_ALLOW_SLOW_UWS'] !== '1') return 1;
  } else {
    process.stdout.write(`${describeUwsImplementation()}\n`);
  }

  let turn: RunningTurnServer | undefined;
  let stopping = false;
  if (localTurn) {
    try {
      turn = await startTurnServer({
        secret: config.turn.turnSecret,
        onLog: (line) => process.stdout.write(`coturn: ${line}\n`),
      });
    } catch (error) {
      process.stderr.write(`parley: --turn: ${(error as Error).message}\n`);
      return 1;
    }
    config = {
      ...config,
      turn: { ...config.turn, turnUrls: [...config.turn.turnUrls, ...turn.turnUrls], turnSecret: turn.secret },
    };
    process.stdout.write(
      `Development TURN server (coturn) on ${turn.ip}:${turn.port}, relay ports ${turn.relayPorts.min}-${turn.relayPorts.max}\n`,
    );
    const running = turn;
    void running.exited.then((code) => {
      if (!stopping)
        process.stderr.write(`parley: the TURN server exited (${code ?? 'signal'}); relayed calls will fail\n`);
    });
  }

  const server = await startParleyServer(config);
  // Handlers first, then the line saying we are up: stdout to a pipe is synchronous, so whoever
  // waits for that line may signal us before the next statement runs.
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.stdout.write(`parley: ${signal}, closing all sessions\n`);
      stopping = true;
      server.close();
      // Resolves (exit code 0) once everything is closed; the loop then ends by itself.
      void (turn?.stop() ?? Promise.resolve()).then(() => resolve(0));
      // Don't hang if a socket lingers.
      setTimeout(() => process.exit(0), 2_000).unref();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write(
    `Parley is listening on ${server.url}\n` +
      (config.staticDir
        ? `Open ${server.url}/ in two browser tabs to make a call.\n`
        : 'No web app is served (build it with npm run build, or pass --static).\n'),
  );
  return stopped;
}

/** `parley turn`: coturn on loopback until SIGINT or SIGTERM. */
async function runTurn(argv: readonly string[]): Promise<number> {
  let options: { port: number; secret: string | undefined };
  try {
    options = parseTurnOptions(argv);
  } catch (error) {
    process.stderr.write(`parley: ${(error as Error).message}\nSee parley --help.\n`);
    return 2;
  }
  let turn: RunningTurnServer;
  try {
    turn = await startTurnServer({ ...options, onLog: (line) => process.stdout.write(`coturn: ${line}\n`) });
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
