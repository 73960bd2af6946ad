/**
 * The viewer's connection to `/inspector/events`: one WebSocket, each text frame one event of
 * the inspection stream. When it closes (a server restart, a network blip) it retries by itself
 * with exponential backoff and jitter, and reports `reconnecting` meanwhile. Every new
 * connection starts with the server announcing each live actor, so the page starts afresh.
 */
import type { InspectionEvent } from '../../protocol/inspection-events.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const hasType = (value: unknown) => isRecord(value) && typeof value['type'] === 'string';

/**
 * Returns `value` as an inspection event if it has the shape the viewer relies on, else
 * undefined (unknown event types included, so a newer server does not break an older page).
 */
export function parseInspectionEvent(value: unknown): InspectionEvent | undefined {
  if (!isRecord(value) || typeof value['sessionId'] !== 'string') return undefined;
  const parley = value['parley'];
  if (parley !== undefined && !(isRecord(parley) && typeof parley['kind'] === 'string')) return undefined;
  switch (value['type']) {
    case '@xstate.actor':
      return isRecord(value['snapshot']) ? (value as unknown as InspectionEvent) : undefined;
    case '@xstate.event':
      return hasType(value['event']) ? (value as unknown as InspectionEvent) : undefined;
    case '@xstate.snapshot':
      return hasType(value['event']) && isRecord(value['snapshot']) ? (value as unknown as InspectionEvent) : undefined;
    default:
      return undefined;
  }
}

/** The connection as the page shows it. */
export type StreamStatus = 'connecting' | 'connected' | 'reconnecting';

/** What the page hears from the stream. */
export interface InspectorStreamHandlers {
  /** A connection opened; the server now announces every live actor. */
  onOpen(): void;
  onEvent(event: InspectionEvent): void;
  /** `attempt` counts failed connections since the last success; `retryInMs` the wait before the next. */
  onStatus(status: StreamStatus, detail: { attempt: number; retryInMs: number }): void;
}

/** Backoff of the retries. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A number in [0, 1); `Math.random` by default. */
  readonly random?: () => number;
}

/** Default backoff: 0.5 s, doubling, at most 10 s, each wait between half and all of that. */
export const STREAM_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000 };

/** The wait before retry number `attempt` (1 for the first). */
export function reconnectDelay(attempt: number, backoff: BackoffOptions = STREAM_BACKOFF): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + 0.5 * (backoff.random ?? Math.random)()));
}

/** The stream's URL for a page at `location`: same origin, `ws:` or `wss:`, its `token` passed on. */
export function streamUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/inspector/events${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;
}

/** An open stream; `close()` stops it for good. */
export interface InspectorStream {
  close(): void;
}

/** Connects to `url` and keeps connecting until closed. */
export function connectInspectorStream(
  url: string,
  handlers: InspectorStreamHandlers,
  options: { backoff?: BackoffOptions; WebSocket?: typeof WebSocket } = {},
): InspectorStream {
  const Socket = options.WebSocket ?? WebSocket;
  const backoff = options.backoff ?? STREAM_BACKOFF;
  let socket: WebSocket | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let closed = false;

  const deliver = (data: unknown) => {
    if (typeof data !== 'string') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    // One event a frame; an array is accepted too.
    for (const item of Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]) {
      const event = parseInspectionEvent(item);
      if (event !== undefined) handlers.onEvent(event);
    }
  };

  const open = () => {
    retry = undefined;
    const ws = new Socket(url);
    socket = ws;
    ws.onopen = () => {
      failures = 0;
      handlers.onOpen();
      handlers.onStatus('connected', { attempt: 0, retryInMs: 0 });
    };
    ws.onmessage = ({ data }) => deliver(data);
    ws.onclose = () => {
      if (socket !== ws || closed) return;
      socket = undefined;
      failures++;
      const wait = reconnectDelay(failures, backoff);
      handlers.onStatus('reconnecting', { attempt: failures, retryInMs: wait });
      retry = setTimeout(open, wait);
    };
  };

  handlers.onStatus('connecting', { attempt: 0, retryInMs: 0 });
  open();
  return {
    close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      socket?.close();
      socket = undefined;
    },
  };
}
