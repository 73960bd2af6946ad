/**
 * The signaling protocol's errors (src/protocol/signaling-error.ts): clients switch on the code,
 * people read the message, and both reach the client as `toPayload()`. Each named factory is
 * pinned to its code and message here, and a client-chosen event name is quoted back cut to a
 * bounded length.
 */
import { describe, expect, it } from 'vitest';
import {
  QUOTED_EVENT_NAME_LENGTH,
  SIGNALING_ERROR_CODES,
  SignalingError,
  type SignalingErrorCode,
} from '../src/protocol/signaling-error.js';

describe('SignalingError', () => {
  it('is an Error named SignalingError, with a literal code, a message and a cause', () => {
    const cause = new Error('underneath');
    const error = new SignalingError('no-peer', 'nobody here', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SignalingError');
    expect(error.code).toBe('no-peer');
    expect(error.message).toBe('nobody here');
    expect(error.cause).toBe(cause);
    expect(error.toPayload()).toEqual({ code: 'no-peer', message: 'nobody here' });
    // Only code and message go on the wire: no stack, no cause.
    expect(Object.keys(error.toPayload()).sort()).toEqual(['code', 'message']);
  });

  it('lists every code', () => {
    const codes: SignalingErrorCode[] = [
      'room-full',
      'bad-room-name',
      'bad-handshake',
      'bad-payload',
      'no-peer',
      'unknown-event',
      'rate-limited',
      'inspect-refused',
      'unavailable',
    ];
    for (const code of codes) expect(SIGNALING_ERROR_CODES.has(code)).toBe(true);
    expect(SIGNALING_ERROR_CODES.has('' as SignalingErrorCode)).toBe(false);
  });

  it('has a named factory for each refusal, with its code and a message for people', () => {
    const cases: [SignalingError, SignalingErrorCode, string][] = [
      [SignalingError.roomFull('r1'), 'room-full', 'Room "r1" is full: it already holds two peers.'],
      [
        SignalingError.roomFull('r2', true),
        'room-full',
        'Room "r2" is full: it holds two peers, one of them reconnecting.',
      ],
      [SignalingError.badRoomName('it is empty'), 'bad-room-name', 'Invalid room name: it is empty.'],
      [SignalingError.badHandshake('no auth'), 'bad-handshake', 'Invalid handshake: no auth.'],
      [SignalingError.badPayload('data', 'no type'), 'bad-payload', 'Invalid "data" payload: no type.'],
      [SignalingError.noPeer(), 'no-peer', 'Nothing relayed: no other peer is in the room yet.'],
      [SignalingError.unknownEvent('hello'), 'unknown-event', 'Unknown event "hello".'],
      [
        SignalingError.rateLimited('data'),
        'rate-limited',
        'Too many messages: "data" was dropped. Slow down, or the server closes the connection.',
      ],
      [SignalingError.inspectRefused('not in a room'), 'inspect-refused', 'Inspection events refused: not in a room.'],
      [
        SignalingError.unavailable('Redis is unavailable: a room step did not happen.'),
        'unavailable',
        'The server cannot reach its shared state right now (Redis is unavailable: a room step did not happen.) Try again in a moment.',
      ],
      [
        SignalingError.turnRateLimited(),
        'rate-limited',
        'TURN credentials are rate-limited: too many were issued to your address lately, so only STUN servers were given. Rejoin later to get TURN.',
      ],
    ];
    for (const [error, code, message] of cases) {
      expect(error).toBeInstanceOf(SignalingError);
      expect(error.toPayload()).toEqual({ code, message });
    }
  });

  it('quotes a client-chosen event name in full up to 64 characters, and cut with an ellipsis beyond', () => {
    expect(QUOTED_EVENT_NAME_LENGTH).toBe(64);
    const exactly = 'e'.repeat(64);
    expect(SignalingError.unknownEvent(exactly).message).toBe(`Unknown event "${exactly}".`);
    expect(SignalingError.unknownEvent(`${exactly}X`).message).toBe(`Unknown event "${exactly}…".`);
    expect(SignalingError.rateLimited(`${exactly}tail`).message).toBe(
      `Too many messages: "${exactly}…" was dropped. Slow down, or the server closes the connection.`,
    );
  });
});
