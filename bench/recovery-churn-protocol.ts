/**
 * The messages between bench/recovery-churn.ts and its two children: the churn server
 * (bench/servers/recovery-churn-server.ts) and the churn clients (bench/recovery-churn-clients.ts).
 */

/** How the server runs. */
export interface ChurnServerConfig {
  /** Connection state recovery on, with this window in ms; 0 for off. */
  readonly recoveryWindowMillis: number;
  /** Events per second emitted to each client. */
  readonly eventsPerSecond: number;
}

/** Commands to the server, over IPC. */
export type ChurnServerCommand = { readonly type: 'emit' } | { readonly type: 'stop' };

/** The server's reports, over IPC. */
export type ChurnServerReport =
  | { readonly type: 'listening'; readonly port: number }
  /** Events generated for each client (by its index), whether or not it was connected. */
  | {
      readonly type: 'stopped';
      readonly generated: readonly number[];
      readonly recovered: number;
      readonly fresh: number;
    };

/** How the clients run. */
export interface ChurnClientsConfig {
  readonly port: number;
  readonly clients: number;
  /** Seconds of churn: each client is dropped every `dropEverySeconds`, at its own phase. */
  readonly seconds: number;
  readonly dropEverySeconds: number;
  /** The one transport every client uses. */
  readonly transport: 'websocket' | 'polling';
  /** CONNECTs in flight at once while connecting. */
  readonly connectConcurrency: number;
}

/** Commands to the clients, over IPC. */
export type ChurnClientsCommand = { readonly type: 'churn' } | { readonly type: 'report' };

/** What one client saw. */
export interface ChurnClientStats {
  /** Distinct event numbers received. */
  readonly distinct: number;
  /** Events received a second time. */
  readonly duplicates: number;
  /** Events received after a later one. */
  readonly outOfOrder: number;
}

/** The clients' reports, over IPC. */
export type ChurnClientsReport =
  | { readonly type: 'connected'; readonly millis: number }
  | { readonly type: 'churned'; readonly drops: number }
  | {
      readonly type: 'report';
      readonly stats: readonly ChurnClientStats[];
      /** Reconnections socket.io-client reported as recovered, and as fresh. */
      readonly recovered: number;
      readonly fresh: number;
      /** Clients not connected when the report was asked for. */
      readonly disconnected: number;
    };
