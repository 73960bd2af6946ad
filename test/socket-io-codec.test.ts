/**
 * The engine's Socket.IO codec (src/signaling/engine/socket-io-codec.ts) on packets built by
 * hand: the checks socket.io-parser leaves to servers, each at its limit and one past it, and
 * the small text readings the engine does itself (binary or not, the namespace of a refused
 * CONNECT, the attachment count of a binary header). test/engine-limits-unit.test.ts checks
 * packet texts end to end through the decoder; test/engine-bad-input.test.ts checks what a
 * client sees.
 */
import { describe, expect, it } from 'vitest';
import { Decoder, PacketType, type Packet } from 'socket.io-parser';
import { resolveEngineOptions } from '../src/signaling/engine/engine-options.js';
import { SocketIoCodec, exceedsDepth, isBinaryPacketText } from '../src/signaling/engine/socket-io-codec.js';

const codec = new SocketIoCodec(
  resolveEngineOptions({ maxEventNameLength: 8, maxAckId: 1000, maxDepth: 3, maxAttachments: 4 }),
);

const event = (data: unknown, id?: number): Packet => ({ type: PacketType.EVENT, nsp: '/', data, id });
const ack = (data: unknown, id?: number): Packet => ({ type: PacketType.ACK, nsp: '/', data, id });

describe('isBinaryPacketText', () => {
  it('is true for BINARY_EVENT and BINARY_ACK texts only', () => {
    expect(isBinaryPacketText('51-["x",{"_placeholder":true,"num":0}]')).toBe(true);
    expect(isBinaryPacketText('61-0[{"_placeholder":true,"num":0}]')).toBe(true);
    for (const text of ['0', '1', '2["x"]', '3[]', '4{}', '7', '']) expect(isBinaryPacketText(text)).toBe(false);
  });
});

describe('decodeText', () => {
  it('decodes a text packet, again and again with the one shared decoder', () => {
    expect(codec.decodeText('2["data",1]')).toEqual({ type: PacketType.EVENT, nsp: '/', data: ['data', 1] });
    expect(codec.decodeText('0/chat,')).toMatchObject({ type: PacketType.CONNECT, nsp: '/chat' });
  });

  it('throws on malformed text and on a binary header, which does not decode on its own', () => {
    expect(() => codec.decodeText('2["unterminated')).toThrow();
    expect(() => codec.decodeText('9')).toThrow();
    const binary = new SocketIoCodec(resolveEngineOptions());
    expect(() => binary.decodeText('51-["x",{"_placeholder":true,"num":0}]')).toThrow(
      'socket.io packet did not decode',
    );
  });
});

describe('namespaceOfRefusedConnect', () => {
  it('reads the namespace of a CONNECT whose payload did not decode', () => {
    expect(codec.namespaceOfRefusedConnect('0/chat,{bad json')).toBe('/chat');
    expect(codec.namespaceOfRefusedConnect('0{bad json')).toBe('/');
  });

  it('is undefined when even the head does not read', () => {
    expect(codec.namespaceOfRefusedConnect('0/chat')).toBeUndefined();
    expect(codec.namespaceOfRefusedConnect('x/chat,{}')).toBeUndefined();
  });
});

describe('createBinaryDecoder', () => {
  it('gives a decoder of its own each time', () => {
    const one = codec.createBinaryDecoder();
    expect(one).toBeInstanceOf(Decoder);
    expect(codec.createBinaryDecoder()).not.toBe(one);
  });
});

describe('encode', () => {
  it('writes the text of a packet, and its attachments after it', () => {
    expect(codec.encode(event(['data', { a: 1 }], 7))).toEqual(['27["data",{"a":1}]']);
    const [text, attachment] = codec.encode({ type: PacketType.EVENT, nsp: '/', data: ['f', Buffer.from([1, 2])] });
    expect(text).toBe('51-["f",{"_placeholder":true,"num":0}]');
    expect(attachment).toEqual(Buffer.from([1, 2]));
  });
});

describe('checkBinaryHeader', () => {
  it('takes up to maxAttachments', () => {
    expect(codec.checkBinaryHeader('51-["x"]')).toBeUndefined();
    expect(codec.checkBinaryHeader('54-["x"]')).toBeUndefined();
    expect(codec.checkBinaryHeader('60-3[]')).toBeUndefined();
  });

  it('refuses one more, saying how many', () => {
    expect(codec.checkBinaryHeader('55-["x"]')).toEqual({
      fault: 'limit exceeded',
      detail: '5 attachments announced, at most 4',
    });
    expect(codec.checkBinaryHeader('6999999999-1[]')?.fault).toBe('limit exceeded');
  });

  it('refuses a header without a count of 1 to 9 digits before its dash', () => {
    const unreadable = { fault: 'parse error', detail: 'binary packet without an attachment count' };
    for (const text of ['5["x"]', '512', '5123', '5-["x"]', '5a1-["x"]', '51a-["x"]', '51234567890-["x"]', '5 1-[]']) {
      expect(codec.checkBinaryHeader(text)).toEqual(unreadable);
    }
  });
});

