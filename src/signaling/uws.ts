/**
 * Loads uWebSockets.js and tells whether the native binary loaded.
 *
 * The build we depend on (`@trufflesuite/uws-js-unofficial`, aliased as `uWebSockets.js`) ships
 * native binaries for a few Node ABIs. On any other ABI it prints a warning and silently swaps in
 * a JavaScript shim that is many times slower. We detect the swap by checking whether the
 * binary for this platform, arch and ABI is in the module cache after loading.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

/** The uWebSockets.js module, native or shim. */
export const uws = require('uWebSockets.js') as typeof Uws;

/** Path of the native binary this Node would load. */
export const uwsBinaryPath = join(
  dirname(require.resolve('uWebSockets.js')),
  '..',
  'binaries',
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
);

/** True when the native binary is what loaded; false means the slow JavaScript shim runs. */
export const uwsIsNative: boolean = require.cache[uwsBinaryPath] !== undefined;

/** One line for start-up logs saying which implementation runs, and why it matters. */
export function describeUwsImplementation(): string {
  return uwsIsNative
    ? `uWebSockets.js: native (${process.platform}-${process.arch}, Node ABI ${process.versions.modules})`
    : `uWebSockets.js: NOT NATIVE. No binary for Node ${process.version} (ABI ${process.versions.modules}) on ` +
        `${process.platform}-${process.arch}; the JavaScript fallback runs and is many times slower. Use Node 20.`;
}
