#!/usr/bin/env node
// The `parley` binary: runs the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/signaling/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('parley: not built yet. Run `npm run build` (npm start does it for you).\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
