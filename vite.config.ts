/**
 * Builds the browser app (src/client/app) into dist/web, which `parley serve` serves at `/`.
 * `npx vite` runs it in development against a Parley on port 9999 (`npm start`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./src/client/app', import.meta.url)),
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: ['chrome111', 'firefox115', 'safari16'],
    sourcemap: true,
  },
  server: {
    // The dev server hands signaling to a running Parley, WebSocket upgrades included.
    proxy: { '/socket.io': { target: 'http://127.0.0.1:9999', ws: true } },
  },
});
