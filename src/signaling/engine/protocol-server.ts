/**
 * The protocol engine: Engine.IO v4 sessions over uWebSockets.js (HTTP long-polling and
 * WebSocket, with upgrade) carrying Socket.IO v5 namespaces, so a stock socket.io-client
 * connects. Applications plug in as {@link NamespaceHandler}s. Every piece of state belongs to
 * the server instance and is gone after {@link ProtocolServer.close}.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions } from './engine-options.js';
import { activeTransportOf } from '../../machines/engine-session-machine.js';
import { EngineRuntime } from './engine-runtime.js';
import type { EngineStats } from './engine-stats.js';
import type { NamespaceHandler } from './namespace-handler.js';
import { createPollingRoute } from './polling-route.js';
import { SessionTable } from './session-table.js';
import type { HandOver, HandOverRequest, SharedSessionStore } from './shared-session-store.js';
import { createWebSocketRoute } from './websocket-route.js';

export type { EngineOptions, EngineSessionObserver } from './engine-options.js';
export type {
  HandOver,
  HandOverRequest,
  SharedClaim,
  SharedSessionStore,
  SharedSocket,
} from './shared-session-store.js';
export type { EngineCloseReason } from '../../machines/engine-session-machine.js';

/** A Socket.IO-compatible server for one uWebSockets.js app. */
export class ProtocolServer {
  readonly options: ResolvedEngineOptions;
  private readonly namespaces = new Map<string, NamespaceHandler>();
  private readonly runtime: EngineRuntime;
  private readonly sessions: SessionTable;

  constructor(options?: EngineOptions) {
    this.options = resolveEngineOptions(options);
    this.runtime = new EngineRuntime(this.options);
    this.sessions = new SessionTable(this.runtime, this.namespaces);
  }

  /** Registers the handler of `namespace` (e.g. '/' or '/chat'). */
  of(namespace: string, handler: NamespaceHandler): void {
    this.namespaces.set(namespace, handler);
  }

  /** Registers the WebSocket route and the HTTP routes (GET/POST/OPTIONS) on the engine's path. */
  attach(app: TemplatedApp): void {
    const { path } = this.options;
    // The WebSocket route first: uWS yields non-upgrade GETs to the next matching route.
    app.ws(path, createWebSocketRoute(this.runtime, this.sessions));
    app.any(path, createPollingRoute(this.runtime, this.sessions));
  }

  /**
   * Closes every session with 'server shutting down' and stops the timers. Polling clients
   * with no GET pending get the close packet on their next GET while the app still listens.
   */
  close(): void {
    for (const session of [...this.sessions.byId.values()]) {
      session.send({ type: 'server.close', reason: 'server shutting down' });
    }
    this.runtime.clear();
  }

  /**
   * Closes every session with 'server shutting down', spread evenly over `spreadMs` so that
   * their clients do not all reconnect in the same instant. Each client is told the server is
   * going away (WebSocket close 1001, the close packet on polling) and reconnects by itself.
   * Resolves once every session that was open is closed.
   */
  drain(spreadMs: number): Promise<void> {
    const pending = [...this.sessions.byId.values()];
    const rounds = Math.max(1, Math.min(50, Math.ceil(spreadMs / 20)));
    const perRound = Math.ceil(pending.length / rounds);
    const { clock } = this.runtime;
    return new Promise((resolve) => {
      const round = (): void => {
        for (const session of pending.splice(0, perRound)) {
          session.send({ type: 'server.close', reason: 'server shutting down' });
        }
        if (pending.length === 0) resolve();
        else clock.setTimeout(round, spreadMs / rounds);
      };
      round();
    });
  }

  /**
   * With several nodes sharing connection state recovery (docs/scaling.md): every recoverable
   * socket is also recorded in `store`, and a CONNECT whose pid this engine does not hold is
   * claimed there. Call before serving; without recovery on, nothing changes.
   */
  shareSessions(store: SharedSessionStore): void {
    this.runtime.recovery?.share(store);
  }

  /** Another node claimed session `request.pid`: gives up its socket here, or says why not (see {@link HandOver}). */
  handOverSession(request: HandOverRequest): HandOver | undefined {
    return this.runtime.recovery?.handOver(request);
  }

  /** Open sessions. */
  get sessionCount(): number {
    return this.sessions.byId.size;
  }

  /** Connections (WebSockets and pending long-polls) the engine accounts for now. */
  get connectionCount(): number {
    return this.runtime.addresses.connections;
  }

  /** Counters since start: closes by reason, refusals by kind, rate-limited drops. */
  get stats(): EngineStats {
    return this.runtime.stats;
  }

  /** Open sessions by the transport carrying them ('upgrading': polling with a probe beside it). */
  sessionsByTransport(): Record<'polling' | 'upgrading' | 'websocket', number> {
    const counts = { polling: 0, upgrading: 0, websocket: 0 };
    for (const session of this.sessions.byId.values()) {
      const transport = activeTransportOf(session.snapshot.value);
      if (transport !== undefined) counts[transport] += 1;
    }
    return counts;
  }
}
