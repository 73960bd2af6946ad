/**
 * The parsers of the signaling contract (src/protocol/signaling-events.ts), on their own: every
 * inbound handshake and `data` payload goes through them once, at the socket boundary, so what
 * they accept is exactly what the server relays and what they refuse is a typed error with a
 * message that says why. The integration tests show the same errors arriving at a client; these
 * pin each rule and its boundary.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROOM,
  MAX_RESUME_TOKEN_LENGTH,
  MAX_ROOM_SECRET_LENGTH,
  parseHandshake,
  parseResumeToken,
  parseRoomName,
  parseRoomSecret,
  parseSignal,
} from '../src/protocol/signaling-events.js';
import { SignalingError, type SignalingErrorCode } from '../src/protocol/signaling-error.js';

/** The error `parse` throws, which must be a SignalingError. */
function thrownBy(parse: () => unknown): SignalingError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(SignalingError);
    return error as SignalingError;
  }
  throw new Error('expected the parser to throw');
}

function expectRefusal(parse: () => unknown, code: SignalingErrorCode, message: string): void {
  const error = thrownBy(parse);
  expect(error.toPayload()).toEqual({ code, message });
}

describe('parseRoomName', () => {
  it('takes 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-"', () => {
    for (const name of ['a', 'Room_1-b', 'Z9', '_', '-', 'x'.repeat(64)]) expect(parseRoomName(name)).toBe(name);
  });

  it('refuses 65 characters, saying how many there were', () => {
    expectRefusal(
      () => parseRoomName('x'.repeat(65)),
      'bad-room-name',
      'Invalid room name: it has 65 characters, at most 64 are allowed.',
    );
  });

  it('refuses the empty name', () => {
    expectRefusal(() => parseRoomName(''), 'bad-room-name', 'Invalid room name: it is empty.');
  });

  it('refuses any other character, anywhere in the name', () => {
    for (const name of ['a b', ' a', 'a ', 'ä', 'a/b', 'a.b', 'a\nb', '\na', 'a\n']) {
      expectRefusal(
        () => parseRoomName(name),
        'bad-room-name',
        'Invalid room name: only A-Z, a-z, 0-9, "_" and "-" are allowed.',
      );
    }
  });

  it('refuses what is not a string, naming what it got', () => {
    const cases: [unknown, string][] = [
      [42, 'a number'],
      [undefined, 'a undefined'],
      [null, 'null'],
      [['a'], 'an array'],
      [{ name: 'a' }, 'an object'],
      [true, 'a boolean'],
    ];
    for (const [value, got] of cases) {
      expectRefusal(() => parseRoomName(value), 'bad-room-name', `Invalid room name: expected a string, got ${got}.`);
    }
  });
});

describe('parseRoomSecret', () => {
  it('takes an absent secret, and 1 to 128 characters of anything', () => {
    expect(parseRoomSecret(undefined)).toBeUndefined();
    expect(MAX_ROOM_SECRET_LENGTH).toBe(128);
    for (const secret of ['s', ' spaces and ünïcode ', 'x'.repeat(128)]) expect(parseRoomSecret(secret)).toBe(secret);
  });

  it('refuses an empty or a 129-character secret, saying its length', () => {
    const expected = (got: string) =>
      `Invalid handshake: "secret" must be a string of 1 to 128 characters, got ${got}.`;
    expectRefusal(() => parseRoomSecret(''), 'bad-handshake', expected('0 characters'));
    expectRefusal(() => parseRoomSecret('x'.repeat(129)), 'bad-handshake', expected('129 characters'));
  });

  it('refuses a secret that is not a string, naming what it got', () => {
    const expected = (got: string) =>
      `Invalid handshake: "secret" must be a string of 1 to 128 characters, got ${got}.`;
    expectRefusal(() => parseRoomSecret(null), 'bad-handshake', expected('null'));
    expectRefusal(() => parseRoomSecret(7), 'bad-handshake', expected('a number'));
    expectRefusal(() => parseRoomSecret({ length: 3 }), 'bad-handshake', expected('an object'));
  });
});

describe('parseHandshake', () => {
  const noQuery = new URLSearchParams();

  it('joins the default room when neither auth nor query names one', () => {
    expect(DEFAULT_ROOM).toBe('room');
    expect(parseHandshake(undefined, noQuery)).toEqual({ room: 'room', secret: undefined });
    expect(parseHandshake(null, noQuery)).toEqual({ room: 'room', secret: undefined });
    expect(parseHandshake({}, noQuery)).toEqual({ room: 'room', secret: undefined });
  });

  it('takes the room from auth before the query, and from the query without auth', () => {
    expect(parseHandshake({ room: 'from-auth' }, new URLSearchParams('room=from-query'))).toEqual({
      room: 'from-auth',
      secret: undefined,
    });
    expect(parseHandshake(undefined, new URLSearchParams('room=from-query'))).toEqual({
      room: 'from-query',
      secret: undefined,
    });
    expect(parseHandshake({ secret: 's3' }, new URLSearchParams('room=q'))).toEqual({ room: 'q', secret: 's3' });
  });

  it('validates the room wherever it comes from', () => {
    expectRefusal(
      () => parseHandshake({ room: 'a b' }, noQuery),
      'bad-room-name',
      'Invalid room name: only A-Z, a-z, 0-9, "_" and "-" are allowed.',
    );
    expectRefusal(
      () => parseHandshake(undefined, new URLSearchParams('room=')),
      'bad-room-name',
      'Invalid room name: it is empty.',
    );
    expectRefusal(
      () => parseHandshake({ room: 5 }, noQuery),
      'bad-room-name',
      'Invalid room name: expected a string, got a number.',
    );
  });

  it('refuses an auth payload that is not an object', () => {
    for (const [auth, got] of [
      ['room', 'a string'],
      [['room'], 'an array'],
      [3, 'a number'],
    ] as const) {
      expectRefusal(
        () => parseHandshake(auth, noQuery),
        'bad-handshake',
        `Invalid handshake: auth must be an object, got ${got}.`,
      );
    }
  });

  it('refuses a secret in the query string, even beside a valid one in auth', () => {
    const message = 'Invalid handshake: send the room secret in the auth payload, not in the query string.';
    expectRefusal(() => parseHandshake(undefined, new URLSearchParams('secret=s')), 'bad-handshake', message);
    expectRefusal(
      () => parseHandshake({ secret: 's' }, new URLSearchParams('room=r&secret=')),
      'bad-handshake',
      message,
    );
  });

  it('validates the secret', () => {
    expectRefusal(
      () => parseHandshake({ room: 'r', secret: '' }, noQuery),
      'bad-handshake',
      'Invalid handshake: "secret" must be a string of 1 to 128 characters, got 0 characters.',
    );
  });
});

