/**
 * The protocol engine: Engine.IO v4 sessions over uWebSockets.js (HTTP long-polling and
 * WebSocket, with upgrade) carrying Socket.IO v5 namespaces, so a stock socket.io-client
 * connects. Applications plug in as {@link NamespaceHandler}s.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { EngineContext } from './engine-context.js';
import { resolveEngineOptions, type EngineOptions, type ResolvedEngineOptions } from './engine-options.js';
import type { EngineSession } from './engine-session.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { NamespaceHandler } from './namespace-handler.js';
import { createPollingHandler } from './polling-transport.js';
import { PollingTombstones } from './polling-tombstones.js';
import { createWebSocketBehavior } from './websocket-transport.js';

export type { EngineOptions } from './engine-options.js';
export type { EngineCloseReason } from '../../machines/engine-session-machine.js';

/** A Socket.IO-compatible server for one uWebSockets.js app. */
export class ProtocolServer {
  private readonly options: ResolvedEngineOptions;
  private readonly namespaces = new Map<string, NamespaceHandler>();
  private readonly sessions = new Map<string, EngineSession>();
  private readonly context: EngineContext;

  constructor(options?: EngineOptions) {
    const resolved = resolveEngineOptions(options);
    this.options = resolved;
    const pingQueue = new DeadlineQueue<EngineSession>(resolved.pingInterval, (session, ticket, dueAt) => {
      if (session.pingTicket === ticket) session.sendPing(dueAt);
    });
    const pongQueue = new DeadlineQueue<EngineSession>(resolved.pingTimeout, (session, ticket) => {
      if (session.pongTicket === ticket) session.send({ type: 'heartbeat.timeout' });
    });
    const connectQueue = new DeadlineQueue<EngineSession>(resolved.connectTimeout, (session, ticket) => {
      if (session.connectTicket === ticket && session.sockets === null) session.send({ type: 'connect.timeout' });
    });
    const upgradeQueue = new DeadlineQueue<EngineSession>(resolved.upgradeTimeout, (session, ticket) => {
      if (session.upgradeTicket === ticket) session.send({ type: 'upgrade.timeout' });
    });
    const tail = `"pingInterval":${resolved.pingInterval},"pingTimeout":${resolved.pingTimeout},"maxPayload":${resolved.maxPayload}}`;
    this.context = {
      options: resolved,
      namespaces: this.namespaces,
      sessions: this.sessions,
      pingQueue,
      pongQueue,
      connectQueue,
      upgradeQueue,
      tombstones: new PollingTombstones(resolved.pingInterval + resolved.pingTimeout),
      openPacketTail: { polling: `"upgrades":["websocket"],${tail}`, websocket: `"upgrades":[],${tail}` },
    };
  }

  /** Registers the handler of `namespace` (e.g. '/' or '/chat'). */
  of(namespace: string, handler: NamespaceHandler): void {
    this.namespaces.set(namespace, handler);
  }

  /** Registers the WebSocket route and the HTTP routes (GET/POST/OPTIONS) on the engine's path. */
  attach(app: TemplatedApp): void {
    const { path } = this.options;
    // The WebSocket route first: uWS yields non-upgrade GETs to the next matching route.
    app.ws(path, createWebSocketBehavior(this.context));
    app.any(path, createPollingHandler(this.context));
  }

  /**
   * Closes every session with 'server shutting down' and stops the timers. Polling clients
   * with no GET pending still get the close packet on their next GET (over a connection that
   * stays open) until their tombstone expires; that one timer does not keep the process alive.
   */
  close(): void {
    for (const session of [...this.sessions.values()]) {
      session.send({ type: 'server.close', reason: 'server shutting down' });
    }
    this.context.pingQueue.clear();
    this.context.pongQueue.clear();
    this.context.connectQueue.clear();
    this.context.upgradeQueue.clear();
  }

  /** Open sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }
}
