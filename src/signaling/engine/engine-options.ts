/** Options of the protocol engine and their defaults (engine.io's own defaults). */
import type { EngineCloseReason } from '../../machines/engine-session-machine.js';

/** Configuration of a {@link ProtocolServer}. */
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
  /** Origins allowed to poll cross-origin; default none (same-origin only). */
  corsOrigins?: readonly string[] | '*';
  /** Told once per session when it ends, with the engine's precise reason (logs, tests). */
  onSessionClosed?: (sessionId: string, reason: EngineCloseReason) => void;
}

/** {@link EngineOptions} with every default filled in. */
export interface ResolvedEngineOptions {
  readonly path: string;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly upgradeTimeout: number;
  readonly connectTimeout: number;
  readonly maxPayload: number;
  readonly corsOrigins: readonly string[] | '*';
  readonly onSessionClosed: ((sessionId: string, reason: EngineCloseReason) => void) | undefined;
}

/** Fills in engine.io's defaults. */
export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  return {
    path: options.path ?? '/socket.io/',
    pingInterval: options.pingInterval ?? 25_000,
    pingTimeout: options.pingTimeout ?? 20_000,
    upgradeTimeout: options.upgradeTimeout ?? 10_000,
    connectTimeout: options.connectTimeout ?? 45_000,
    maxPayload: options.maxPayload ?? 1_000_000,
    corsOrigins: options.corsOrigins ?? [],
    onSessionClosed: options.onSessionClosed,
  };
}
