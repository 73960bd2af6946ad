/**
 * The systemd unit in docs/deployment.md is one an operator can paste: systemd parses it, no
 * value carries a trailing comment (systemd would take it as part of the value), and it starts
 * Node with the flags the parley binary declares in its first line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const deployment = readFileSync(join(root, 'docs/deployment.md'), 'utf8');
const unit = /```ini\n(# \/etc\/systemd\/system\/parley\.service\n[\s\S]*?)```/.exec(deployment)?.[1] ?? '';
const dir = mkdtempSync(join(tmpdir(), 'parley-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the systemd unit of docs/deployment.md', () => {
  it('is there', () => {
    expect(unit).toMatch(/^\[Service\]$/m);
  });

  it('passes systemd-analyze verify', () => {
    // Point it at this checkout and a real environment file, as an install would.
    const local = unit
      .replaceAll('/opt/parley', root)
      .replace('EnvironmentFile=/etc/parley.env', `EnvironmentFile=${join(dir, 'parley.env')}`);
    writeFileSync(join(dir, 'parley.env'), 'PARLEY_TURN_SECRET=test\n');
    writeFileSync(join(dir, 'parley.service'), local);
    const result = execFileSync('systemd-analyze', ['verify', '--man=no', join(dir, 'parley.service')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(result).toBe('');
  });

  it('has no comment after a value on any line', () => {
    for (const line of unit.split('\n')) {
      if (line.startsWith('#') || line.startsWith(';') || !line.includes('=')) continue;
      expect(line, line).not.toMatch(/\s[#;]/);
    }
  });

  it("runs node with the binary's own flags", () => {
    const shebang = readFileSync(join(root, 'bin/parley.js'), 'utf8').split('\n')[0];
    const flags = shebang.replace('#!/usr/bin/env -S node', '').trim();
    expect(flags).toMatch(/^--/);
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    expect(execStart).toMatch(new RegExp(`^/usr/bin/node ${flags} /opt/parley/bin/parley\\.js serve`));
  });
});
