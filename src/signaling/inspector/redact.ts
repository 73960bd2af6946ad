/**
 * What may leave the server through the inspector: everything a viewer receives goes through
 * {@link redact} first. Secrets are removed by name (a `credential`, `secret`, `password`,
 * `token` or `authorization` field, the `username` of an ICE server, which is half a TURN
 * credential) and by value (any string containing a secret the server knows: the TURN secret, a
 * room's secret, the credentials it issued). Long strings (SDPs, candidates, error stacks) are
 * cut to {@link MAX_INSPECTED_STRING} characters, so a viewer sees their start and their size.
 */

import type { InspectedEvent, InspectedSnapshot, InspectionEvent } from '../../protocol/inspection-events.js';

/** Longest string that goes out whole; longer ones end in `…(N chars)`. */
export const MAX_INSPECTED_STRING = 200;

/** Longest machine definition (JSON) a browser may publish; longer ones go out without it. */
export const MAX_DEFINITION_CHARS = 32_768;

/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Nesting beyond this is cut (the engine bounds inbound depth at 32 already). */
const MAX_DEPTH = 32;

/** Secrets shorter than this are not searched for inside strings (they would match everywhere). */
const MIN_SECRET_CHARS = 4;

const SECRET_KEY_PARTS = ['credential', 'secret', 'password', 'passwd', 'token', 'authorization', 'apikey'];

/** True for a field whose value is a secret whatever it holds. */
export function isSecretKey(key: string): boolean {
  const lower = key.toLowerCase();
  // `username` of an RTCIceServer is the other half of a TURN REST credential (expiry:socket id).
  return lower === 'username' || SECRET_KEY_PARTS.some((part) => lower.includes(part));
}

/**
 * A copy of `value` that is safe to show: secret fields and strings holding any of `secrets`
 * replaced with {@link REDACTED}, long strings truncated, functions dropped. Pure; never throws
 * for JSON-like input (which is all the inspector handles).
 */
export function redact(value: unknown, secrets: readonly string[] = []): unknown {
  const searched = secrets.filter((secret) => secret.length >= MIN_SECRET_CHARS);
  return copy(value, searched, 0);
}

/**
 * A browser's machine definition (the JSON of its config) made safe the same way, parsed and
 * written again; undefined when it is not JSON or is too long to keep.
 */
export function redactDefinition(definition: unknown, secrets: readonly string[] = []): string | undefined {
  if (typeof definition !== 'string' || definition.length > MAX_DEFINITION_CHARS) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition);
  } catch {
    return undefined;
  }
  return JSON.stringify(redact(parsed, secrets));
}

/**
 * An inspection event made safe to leave the server: its snapshot and event through
 * {@link redact}, its definition through {@link redactDefinition}. Ids and Parley's tag are the
 * server's own (peer ids were checked and rewritten on the way in) and are kept.
 */
export function redactInspectionEvent(event: InspectionEvent, secrets: readonly string[] = []): InspectionEvent {
  switch (event.type) {
    case '@xstate.actor':
      return {
        ...event,
        name: safeString(String(event.name), secrets),
        definition: event.definition === undefined ? undefined : redactDefinition(event.definition, secrets),
        snapshot: redact(event.snapshot, secrets) as InspectedSnapshot,
      };
    case '@xstate.event':
      return { ...event, event: redact(event.event, secrets) as InspectedEvent };
    case '@xstate.snapshot':
      return {
        ...event,
        event: redact(event.event, secrets) as InspectedEvent,
        snapshot: redact(event.snapshot, secrets) as InspectedSnapshot,
      };
  }
}

function copy(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return safeString(value, secrets);
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? undefined : value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => copy(item, secrets, depth + 1) ?? null);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    // A JSON "__proto__" key would set the copy's prototype: it is nothing a viewer needs.
    if (key === '__proto__' || field === undefined) continue;
    out[key] = isSecretKey(key) && field !== null ? REDACTED : copy(field, secrets, depth + 1);
  }
  return out;
}

function safeString(text: string, secrets: readonly string[]): string {
  for (const secret of secrets) if (text.includes(secret)) return REDACTED;
  return text.length > MAX_INSPECTED_STRING ? `${text.slice(0, MAX_INSPECTED_STRING)}…(${text.length} chars)` : text;
}
