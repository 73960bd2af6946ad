/**
 * HTTP errors of the Engine.IO endpoint, with engine.io's codes and messages so clients and
 * tools that parse `{code, message}` read them the same way.
 */
import type { HttpResponse } from 'uWebSockets.js';
import type { Refusal } from './address-table.js';
import { endResponse, writeResponseHead, type ResponseStyle } from './response-style.js';

/** engine.io's error codes (`Server.errors`). */
export const EngineErrorCode = {
  unknownTransport: 0,
  unknownSid: 1,
  badHandshakeMethod: 2,
  badRequest: 3,
  forbidden: 4,
  unsupportedProtocolVersion: 5,
} as const;

/** One of engine.io's error codes. */
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

const messages: Record<EngineErrorCode, string> = {
  0: 'Transport unknown',
  1: 'Session ID unknown',
  2: 'Bad handshake method',
  3: 'Bad request',
  4: 'Forbidden',
  5: 'Unsupported protocol version',
};

/** The human message engine.io gives for `code`. */
export function engineErrorMessage(code: EngineErrorCode): string {
  return messages[code];
}

/** The JSON body of an engine error. */
export function engineErrorBody(code: EngineErrorCode, message: string = messages[code]): string {
  return JSON.stringify({ code, message });
}

/**
 * Ends `res` with engine.io's JSON error body: 403 for forbidden, 400 otherwise. Must run in
 * the request tick or inside `res.cork`.
 */
export function writeEngineError(res: HttpResponse, code: EngineErrorCode, style: ResponseStyle): void {
  writeResponseHead(res, code === EngineErrorCode.forbidden ? '403 Forbidden' : '400 Bad Request', style);
  res.writeHeader('Content-Type', 'application/json');
  endResponse(res, style, engineErrorBody(code));
}

/**
 * Ends `res` with a refusal for a limit (429 or 503), in engine.io's error shape with the
 * `forbidden` code (what engine.io's `allowRequest` refusals use) and the limit's message.
 */
export function writeRefusal(res: HttpResponse, refusal: Refusal, style: ResponseStyle): void {
  writeResponseHead(res, refusal.status, style);
  res.writeHeader('Content-Type', 'application/json');
  if (refusal.status === '503 Service Unavailable') res.writeHeader('Retry-After', '5');
  endResponse(res, style, engineErrorBody(EngineErrorCode.forbidden, refusal.message));
}
