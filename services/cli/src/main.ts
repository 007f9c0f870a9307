import { runCli } from './cli.js';
import { processEnvironment } from './config.js';

// Launched by bin/nightshift.js. Setting exitCode (not process.exit) lets stdout drain first.
process.exitCode = await runCli(process.argv.slice(2), process, processEnvironment());
