/**
 * Test helpers for the live state inspector: a viewer of `/inspector/events` (a plain `ws`
 * client) that records every frame in order, parsed, so tests wait on what the stream says
 * instead of sleeping; and the HTTP status of a refused upgrade.
 */
import { WebSocket } from 'ws';
import type { InspectionEvent } from '../../src/protocol/inspection-events.js';

/** A connected viewer and what it received. */
export interface StreamViewer {
  /** Every event received, in order. */
  readonly events: InspectionEvent[];
  /** Every frame as received, joined: what "never appears in the stream" is checked against. */
  text(): string;
  /** Resolves once `done(events)` holds; rejects after `timeoutMs` saying `describe`. */
  waitFor(done: (events: readonly InspectionEvent[]) => boolean, describe: string, timeoutMs?: number): Promise<void>;
  /** Events about actor `sessionId`, in order. */
  of(sessionId: string): InspectionEvent[];
  /** Resolves once the server closed the socket, with the close code. */
  readonly closed: Promise<number>;
  close(): void;
}

/** Opens a viewer on `url` (`ws://.../inspector/events?token=...`). */
export function connectViewer(url: string, headers: Record<string, string> = {}): Promise<StreamViewer> {
  const socket = new WebSocket(url, { headers });
  const events: InspectionEvent[] = [];
  const frames: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const frame = data.toString();
    frames.push(frame);
    if (!isBinary) events.push(JSON.parse(frame) as InspectionEvent);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const viewer: StreamViewer = {
    events,
    text: () => frames.join('\n'),
    of: (sessionId) => events.filter((event) => event.sessionId === sessionId),
    waitFor: (done, describe, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done(events)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for ${describe}; ${events.length} events received`),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    closed,
    close: () => socket.close(),
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(viewer));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

/** The HTTP status a WebSocket upgrade to `url` gets (101 when it is accepted, then closed). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.close();
    });
    socket.once('error', (error) => reject(error));
  });
}

/** A minimal browser-style inspection event of actor `sessionId`, as a peer would publish it. */
export function peerActorEvent(
  sessionId: string,
  snapshot: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    type: '@xstate.actor',
    name: 'peer',
    sessionId,
    rootId: sessionId,
    parentId: undefined,
    definition: JSON.stringify({ id: 'peer', initial: 'idle', states: { idle: {}, connected: {} } }),
    snapshot: { status: 'active', ...snapshot },
    createdAt: String(Date.now()),
    id: null,
    _version: '0.7.2',
    ...extra,
  };
}

/** A browser-style `@xstate.snapshot` event of actor `sessionId` after `event`. */
export function peerSnapshotEvent(
  sessionId: string,
  event: Record<string, unknown>,
  snapshot: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    type: '@xstate.snapshot',
    sessionId,
    rootId: sessionId,
    event,
    snapshot: { status: 'active', ...snapshot },
    createdAt: String(Date.now()),
    id: null,
    _version: '0.7.2',
    ...extra,
  };
}
