import { describe, expect, it } from 'vitest';
import { HELP, parseServeConfig } from '../src/signaling/cli.js';
import type { ParleyServerConfig } from '../src/signaling/parley-server.js';
import { startTestServer } from './helpers/parley.js';
import { openWebSocket } from './helpers/engine-server.js';

/** The CONNECT acknowledgement a Parley server started with `engine` options gives a joining client. */
async function connectAckOf(engine: ParleyServerConfig['engine']): Promise<Record<string, unknown>> {
  const server = await startTestServer(engine === undefined ? {} : { engine });
  try {
    const reader = await openWebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    await reader.next(); // the open packet
    reader.ws.send('40{"room":"recovery-default"}');
    const ack = (await reader.next()).toString();
    reader.ws.close();
    return JSON.parse(ack.slice(2)) as Record<string, unknown>;
  } finally {
    server.close();
  }
}

describe('Parley server', () => {
  it('turns connection state recovery on by default, and off when told', async () => {
    expect(Object.keys(await connectAckOf(undefined))).toEqual(['sid', 'pid']);
    expect(Object.keys(await connectAckOf({ connectionStateRecovery: false }))).toEqual(['sid']);
  });
});

describe('parley_recovery_total', () => {
  it('counts a socket held after its connection dropped, then recovered with its pid', async () => {
    const server = await startTestServer({ metrics: { enabled: true } });
    try {
      const url = `${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
      const first = await openWebSocket(url);
      await first.next(); // the open packet
      first.ws.send('40{"room":"recovery-metrics"}');
      const { pid } = JSON.parse((await first.next()).toString().slice(2)) as { pid: string };
      first.ws.terminate();
      await expect.poll(() => recoveryCounts(server.url)).toMatchObject({ held: 1, recovered: 0 });
      const second = await openWebSocket(url);
      await second.next();
      second.ws.send(`40${JSON.stringify({ room: 'recovery-metrics', pid })}`);
      expect(JSON.parse((await second.next()).toString().slice(2))).toMatchObject({ pid });
      await expect.poll(() => recoveryCounts(server.url)).toMatchObject({ held: 1, recovered: 1, expired: 0 });
      second.ws.close();
    } finally {
      server.close();
    }
  });
});

/** The outcomes of `parley_recovery_total` as /metrics reports them. */
async function recoveryCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^parley_recovery_total\{outcome="(\w+)"\} (\d+)$/gm)) {
    counts[match[1] ?? ''] = Number(match[2]);
  }
  return counts;
}

describe('parley serve --recovery-window', () => {
  it('leaves the server default (2 minutes) when absent', () => {
    expect(parseServeConfig([], {}).engine?.connectionStateRecovery).toBeUndefined();
  });

  it('sets the window in seconds, from the flag or PARLEY_RECOVERY_WINDOW, and 0 turns it off', () => {
    expect(parseServeConfig(['--recovery-window', '30'], {}).engine?.connectionStateRecovery).toEqual({
      maxDisconnectionDuration: 30_000,
    });
    expect(parseServeConfig([], { PARLEY_RECOVERY_WINDOW: '5' }).engine?.connectionStateRecovery).toEqual({
      maxDisconnectionDuration: 5_000,
    });
    expect(parseServeConfig(['--recovery-window', '0'], {}).engine?.connectionStateRecovery).toBe(false);
  });

  it('refuses a window that is not a whole number of seconds', () => {
    expect(() => parseServeConfig(['--recovery-window', '-1'], {})).toThrow(/--recovery-window/);
    expect(() => parseServeConfig(['--recovery-window', '1.5'], {})).toThrow(/--recovery-window/);
  });

  it('is documented in --help with its variable and default', () => {
    expect(HELP).toContain('--recovery-window S');
    expect(HELP).toContain('[PARLEY_RECOVERY_WINDOW]  (120)');
  });
});
