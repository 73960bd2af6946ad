import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPeerIdentity, newPeerIdentity, ResumeTokens } from '../src/signaling/resume-token.js';
import { loadOrCreateResumeSecret, resumeSecretPath } from '../src/signaling/resume-secret.js';
import { roomKey } from '../src/signaling/room-registry.js';
import { parseServeConfig, UsageError } from '../src/signaling/cli.js';

const SECRET = 'a resume secret of enough length';
const ROOM = roomKey('kitchen', 'room secret');

function tokens(now = 1_700_000_000_000, ttlMs = 60_000) {
  let time = now;
  const issuer = new ResumeTokens(SECRET, { ttlMs, now: () => time });
  return { issuer, advance: (ms: number) => (time += ms) };
}

describe('resume tokens', () => {
  it('give back the identity, role and partner they were issued with, in the same room', () => {
    const { issuer } = tokens();
    const peerId = newPeerIdentity();
    const partnerId = newPeerIdentity();
    const token = issuer.issue(ROOM, { peerId, role: 'polite', partnerId });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(issuer.verify(ROOM, token)).toEqual({
      peerId,
      role: 'polite',
      partnerId,
      expiresAt: 1_700_000_060_000,
    });
    const alone = issuer.issue(ROOM, { peerId, role: 'impolite', partnerId: undefined });
    expect(issuer.verify(ROOM, alone)).toMatchObject({ peerId, role: 'impolite', partnerId: undefined });
    // Compact: 72 characters alone, 92 with a partner.
    expect([alone.length, token.length]).toEqual([72, 92]);
  });

  it('are accepted by another issuer with the same secret (the next process), and no other', () => {
    const { issuer } = tokens();
    const token = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'polite', partnerId: undefined });
    expect(new ResumeTokens(SECRET, { now: () => 1_700_000_000_000 }).verify(ROOM, token)).toBeDefined();
    expect(new ResumeTokens(`${SECRET}!`, { now: () => 1_700_000_000_000 }).verify(ROOM, token)).toBeUndefined();
  });

  it('do not verify for another room, or the same name without its secret', () => {
    const { issuer } = tokens();
    const token = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'polite', partnerId: undefined });
    expect(issuer.verify(roomKey('kitchen', undefined), token)).toBeUndefined();
    expect(issuer.verify(roomKey('kitchen', 'other secret'), token)).toBeUndefined();
    expect(issuer.verify(roomKey('hall', 'room secret'), token)).toBeUndefined();
  });

  it('expire', () => {
    const { issuer, advance } = tokens();
    const token = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'polite', partnerId: undefined });
    advance(59_000);
    expect(issuer.verify(ROOM, token)).toBeDefined();
    advance(1_000);
    expect(issuer.verify(ROOM, token)).toBeUndefined();
  });

  it('refuse every single-character change and every truncation', () => {
    const { issuer } = tokens();
    const token = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'impolite', partnerId: newPeerIdentity() });
    const alphabet = 'AQgw_-.=+/ ';
    for (let i = 0; i < token.length; i++) {
      for (const c of alphabet) {
        if (c === token[i]) continue;
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        expect(issuer.verify(ROOM, altered), `${altered} (position ${i})`).toBeUndefined();
      }
      expect(issuer.verify(ROOM, token.slice(0, i))).toBeUndefined();
    }
    expect(issuer.verify(ROOM, `${token}A`)).toBeUndefined();
  });

  it('refuse forgeries: a role or partner swapped in the body, a MAC from another body, junk', () => {
    const { issuer } = tokens();
    const peerId = newPeerIdentity();
    const token = issuer.issue(ROOM, { peerId, role: 'impolite', partnerId: undefined });
    const [body, mac] = token.split('.') as [string, string];
    const bytes = Buffer.from(body, 'base64url');
    bytes[1] = 1; // polite
    expect(issuer.verify(ROOM, `${bytes.toString('base64url')}.${mac}`)).toBeUndefined();
    const withPartner = Buffer.concat([Buffer.from(body, 'base64url'), Buffer.from(newPeerIdentity(), 'base64url')]);
    expect(issuer.verify(ROOM, `${withPartner.toString('base64url')}.${mac}`)).toBeUndefined();
    const other = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'impolite', partnerId: undefined });
    expect(issuer.verify(ROOM, `${body}.${other.split('.')[1]}`)).toBeUndefined();
    for (const junk of ['', '.', 'a.b', '....', 'x'.repeat(300), `${body}.`, `.${mac}`]) {
      expect(issuer.verify(ROOM, junk)).toBeUndefined();
    }
  });

  it('never carry the room name or secret, in clear or hashed', () => {
    const { issuer } = tokens();
    const token = issuer.issue(ROOM, { peerId: newPeerIdentity(), role: 'polite', partnerId: undefined });
    const decoded = Buffer.from(token.split('.')[0], 'base64url').toString('latin1');
    for (const part of ['kitchen', 'room secret', ROOM.split('\u0000')[1]]) {
      expect(token).not.toContain(part);
      expect(decoded).not.toContain(part);
    }
  });

  it('need a secret of at least 16 bytes', () => {
    expect(() => new ResumeTokens('short')).toThrow(RangeError);
  });

  it('use identities shaped like socket ids', () => {
    const id = newPeerIdentity();
    expect(id).toHaveLength(20);
    expect(isPeerIdentity(id)).toBe(true);
    expect(isPeerIdentity('not an id')).toBe(false);
    expect(isPeerIdentity('AAAAAAAAAAAAAAAAAAA=')).toBe(false);
  });
});

