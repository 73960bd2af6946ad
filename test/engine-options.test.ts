/**
 * The engine's options (src/signaling/engine/engine-options.ts): every limit has a documented
 * default, an option given as `undefined` takes it, and what is given wins. docs/security.md
 * and the CLI's help quote these defaults, so they are pinned here.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../src/signaling/engine/clock.js';
import { silentLog } from '../src/signaling/engine/engine-log.js';
import { ENGINE_DEFAULTS, RECOVERY_DEFAULTS, resolveEngineOptions } from '../src/signaling/engine/engine-options.js';

describe('ENGINE_DEFAULTS', () => {
  it('are engine.io’s timings and Parley’s documented bounds', () => {
    expect(ENGINE_DEFAULTS).toEqual({
      path: '/socket.io/',
      pingInterval: 25_000,
      pingTimeout: 20_000,
      upgradeTimeout: 10_000,
      connectTimeout: 45_000,
      maxPayload: 1_000_000,
      allowedOrigins: [],
      trustedProxies: [],
      maxBufferedBytes: 1_048_576,
      maxAttachments: 10,
      maxAttachmentBytes: 1_000_000,
      attachmentTimeout: 10_000,
      maxConcurrentBodies: 256,
      bodyTimeout: 10_000,
      maxEventNameLength: 128,
      maxAckId: 2_147_483_647,
      maxDepth: 32,
      maxConnectionsPerAddress: 100,
      maxConnections: 1_000_000,
      maxSessionsPerAddress: 100,
      handshakeRate: 20,
      handshakeBurst: 40,
      messageRate: 50,
      messageBurst: 100,
      maxDroppedMessages: 100,
      connectionStateRecovery: false,
    });
  });
});

describe('resolveEngineOptions', () => {
  it('fills in every default, the system clock and a silent log', () => {
    const resolved = resolveEngineOptions();
    expect(resolved).toEqual({ ...ENGINE_DEFAULTS, clock: systemClock, log: silentLog });
    expect(resolved.clock).toBe(systemClock);
    expect(resolved.log).toBe(silentLog);
    expect(resolveEngineOptions({})).toEqual(resolved);
  });

  it('keeps what is given, and takes the default for an option given as undefined', () => {
    const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
    const resolved = resolveEngineOptions({
      pingInterval: 1000,
      pingTimeout: undefined,
      allowedOrigins: '*',
      path: '/signal/',
      clock,
    });
    expect(resolved.pingInterval).toBe(1000);
    expect(resolved.pingTimeout).toBe(20_000);
    expect(resolved.allowedOrigins).toBe('*');
    expect(resolved.path).toBe('/signal/');
    expect(resolved.clock).toBe(clock);
    expect(Object.values(resolved).every((value) => value !== undefined)).toBe(true);
  });

  it('has connection state recovery off unless asked for, and fills in its defaults when it is on', () => {
    expect(resolveEngineOptions({ connectionStateRecovery: false }).connectionStateRecovery).toBe(false);
    expect(resolveEngineOptions({ connectionStateRecovery: undefined }).connectionStateRecovery).toBe(false);
    expect(resolveEngineOptions({ connectionStateRecovery: {} }).connectionStateRecovery).toEqual(RECOVERY_DEFAULTS);
    expect(
      resolveEngineOptions({
        connectionStateRecovery: { maxDisconnectionDuration: 5000, maxRetainedPackets: undefined },
      }).connectionStateRecovery,
    ).toEqual({ ...RECOVERY_DEFAULTS, maxDisconnectionDuration: 5000 });
  });
});