describe('parseResumeToken', () => {
  it("takes an absent token, and 1 to 256 characters (whether it verifies is the server's question)", () => {
    expect(parseResumeToken(undefined)).toBeUndefined();
    expect(MAX_RESUME_TOKEN_LENGTH).toBe(256);
    for (const token of ['t', 'forged.but-plausible', 'x'.repeat(256)]) expect(parseResumeToken(token)).toBe(token);
  });

  it('refuses an empty or a 257-character token, saying its length', () => {
    const expected = (got: string) =>
      `Invalid handshake: "resume" must be a string of 1 to 256 characters, got ${got}.`;
    expectRefusal(() => parseResumeToken(''), 'bad-handshake', expected('0 characters'));
    expectRefusal(() => parseResumeToken('x'.repeat(257)), 'bad-handshake', expected('257 characters'));
  });

  it('refuses a token that is not a string, naming what it got', () => {
    const expected = (got: string) =>
      `Invalid handshake: "resume" must be a string of 1 to 256 characters, got ${got}.`;
    expectRefusal(() => parseResumeToken(null), 'bad-handshake', expected('null'));
    expectRefusal(() => parseResumeToken(7), 'bad-handshake', expected('a number'));
    expectRefusal(() => parseResumeToken({ length: 3 }), 'bad-handshake', expected('an object'));
  });

  it('is what parseHandshake reads from auth.resume', () => {
    const noQuery = new URLSearchParams();
    expect(parseHandshake({ room: 'r', resume: 'token' }, noQuery)).toStrictEqual({
      room: 'r',
      secret: undefined,
      resume: 'token',
    });
    expect(parseHandshake(undefined, noQuery)).toStrictEqual({ room: 'room', secret: undefined, resume: undefined });
    expectRefusal(
      () => parseHandshake({ resume: '' }, noQuery),
      'bad-handshake',
      'Invalid handshake: "resume" must be a string of 1 to 256 characters, got 0 characters.',
    );
  });
});

describe('parseSignal', () => {
  it('returns offers, answers and candidates as they came (the relay forwards them unchanged)', () => {
    const signals = [
      { type: 'offer', sdp: 'v=0' },
      { type: 'answer', sdp: '' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } },
      { type: 'candidate', candidate: { candidate: '' } },
      { type: 'candidate', candidate: null },
      { type: 'candidate' },
    ];
    for (const signal of signals) expect(parseSignal(signal)).toBe(signal);
  });

  it('refuses a payload that is not an object', () => {
    for (const [value, got] of [
      [null, 'null'],
      [['offer'], 'an array'],
      ['offer', 'a string'],
      [undefined, 'a undefined'],
    ] as const) {
      expectRefusal(() => parseSignal(value), 'bad-payload', `Invalid "data" payload: expected an object, got ${got}.`);
    }
  });

  it('refuses a description without a string sdp, naming its type', () => {
    expectRefusal(
      () => parseSignal({ type: 'offer' }),
      'bad-payload',
      'Invalid "data" payload: "offer" needs a string "sdp".',
    );
    expectRefusal(
      () => parseSignal({ type: 'answer', sdp: 1 }),
      'bad-payload',
      'Invalid "data" payload: "answer" needs a string "sdp".',
    );
  });

  it('refuses a candidate that is not an RTCIceCandidate in JSON form', () => {
    const message = 'Invalid "data" payload: "candidate" must be an RTCIceCandidate in JSON form, or null.';
    // An array with a string `candidate` field is still not a candidate.
    const arrayWithCandidate = Object.assign(['c'], { candidate: 'candidate:1' });
    for (const candidate of [42, 'candidate:1', [], arrayWithCandidate, {}, { candidate: 42 }, { candidate: null }]) {
      expectRefusal(() => parseSignal({ type: 'candidate', candidate }), 'bad-payload', message);
    }
  });

  it('refuses any other type', () => {
    const message = 'Invalid "data" payload: "type" must be "offer", "answer" or "candidate".';
    for (const type of [undefined, 'pranswer', 'rollback', 'Offer', 1]) {
      expectRefusal(() => parseSignal({ type, sdp: 'v=0' }), 'bad-payload', message);
    }
  });
});
