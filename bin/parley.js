#!/usr/bin/env -S node --max-semi-space-size=2
// The `parley` binary: runs the compiled CLI (npm run build makes dist/).
//
// The Node flag above caps V8's young generation at 2 MB a semi-space (default 16). A signaling
// server holds thousands of small long-lived sessions and allocates little per message; bursts
// of handshakes would otherwise grow the young generation to 32 MB and keep it, which is most of
// the resident memory per idle connection (docs/performance.md). Run with `node bin/parley.js`
// and the flag does not apply: pass it yourself, as `npm start` does through the shebang.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/signaling/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('parley: not built yet. Run `npm run build` (npm start does it for you).\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
