#!/usr/bin/env node
// Launcher for the compiled CLI: kept as plain JS so `npx nightshift` works straight from a checkout.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('nightshift is not built yet: run `npm run build`\n');
  process.exit(2);
}
// The AWS SDK warns on every run that Node 20 support ends in 2027 (`land` uses it); the stack is pinned on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import(main.href);
