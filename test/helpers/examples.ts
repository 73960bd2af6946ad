/**
 * Helpers for the end-to-end test of the examples (examples/*): pack Parley the way it is
 * published, install an example against that tarball in a temporary copy, build it, and serve
 * the build from the packed `parley serve`, so the test sees what a user of the package sees.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What is never copied: installed or built output, and the repository's own bookkeeping. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', '.cache', '.scratch', 'coverage', 'examples']);

/**
 * The environment for npm run from a test: without the variables of the `npm test` that started
 * vitest that describe its project (`npm_config_local_prefix` would point the child at the
 * repository); npm's other settings, such as its cache, carry over.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const project = /^npm_(package_|lifecycle_|command$|config_local_prefix$)/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !project.test(name)));
}

async function npm(args: readonly string[], cwd: string): Promise<void> {
  try {
    await promisify(execFile)('npm', [...args], { cwd, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

/**
 * Packs Parley in a copy of the repository under `work` (other test files build the
 * repository's own dist/ at the same time), and returns the tarball's path.
 */
export async function packParley(work: string): Promise<string> {
  const copy = join(work, 'parley');
  await cp(root, copy, { recursive: true, filter: (source) => !NOT_COPIED.has(relativeTop(source)) });
  await symlink(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  // `npm pack` builds first (the package's prepack script), as when publishing.
  await npm(['pack', '--pack-destination', work, '--silent'], copy);
  const tarball = (await readdir(work)).find((name) => /^parley-.*\.tgz$/.test(name));
  if (tarball === undefined) throw new Error(`npm pack left no parley-*.tgz in ${work}`);
  return join(work, tarball);
}

/** The first path segment of `source` below the repository root ('' for the root itself). */
function relativeTop(source: string): string {
  return source.slice(root.length).replace(/^\/+/, '').split('/')[0] ?? '';
}

/**
 * Copies examples/`name` to `work`/`name`, points its `parley` dependency at `tarball`, installs
 * it (every install shares npm's cache, so the second and third are quick) and runs its build.
 * Returns the copy's directory; the build is in its dist/.
 */
export async function installExample(name: string, tarball: string, work: string): Promise<string> {
  const dir = join(work, name);
  const source = join(root, 'examples', name);
  await cp(source, dir, {
    recursive: true,
    filter: (path) => !/\/(node_modules|dist)(\/|$)/.test(path.slice(source.length)),
  });
  const manifestPath = join(dir, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { dependencies: Record<string, string> };
  manifest.dependencies['parley'] = `file:${tarball}`;
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
  await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'], dir);
  await npm(['run', 'build', '--silent'], dir);
  return dir;
}

/**
 * Runs `npm run <script>` in an installed example (its own tests, say) and resolves with what it
 * printed; rejects with the output if it fails. Without the variables of the vitest running this
 * test, which a vitest inside would take for its own.
 */
export async function runExampleScript(dir: string, script: string): Promise<string> {
  const env = Object.fromEntries(Object.entries(npmEnv()).filter(([name]) => !/^VITEST/.test(name)));
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', script, '--silent'], {
      cwd: dir,
      env: { ...env, NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run ${script} failed in ${dir}:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

/** A running `parley serve` from an installed package. */
export interface InstalledParley {
  readonly url: string;
  /** SIGTERM, and resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs the `parley` binary installed in `dir` (node_modules/.bin/parley, as `npx parley serve`
 * would) on a free loopback port, serving `staticDir`, with `extraArgs`, and resolves with its URL.
 */
export function serveInstalled(
  dir: string,
  staticDir: string,
  extraArgs: readonly string[] = [],
): Promise<InstalledParley> {
  const args = ['serve', '--port', '0', '--static', staticDir, ...extraArgs];
  const child = spawn(join(dir, 'node_modules/.bin/parley'), args, {
    cwd: dir,
    env: npmEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += String(chunk);
      const match = /listening on (https?:\/\/[^\s"]+)/.exec(output);
      if (match?.[1] === undefined) return;
      resolve({
        url: match[1].replace(/\/$/, ''),
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`parley serve exited with ${code}:\n${output}`)));
  });
}
