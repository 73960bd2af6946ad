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

/** Everything `parley serve` can be told. */
export interface ParleyServerConfig {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Origins allowed to use long-polling from another origin; `'*'` allows any. */
  readonly corsOrigins: readonly string[] | '*';
  /** Directory of the web app to serve at `/`, or undefined to serve none. */
  readonly staticDir: string | undefined;
  readonly turn: TurnConfig;
  /** Engine.IO timing and limits; defaults are socket.io's. */
  readonly engine?: Omit<EngineOptions, 'corsOrigins'>;
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
  const engine = new ProtocolServer({ ...config.engine, corsOrigins: config.corsOrigins });
  const signaling = new SignalingNamespace(config.turn);
  engine.of('/', signaling);
  engine.attach(app);

  app.get('/healthz', (res) => {
    const body = JSON.stringify({
      status: 'ok',
      uwsNative: uwsIsNative,
      sessions: engine.sessionCount,
      rooms: signaling.rooms.size,
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
      const port = uws.us_socket_local_port(token);
      const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
      resolve({
        port,
        url: `http://${hostInUrl}:${port}`,
        signaling,
        engine,
        close: () => {
          uws.us_listen_socket_close(token);
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
