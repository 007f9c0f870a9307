#!/usr/bin/env node
// Launcher for the compiled CLI: kept as plain JS so `npx nightshift` works straight from a checkout.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('nightshift is not built yet: run `npm run build`\n');
  process.exit(2);
}
await import(main.href);
