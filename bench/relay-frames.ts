/**
 * The `data` frames the load generators relay: a ~190-byte ICE candidate whose foundation is
 * the send time in microseconds, read back with one `indexOf` instead of a JSON parse. Shared by
 * bench/load-generator.ts and bench/hold-generator.ts.
 */
import { performance } from 'node:perf_hooks';

const CANDIDATE_PREFIX = '42["data",{"type":"candidate","candidate":{"candidate":"candidate:';
const CANDIDATE_SUFFIX =
  ' 1 udp 2122260223 192.168.1.23 54321 typ host generation 0 ufrag EsKq network-id 1 network-cost 10"' +
  ',"sdpMid":"0","sdpMLineIndex":0}}]';
const SEND_TIME_MARKER = Buffer.from('"candidate:');
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** This process's monotonic time in whole microseconds. */
export function nowMicros(): number {
  return Math.round(performance.now() * 1000);
}

/** Builds a `data` frame whose candidate foundation is the send time. */
export function candidateFrame(sentMicros: number): string {
  return CANDIDATE_PREFIX + sentMicros + CANDIDATE_SUFFIX;
}

/** Reads the send time back out of a relayed frame; -1 if the frame is not one of ours. */
export function sentMicrosOf(frame: Buffer): number {
  let index = frame.indexOf(SEND_TIME_MARKER);
  if (index < 0) return -1;
  index += SEND_TIME_MARKER.length;
  let value = 0;
  for (let byte = frame[index]; byte !== undefined && byte >= DIGIT_0 && byte <= DIGIT_9; byte = frame[++index]) {
    value = value * 10 + (byte - DIGIT_0);
  }
  return value;
}

/** The value at `fraction` (0-1) of an ascending array; NaN if empty. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}
