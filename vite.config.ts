/**
 * Builds the browser pages into dist/web, which `parley serve` serves: the web app
 * (src/client/app) at `/`, and the live state inspector (src/client/inspector) at `/inspector`.
 * `npx vite` runs both in development against a Parley on port 9999 (`npm start`): the app at
 * `/`, the inspector at `/inspector/`.
 */
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin, type Rollup } from 'vite';

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

/**
 * The app's first chunk (src/client/app/main.ts) takes over the camera request and opens the
 * connection, then imports the call page once the document is parsed. Vite fetches a dynamic import's chunks only
 * when `import()` runs; a `modulepreload` for each of them in the page's head has the browser
 * fetch and compile them meanwhile, beside the first chunk.
 */
function preloadCallPage(): Plugin {
  return {
    name: 'parley:preload-call-page',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const page = bundle['app/index.html'];
      const entry = Object.values(bundle).find(
        (output) =>
          output.type === 'chunk' && output.isEntry && output.facadeModuleId === path('./src/client/app/index.html'),
      );
      if (page?.type !== 'asset' || entry?.type !== 'chunk') return;
      const preload = new Set<string>();
      const visit = (fileName: string) => {
        const chunk = bundle[fileName];
        if (chunk?.type !== 'chunk' || fileName === entry.fileName || preload.has(fileName)) return;
        preload.add(fileName);
        chunk.imports.forEach(visit);
      };
      entry.dynamicImports.forEach(visit);
      const html = String(page.source);
      const links = [...preload]
        .filter((fileName) => !html.includes(`/${fileName}"`))
        .map((fileName) => `<link rel="modulepreload" crossorigin href="/${fileName}">`);
      const script = /<script\b[^>]*\btype="module"[^>]*><\/script>/.exec(html);
      if (script === null) this.error('the app page has no module script to preload beside');
      const at = script.index + script[0].length;
      page.source = `${html.slice(0, at)}\n    ${links.join('\n    ')}${html.slice(at)}`;
    },
  };
}

/**
 * Puts src/client/app/early-media-inline.ts, built into one small script, at the top of the app
 * page's head as an inline script: the page asks for the camera while it is still being parsed,
 * before any script file has arrived (early-media.ts says why), and lays out the chat panel as it
 * will stay (chat-panel.ts). `parley serve` allows it by its hash in the page's
 * Content-Security-Policy (src/signaling/static-files.ts).
 */
function inlineEarlyMedia(): Plugin {
  return {
    name: 'parley:inline-early-media',
    transformIndexHtml: {
      order: 'post',
      async handler(html, { filename }) {
        if (filename !== path('./src/client/app/index.html')) return undefined;
        // Built each time the page is (once per build; per page load in development, so edits show).
        const script = await buildInlineScript(path('./src/client/app/early-media-inline.ts'));
        // Before anything that loads, after the charset (which must come first) and the viewport
        // (the chat's media query reads the width it sets).
        const viewport = /<meta charset="utf-8" \/>\n\s*<meta name="viewport"[^>]*>\n/.exec(html);
        if (viewport === null)
          throw new Error('the app page does not start with its charset and viewport <meta> lines');
        const at = viewport.index + viewport[0].length;
        return `${html.slice(0, at)}    <script>${script}</script>\n${html.slice(at)}`;
      },
    },
  };
}

/**
 * V8's explicit compile hint (Chrome 136 and later; to other engines it is a comment): a script
 * file that starts with it has all its functions compiled at once, on the thread that streams the
 * file in, instead of each on the page's main thread the first time it is called, after a first
 * quick parse that only found where it ends. Most of the app's code runs while a call is set up,
 * and the main thread of the tab that arrives is what the call waits for (docs/performance.md,
 * "Tenth round"). The inspector's page is not hinted: it is no part of a call.
 */
const COMPILE_HINT = '//# allFunctionsCalledOnLoad';

/**
 * Starts each chunk of the app's page (those with a module of src/client/app) with
 * {@link COMPILE_HINT}, as its first line: after every other plugin, which may put code of its own
 * at the top (Vite's list of a dynamic import's dependencies). The source map moves down a line.
 */
function compileHint(): Plugin {
  const app = path('./src/client/app/');
  return {
    name: 'parley:compile-hint',
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        for (const chunk of Object.values(bundle)) {
          if (chunk.type !== 'chunk' || !chunk.moduleIds.some((id) => id.startsWith(app))) continue;
          chunk.code = `${COMPILE_HINT}\n${chunk.code}`;
          if (chunk.map !== null) chunk.map.mappings = `;${chunk.map.mappings}`;
          const map = bundle[`${chunk.fileName}.map`];
          if (map?.type === 'asset') {
            const json = JSON.parse(String(map.source)) as { mappings: string };
            map.source = JSON.stringify({ ...json, mappings: `;${json.mappings}` });
          }
        }
      },
    },
  };
}

/** `entry` bundled into one minified classic script (an IIFE), for inlining. */
async function buildInlineScript(entry: string): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      target: ['chrome111', 'firefox115', 'safari16'],
      lib: { entry, formats: ['iife'], name: 'parleyEarlyMedia', fileName: 'early-media' },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const chunk = outputs.flatMap((output) => output.output).find((file) => file.type === 'chunk');
  if (chunk?.type !== 'chunk') throw new Error(`building ${entry} gave no script`);
  return chunk.code.trim();
}

export default defineConfig({
  root: path('./src/client'),
  plugins: [inlineEarlyMedia(), preloadCallPage(), appAtRoot(), compileHint()],
  build: {
    outDir: path('./dist/web'),
    emptyOutDir: true,
    target: ['chrome111', 'firefox115', 'safari16'],
    sourcemap: true,
    // No modulepreload polyfill: it would be one more request that the app's first chunk waits for,
    // and the browsers without modulepreload (Safari 16) only fetch the call page a little later.
    modulePreload: { polyfill: false },
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
