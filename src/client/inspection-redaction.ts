/**
 * What a browser may show the inspector of its own machines: everything, except secrets and
 * addresses, and nothing long. Session descriptions become a one-line summary (an SDP holds ICE
 * passwords, DTLS fingerprints and IP addresses), ICE candidates their protocol and type (a
 * candidate is an IP address and port), TURN credentials are redacted, and long strings, deep
 * objects and long arrays are cut. The result is plain JSON.
 */

/** Limits of {@link redactForInspection}. */
export interface RedactionLimits {
  /** Longest string kept whole, in characters. */
  readonly maxString: number;
  /** Most array items kept. */
  readonly maxItems: number;
  /** Deepest nesting kept. */
  readonly maxDepth: number;
}

/** Default limits: enough to read a machine's context, small enough for a 64 KiB batch. */
export const REDACTION_LIMITS: RedactionLimits = { maxString: 200, maxItems: 50, maxDepth: 8 };

/** Keys whose string values are secrets. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['credential', 'password', 'secret', 'token', 'auth']);

/** What stands in for a redacted secret. */
export const REDACTED = '[redacted]';

/**
 * `v=0 ... m=audio ... m=video ...` → `[SDP, 2345 chars: audio video application]`. Keeps what
 * a reader debugging negotiation wants (which media sections) and drops the rest.
 */
export function summarizeSdp(sdp: string): string {
  const media = [...sdp.matchAll(/^m=(\S+)/gm)].map((match) => match[1]);
  return `[SDP, ${sdp.length} chars${media.length > 0 ? `: ${media.join(' ')}` : ''}]`;
}

/**
 * `candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr ...` →
 * `[candidate udp srflx]`: transport and type, without the address.
 * https://www.rfc-editor.org/rfc/rfc8839#section-5.1
 */
export function summarizeCandidate(candidate: string): string {
  if (candidate === '') return '[end of candidates]';
  const fields = candidate.replace(/^a=/, '').split(/\s+/);
  const protocol = fields[2]?.toLowerCase() ?? '?';
  const typeIndex = fields.indexOf('typ');
  const type = typeIndex === -1 ? '?' : (fields[typeIndex + 1] ?? '?');
  return `[candidate ${protocol} ${type}]`;
}

function cutString(value: string, limits: RedactionLimits): string {
  return value.length <= limits.maxString ? value : `${value.slice(0, limits.maxString)}… (${value.length} chars)`;
}

function redactString(key: string | undefined, value: string, limits: RedactionLimits): string {
  if (key !== undefined && SECRET_KEYS.has(key)) return REDACTED;
  if (key === 'sdp') return summarizeSdp(value);
  if (key === 'candidate' && /^(a=)?candidate:|^$/.test(value)) return summarizeCandidate(value);
  return cutString(value, limits);
}

/**
 * A copy of `value` safe and small enough to publish: see the module comment. Functions become
 * `{ type: name }` (as @statelyai/inspect serializes them), errors `{ name, message }`, other
 * class instances plain objects of their own enumerable fields.
 */
export function redactForInspection(value: unknown, limits: RedactionLimits = REDACTION_LIMITS): unknown {
  const visit = (item: unknown, key: string | undefined, depth: number): unknown => {
    if (typeof item === 'string') return redactString(key, item, limits);
    if (typeof item === 'number') return Number.isFinite(item) ? item : String(item);
    if (typeof item === 'boolean' || item === null) return item;
    if (item === undefined) return undefined;
    if (typeof item === 'bigint' || typeof item === 'symbol') return String(item);
    if (typeof item === 'function') return { type: item.name || 'anonymous' };
    if (key !== undefined && SECRET_KEYS.has(key)) return REDACTED;
    if (depth >= limits.maxDepth) return '[…]';
    if (item instanceof Error) return { name: item.name, message: cutString(item.message, limits) };
    if (Array.isArray(item)) {
      const kept = item.slice(0, limits.maxItems).map((element) => visit(element, undefined, depth + 1) ?? null);
      if (item.length > limits.maxItems) kept.push(`… ${item.length - limits.maxItems} more`);
      return kept;
    }
    const copy: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(item as Record<string, unknown>)) {
      const redacted = visit(field, name, depth + 1);
      if (redacted !== undefined) copy[name] = redacted;
    }
    return copy;
  };
  return visit(value, undefined, 0);
}
