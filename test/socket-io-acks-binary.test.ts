import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { echoNamespace, openWebSocketSession, startEngine, type TestEngine } from './helpers/engine-server.js';

let test: TestEngine;
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000 }, { '/': echoNamespace() });
});
afterAll(() => test.stop());

describe.each(['websocket', 'polling'] as const)('acks and binary over %s', (transport) => {
  it('acknowledges once with the handler arguments', async () => {
    const client = io(test.url, { transports: [transport], reconnection: false });
    try {
      const reply = await new Promise<unknown[]>((resolve) =>
        client.emit('message-with-ack', 1, '2', { 3: [true] }, (...args: unknown[]) => resolve(args)),
      );
      expect(reply).toEqual([1, '2', { 3: [true] }]);
      const replies: unknown[] = [];
      await new Promise<void>((resolve) =>
        client.emit('ack-twice', (value: unknown) => (replies.push(value), resolve())),
      );
      // A second call of the same ack sends nothing: the next ack answer is for the next request.
      expect(await client.emitWithAck('message-with-ack', 'x')).toBe('x');
      expect(replies).toEqual(['first']);
    } finally {
      client.close();
    }
  });

  it('round-trips binary attachments', async () => {
    const client = io(test.url, { transports: [transport], reconnection: false });
    try {
      const back = new Promise<unknown[]>((resolve) =>
        client.once('message-back', (...args: unknown[]) => resolve(args)),
      );
      client.emit('message', Buffer.from([1, 2, 3]), { nested: Buffer.from([4, 5]) });
      const [first, second] = await back;
      expect(Buffer.from(first as ArrayBuffer)).toEqual(Buffer.from([1, 2, 3]));
      expect(Buffer.from((second as { nested: ArrayBuffer }).nested)).toEqual(Buffer.from([4, 5]));
    } finally {
      client.close();
    }
  });
});

describe('acks on the wire', () => {
  it('answers a text ack as ACK and a binary one as BINARY_ACK', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    await reader.next();
    reader.ws.send('4212["message-with-ack",1,"2"]');
    expect(await reader.nextNonPing()).toBe('4312[1,"2"]');
    reader.ws.send('451-9["message-with-ack",{"_placeholder":true,"num":0}]');
    reader.ws.send(Buffer.from([7, 8]));
    expect(await reader.nextNonPing()).toBe('461-9[{"_placeholder":true,"num":0}]');
    expect(await reader.nextNonPing()).toEqual(Buffer.from([7, 8]));
    reader.ws.close();
  });
});
