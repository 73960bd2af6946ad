import { afterEach, describe, expect, it } from 'vitest';
import { echoNamespace, startEngine, type TestEngine } from './helpers/engine-server.js';

let test: TestEngine | undefined;
afterEach(() => test?.stop());

async function handshake(engine: TestEngine, forwardedFor: string): Promise<number> {
  const response = await fetch(engine.engineUrl('transport=polling'), { headers: { 'x-forwarded-for': forwardedFor } });
  await response.text();
  return response.status;
}

describe('limits behind a reverse proxy', () => {
  it("counts a trusted proxy's clients by the address it appended to X-Forwarded-For", async () => {
    test = await startEngine({ trustedProxies: ['127.0.0.1'], maxSessionsPerAddress: 1 }, { '/': echoNamespace() });
    expect(await handshake(test, '203.0.113.1')).toBe(200);
    expect(await handshake(test, '203.0.113.2')).toBe(200);
    // A client cannot forge its way out: only the last entry, written by the proxy, counts.
    expect(await handshake(test, '198.51.100.7, 203.0.113.1')).toBe(429);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    test = await startEngine({ maxSessionsPerAddress: 1 }, { '/': echoNamespace() });
    expect(await handshake(test, '203.0.113.1')).toBe(200);
    expect(await handshake(test, '203.0.113.2')).toBe(429);
  });
});
