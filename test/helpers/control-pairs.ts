/**
 * Control pairs: two real socket.io-clients in one room exchanging numbered `data` messages
 * while something else hammers the server. At the end each peer must have received exactly its
 * partner's sequence: nothing lost, duplicated, reordered, or crossed in from another pair.
 */
import { connectClient, type TestClient, type TransportMode } from './parley.js';

/** The `data` payload carrying message `n` of `side` in pair `pair`. */
export function numberedSignal(pair: string, side: 'A' | 'B', n: number) {
  return {
    type: 'candidate' as const,
    candidate: { candidate: `seq:${pair}:${side}:${n}`, sdpMid: '0', sdpMLineIndex: 0 },
  };
}

/** A running control pair. */
export interface ControlPair {
  readonly name: string;
  readonly a: TestClient;
  readonly b: TestClient;
  /** Messages sent so far by A and by B. */
  sent(): { a: number; b: number };
  /** Stops sending, waits (up to `timeoutMs`) for the last messages, then lists what is wrong. */
  finish(timeoutMs?: number): Promise<string[]>;
  close(): void;
}

function markerOf(args: unknown[]): string {
  const payload = args[0] as { candidate?: { candidate?: unknown } } | undefined;
  return String(payload?.candidate?.candidate);
}

/** What is wrong with what `receiver` got from `side`, which sent `count` messages. */
function sequenceProblems(pair: string, receiver: TestClient, side: 'A' | 'B', count: number): string[] {
  const got = receiver.all('data').map((r) => markerOf(r.args));
  const expected = Array.from({ length: count }, (_, i) => `seq:${pair}:${side}:${i + 1}`);
  if (got.length === expected.length && got.every((marker, i) => marker === expected[i])) return [];
  const problems: string[] = [];
  const foreign = got.filter((marker) => !marker.startsWith(`seq:${pair}:${side}:`));
  if (foreign.length > 0) problems.push(`${pair}: ${foreign.length} foreign messages, e.g. ${foreign[0]}`);
  const seen = new Set<string>();
  const duplicates = got.filter((marker) => (seen.has(marker) ? true : (seen.add(marker), false)));
  if (duplicates.length > 0) problems.push(`${pair}: duplicates, e.g. ${duplicates[0]}`);
  const missing = expected.filter((marker) => !seen.has(marker));
  if (missing.length > 0) problems.push(`${pair}: ${missing.length} of ${count} from ${side} lost, e.g. ${missing[0]}`);
  const own = got.filter((marker) => marker.startsWith(`seq:${pair}:${side}:`));
  const firstDisorder = own.findIndex(
    (marker, i) => i > 0 && Number(marker.split(':')[3]) < Number(own[i - 1].split(':')[3]),
  );
  if (firstDisorder > 0) problems.push(`${pair}: reordered at ${own[firstDisorder]} after ${own[firstDisorder - 1]}`);
  if (problems.length === 0) problems.push(`${pair}: got ${got.length} messages from ${side}, expected ${count}`);
  return problems;
}

/** Unexpected events a control peer must never see during a run. */
function incidentsOf(pair: string, label: string, client: TestClient): string[] {
  return ['disconnect', 'peer-left', 'error', 'connect_error']
    .flatMap((event) => client.all(event).map((r) => `${pair}/${label}: ${event} ${JSON.stringify(r.args)}`))
    .slice(0, 5);
}

/**
 * Connects A then B (over `modes`) to room `control-<name>` and starts both sending one
 * numbered message every `intervalMs`.
 */
export async function startControlPair(
  url: string,
  name: string,
  modes: readonly [TransportMode, TransportMode],
  intervalMs = 5,
): Promise<ControlPair> {
  const room = `control-${name}`;
  const a = await connectClient(url, { room, mode: modes[0] });
  const b = await connectClient(url, { room, mode: modes[1] });
  await a.next('ready');
  const count = { a: 0, b: 0 };
  let running = true;
  const sender = async (client: TestClient, side: 'A' | 'B'): Promise<void> => {
    while (running) {
      if (side === 'A') client.socket.emit('data', numberedSignal(name, side, ++count.a));
      else client.socket.emit('data', numberedSignal(name, side, ++count.b));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  const senders = Promise.all([sender(a, 'A'), sender(b, 'B')]);
  return {
    name,
    a,
    b,
    sent: () => ({ ...count }),
    async finish(timeoutMs = 20_000) {
      running = false;
      await senders;
      const waits = await Promise.allSettled([
        b.waitForCount('data', count.a, timeoutMs),
        a.waitForCount('data', count.b, timeoutMs),
      ]);
      const problems = [
        ...sequenceProblems(name, b, 'A', count.a),
        ...sequenceProblems(name, a, 'B', count.b),
        ...incidentsOf(name, 'A', a),
        ...incidentsOf(name, 'B', b),
      ];
      for (const wait of waits)
        if (wait.status === 'rejected' && problems.length === 0) problems.push(String(wait.reason));
      return problems;
    },
    close() {
      running = false;
      a.close();
      b.close();
    },
  };
}
