export { runCli, exitCodeFor, COMMANDS, EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT } from './cli.js';
export { type Command, type CliIo } from './command.js';
export { CliUsageError, BenchCheckFailedError } from './errors.js';
export { runBench, formatBench, type BenchOptions, type BenchResult } from './bench.js';
export { handWrittenTcaSql, type HandWrittenTcaRow } from './bench-baseline.js';
