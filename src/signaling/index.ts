/**
 * `parley/server`: start and stop a Parley server from code, as `parley serve` does. Loading
 * this entry loads uWebSockets.js (src/signaling/uws.ts).
 *
 * @example
 * ```ts
 * import { startParleyServer, webAppDir } from 'parley/server';
 *
 * const server = await startParleyServer({
 *   host: '127.0.0.1',
 *   port: 0,
 *   allowedOrigins: [],
 *   staticDir: webAppDir,
 *   turn: { turnUrls: [], turnSecret: undefined, turnTtl: 3600, stunUrls: [] },
 * });
 * console.log(server.url);
 * await server.drain(1000);
 * ```
 */
import { fileURLToPath } from 'node:url';

export {
  PortInUseError,
  startParleyServer,
  type ParleyServerConfig,
  type RunningInspector,
  type RunningParleyServer,
} from './parley-server.js';
export { DEFAULT_TURN_TTL, type TurnConfig } from './turn-credentials.js';
export type { RateLimit } from './address-rate-limiter.js';
export type { AllowedOrigins, EngineOptions } from './engine/engine-options.js';
export type { EngineLog } from './engine/engine-log.js';
export { describeUwsImplementation, uwsIsNative } from './uws.js';

/** The built web app in the installed package (dist/web), for `staticDir`; `npm run build` makes it. */
export const webAppDir: string = fileURLToPath(new URL('../web/', import.meta.url));