describe('checkPacket', () => {
  it('takes ack ids from 0 to maxAckId', () => {
    expect(codec.checkPacket(event(['x'], 0))).toBeUndefined();
    expect(codec.checkPacket(event(['x'], 1000))).toBeUndefined();
  });

  it('refuses negative, fractional, unsafe and too large ack ids', () => {
    const outOfRange = { fault: 'parse error', detail: 'ack id out of range (0 to 1000)' };
    for (const id of [-1, 1.5, 1001, Number.MAX_SAFE_INTEGER + 2, Number.NaN]) {
      expect(codec.checkPacket(event(['x'], id))).toEqual(outOfRange);
    }
  });

  it('refuses an event without a name, or named by other than a string or a number', () => {
    for (const data of [undefined, 'x', {}, []]) {
      expect(codec.checkPacket(event(data))).toEqual({ fault: 'parse error', detail: 'event without a name' });
    }
    for (const name of [null, {}, ['x'], true]) {
      expect(codec.checkPacket(event([name]))).toEqual({ fault: 'parse error', detail: 'event name is not a string' });
    }
    // socket.io accepts numeric event names; so does the engine.
    expect(codec.checkPacket(event([123456789012]))).toBeUndefined();
  });

  it('takes event names up to maxEventNameLength characters and refuses longer ones', () => {
    expect(codec.checkPacket(event(['12345678']))).toBeUndefined();
    expect(codec.checkPacket(event(['123456789']))).toEqual({
      fault: 'limit exceeded',
      detail: 'event name of 9 characters, at most 8',
    });
  });

  it('bounds the nesting of event and ack arguments', () => {
    const tooDeep = { fault: 'limit exceeded', detail: 'arguments nested deeper than 3' };
    expect(codec.checkPacket(event(['x', [[1]]]))).toBeUndefined();
    expect(codec.checkPacket(event(['x', [[[1]]]]))).toEqual(tooDeep);
    expect(codec.checkPacket({ type: PacketType.BINARY_EVENT, nsp: '/', data: ['x', { a: { b: {} } }] })).toEqual(
      tooDeep,
    );
    expect(codec.checkPacket(ack([[1]], 3))).toBeUndefined();
    expect(codec.checkPacket(ack([[[1]]], 3))).toBeUndefined();
    expect(codec.checkPacket(ack([[[[1]]]], 3))).toEqual(tooDeep);
    expect(codec.checkPacket({ type: PacketType.BINARY_ACK, nsp: '/', data: [{ a: { b: {} } }], id: 3 })).toEqual(
      tooDeep,
    );
  });

  it('refuses an ack without an id or without an argument list', () => {
    const malformed = { fault: 'parse error', detail: 'malformed ack' };
    expect(codec.checkPacket(ack([]))).toEqual(malformed);
    expect(codec.checkPacket(ack('x', 3))).toEqual(malformed);
    expect(codec.checkPacket({ type: PacketType.BINARY_ACK, nsp: '/', data: [] })).toEqual(malformed);
    expect(codec.checkPacket(ack([], 3))).toBeUndefined();
  });

  it('leaves other packet types to the namespace layer', () => {
    expect(codec.checkPacket({ type: PacketType.CONNECT, nsp: '/', data: { deep: [[[[[1]]]]] } })).toBeUndefined();
    expect(codec.checkPacket({ type: PacketType.DISCONNECT, nsp: '/' })).toBeUndefined();
  });
});

describe('exceedsDepth', () => {
  it('counts the top-level array as depth 1, and scalars as nothing', () => {
    expect(exceedsDepth('x', 0)).toBe(false);
    expect(exceedsDepth(null, 0)).toBe(false);
    expect(exceedsDepth([], 0)).toBe(true);
    expect(exceedsDepth([], 1)).toBe(false);
    expect(exceedsDepth({}, 1)).toBe(false);
    expect(exceedsDepth([1, 'a', null], 1)).toBe(false);
    expect(exceedsDepth([[]], 1)).toBe(true);
    expect(exceedsDepth({ a: {} }, 1)).toBe(true);
    expect(exceedsDepth({ a: 1, b: [] }, 1)).toBe(true);
    expect(exceedsDepth([1, [2, [3]]], 3)).toBe(false);
    expect(exceedsDepth([1, [2, [3, []]]], 3)).toBe(true);
  });

  it('does not descend into binary data', () => {
    for (const binary of [Buffer.from([1]), new Uint8Array(4), new ArrayBuffer(4), new DataView(new ArrayBuffer(2))]) {
      expect(exceedsDepth(['x', binary], 1)).toBe(true);
      expect(exceedsDepth(['x', binary], 2)).toBe(false);
    }
  });
});
