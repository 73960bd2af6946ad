/**
 * Vite's dev and preview servers hand `/socket.io` (signaling, WebSocket upgrades included) to a
 * running `parley serve` on PARLEY_PORT (9999 by default), so the page and signaling share an origin.
 */
import { defineConfig } from 'vite';

const parley = { target: `http://127.0.0.1:${process.env['PARLEY_PORT'] ?? 9999}`, ws: true };

export default defineConfig({
  server: { proxy: { '/socket.io': parley } },
  preview: { proxy: { '/socket.io': parley } },
});