describe('the resume secret kept in the state directory', () => {
  it('is made once with mode 0600 and read back on the next start', () => {
    const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'parley-resume-')) };
    const first = loadOrCreateResumeSecret(env);
    expect(first.created).toBe(true);
    expect(first.path).toBe(join(env.XDG_STATE_HOME, 'parley', 'resume-secret'));
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(first.secret.length).toBeGreaterThanOrEqual(32);
    const second = loadOrCreateResumeSecret(env);
    expect(second).toEqual({ ...first, created: false });
  });

  it("lives in systemd's StateDirectory, else XDG_STATE_HOME, else ~/.local/state", () => {
    expect(resumeSecretPath({ STATE_DIRECTORY: '/var/lib/parley', XDG_STATE_HOME: '/x', HOME: '/home/ada' })).toBe(
      '/var/lib/parley/resume-secret',
    );
    expect(resumeSecretPath({ STATE_DIRECTORY: '/var/lib/parley:/var/lib/other' })).toBe(
      '/var/lib/parley/resume-secret',
    );
    expect(resumeSecretPath({ XDG_STATE_HOME: '/x', HOME: '/home/ada' })).toBe('/x/parley/resume-secret');
    expect(resumeSecretPath({ HOME: '/home/ada' })).toBe('/home/ada/.local/state/parley/resume-secret');
  });

  it('refuses a file too short to be a secret', () => {
    const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'parley-resume-')) };
    loadOrCreateResumeSecret(env);
    writeFileSync(resumeSecretPath(env), 'short\n');
    expect(() => loadOrCreateResumeSecret(env)).toThrow(/fewer than 16/);
    expect(readFileSync(resumeSecretPath(env), 'utf8')).toBe('short\n');
  });
});

describe('--resume-secret', () => {
  it('comes from the flag or PARLEY_RESUME_SECRET (the flag wins), and is left to the state file when absent', () => {
    const secret = 'sixteen or more characters';
    expect(parseServeConfig(['--resume-secret', secret], {}).resumeSecret).toBe(secret);
    expect(parseServeConfig([], { PARLEY_RESUME_SECRET: secret }).resumeSecret).toBe(secret);
    expect(parseServeConfig(['--resume-secret', `${secret}!`], { PARLEY_RESUME_SECRET: secret }).resumeSecret).toBe(
      `${secret}!`,
    );
    expect(parseServeConfig([], {}).resumeSecret).toBeUndefined();
  });

  it('refuses a secret shorter than 16 characters', () => {
    expect(() => parseServeConfig(['--resume-secret', 'too short'], {})).toThrow(UsageError);
    expect(() => parseServeConfig([], { PARLEY_RESUME_SECRET: 'too short' })).toThrow(/16/);
  });
});
