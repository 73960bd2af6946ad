/**
 * React with Vite. The dev and preview servers hand `/socket.io` (signaling, WebSocket upgrades
 * included) to a running `parley serve` on PARLEY_PORT (9999 by default).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const parley = { target: `http://127.0.0.1:${process.env['PARLEY_PORT'] ?? 9999}`, ws: true };

export default defineConfig({
  plugins: [react()],
  server: { proxy: { '/socket.io': parley } },
  preview: { proxy: { '/socket.io': parley } },
});
