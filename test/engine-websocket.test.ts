import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoNamespace, openWebSocketSession, startEngine, type TestEngine } from './helpers/engine-server.js';

let test: TestEngine;
const main = echoNamespace();
beforeAll(async () => {
  test = await startEngine({ pingInterval: 10_000, pingTimeout: 5000 }, { '/': main, '/chat': echoNamespace() });
});
afterAll(() => test.stop());

describe('WebSocket transport', () => {
  it('relays a text event verbatim: the handler gets the packet text, sendEncoded prefixes "4"', async () => {
    const { reader } = await openWebSocketSession(test);
    reader.ws.send('40');
    expect(await reader.next()).toMatch(/^40\{"sid"/);
    reader.ws.send('42["relay",{"sdp":"v=0"}]');
    expect(await reader.nextNonPing()).toBe('42["relay",{"sdp":"v=0"}]');
    expect(main.events.at(-1)).toEqual({ name: 'relay', args: [{ sdp: 'v=0' }], encoded: '2["relay",{"sdp":"v=0"}]' });
    reader.ws.close();
  });

  it('gives the encoded text with its namespace, and none when an ack is asked', async () => {
    const chat = echoNamespace();
    const local = await startEngine({}, { '/chat': chat });
    try {
      const { reader } = await openWebSocketSession(local);
      reader.ws.send('40/chat,');
      expect(await reader.next()).toMatch(/^40\/chat,\{"sid"/);
      reader.ws.send('42/chat,["x",1]');
      reader.ws.send('42/chat,7["y"]');
      await new Promise<void>((resolve) => {
        const check = () => (chat.events.length === 2 ? resolve() : setImmediate(check));
        check();
      });
      expect(chat.events).toEqual([
        { name: 'x', args: [1], encoded: '2/chat,["x",1]' },
        { name: 'y', args: [], encoded: undefined },
      ]);
      reader.ws.close();
    } finally {
      local.stop();
    }
  });

  it('closes the session with "transport close" when the client closes the socket', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    reader.ws.send('40');
    await reader.next();
    reader.ws.close();
    expect(await test.closedSession(sid)).toBe('transport close');
    await expect.poll(() => main.disconnects.length).toBeGreaterThan(0);
    expect(main.disconnects.at(-1)!.reason).toBe('transport close');
  });

  it('closes on a close packet "1"', async () => {
    const { reader, sid } = await openWebSocketSession(test);
    reader.ws.send('1');
    expect(await test.closedSession(sid)).toBe('transport close');
    expect((await reader.closed).code).toBe(1000);
  });
});
