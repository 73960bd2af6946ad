/**
 * Parley's server: one uWebSockets.js app on one port serving the signaling protocol
 * (Socket.IO over Engine.IO at /socket.io/), the web app, and /healthz.
 */
import type { HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { uws, uwsIsNative } from './uws.js';
import { ProtocolServer, type EngineOptions } from './engine/protocol-server.js';
import { SignalingNamespace } from './signaling-namespace.js';
import { loadStaticFiles, resolveStaticFile, type StaticFile } from './static-files.js';
import type { TurnConfig } from './turn-credentials.js';
import type { RateLimit } from './address-rate-limiter.js';
import type { AllowedOrigins } from './engine/engine-options.js';
import { FdGuard, UwsListenSocket } from './fd-guard.js';

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
  readonly engine?: Omit<EngineOptions, 'allowedOrigins'>;
}

/** A listening server. */
export interface RunningParleyServer {
  readonly port: number;
  readonly url: string;
  readonly signaling: SignalingNamespace;
  readonly engine: ProtocolServer;
  /** Stops listening and closes every session. */
  close(): void;
}

/** Starts Parley and resolves once it listens. */
export function startParleyServer(config: ParleyServerConfig): Promise<RunningParleyServer> {
  const app = uws.App();
  // Near the open-file limit the guard stops accepting (src/signaling/fd-guard.ts); the engine's
  // own connection limit defaults to the guard's budget, so it refuses with 503 before that.
  const fdGuard = new FdGuard({ log: config.engine?.log });
  const maxConnections = config.engine?.maxConnections ?? fdGuard.connectionBudget;
  const engine = new ProtocolServer({ ...config.engine, maxConnections, allowedOrigins: config.allowedOrigins });
  const signaling = new SignalingNamespace({ turn: config.turn, turnRate: config.turnRate, now: config.now });
  engine.of('/', signaling);
  engine.attach(app);

  app.get('/healthz', (res) => {
    const body = JSON.stringify({
      status: 'ok',
      uwsNative: uwsIsNative,
      sessions: engine.sessionCount,
      rooms: signaling.rooms.size,
      files: fdGuard.state,
    });
    res.cork(() =>
      res.writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(body),
    );
  });

  const files = config.staticDir === undefined ? new Map<string, StaticFile>() : loadStaticFiles(config.staticDir);
  app.get('/*', (res, req) => {
    const file = resolveStaticFile(files, req.getUrl());
    if (file === undefined) {
      res.cork(() => res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end('Not found\n'));
      return;
    }
    sendStaticFile(res, file, req.getHeader('if-none-match'));
  });

  return new Promise((resolve, reject) => {
    app.listen(config.host, config.port, (token: us_listen_socket | false) => {
      if (!token) {
        reject(
          new Error(`Cannot listen on ${config.host}:${config.port} (in use, or not an address of this machine).`),
        );
        return;
      }
      const listenSocket = new UwsListenSocket(app, config.host, config.port, token);
      fdGuard.start(listenSocket);
      const port = listenSocket.port;
      const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
      resolve({
        port,
        url: `http://${hostInUrl}:${port}`,
        signaling,
        engine,
        close: () => {
          fdGuard.stop();
          listenSocket.close();
          engine.close();
          // Also end idle keep-alive HTTP connections, which would otherwise keep the process up.
          // (The native App has close(); this build's typings lack it.)
          (app as typeof app & { close?: () => void }).close?.();
        },
      });
    });
  });
}

function sendStaticFile(res: HttpResponse, file: StaticFile, ifNoneMatch: string): void {
  res.cork(() => {
    if (ifNoneMatch === file.etag) {
      res.writeStatus('304 Not Modified').writeHeader('etag', file.etag).endWithoutBody();
      return;
    }
    res
      .writeHeader('content-type', file.contentType)
      .writeHeader('etag', file.etag)
      .writeHeader('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .writeHeader('x-content-type-options', 'nosniff')
      .end(file.body);
  });
}
