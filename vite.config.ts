/**
 * Builds the browser pages into dist/web, which `parley serve` serves: the web app
 * (src/client/app) at `/`, and the live state inspector (src/client/inspector) at `/inspector`.
 * `npx vite` runs both in development against a Parley on port 9999 (`npm start`): the app at
 * `/`, the inspector at `/inspector/`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const path = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/**
 * The pages live side by side under src/client, so Vite names the app's page `app/index.html`;
 * it is served at `/`, so it goes to the top of dist/web (its assets are linked from `/assets/`,
 * so moving the page changes nothing else). In development `/` is rewritten to it.
 */
function appAtRoot(): Plugin {
  return {
    name: 'parley:app-at-root',
    enforce: 'post',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        if (req.url === '/' || req.url?.startsWith('/?') === true) req.url = `/app/${req.url.slice(1)}`;
        next();
      });
    },
    generateBundle(_options, bundle) {
      const page = bundle['app/index.html'];
      if (page?.type !== 'asset') return;
      delete bundle['app/index.html'];
      this.emitFile({ type: 'asset', fileName: 'index.html', source: page.source });
    },
  };
}

export default defineConfig({
  root: path('./src/client'),
  plugins: [appAtRoot()],
  build: {
    outDir: path('./dist/web'),
    emptyOutDir: true,
    target: ['chrome111', 'firefox115', 'safari16'],
    sourcemap: true,
    rollupOptions: {
      input: { app: path('./src/client/app/index.html'), inspector: path('./src/client/inspector/index.html') },
      // Function names survive minification: the inspector shows machine definitions, and XState's
      // combined guards (`and`, `or`, `not`) and inline functions are known there by their names.
      output: { keepNames: true },
    },
  },
  server: {
    // The dev server hands signaling and the inspection stream to a running Parley, WebSocket upgrades included.
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:9999', ws: true },
      '/inspector/events': { target: 'http://127.0.0.1:9999', ws: true },
    },
  },
});
