import { readFile } from 'node:fs/promises';
import { DataFileAccessError, InputDataError, InvalidAnalyticsOptionsError } from '@nightshift/analytics';
import { backfillCommand } from './backfill-command.js';
import { benchCommand } from './bench-command.js';
import { datasetsCommand, dlqCommand, pipelinesCommand } from './catalog-commands.js';
import { chaosCommand } from './chaos-command.js';
import { type CliIo, type Command } from './command.js';
import { parseCliEnvironment } from './config.js';
import { ApiProblemError, CliUsageError, LandingRefusedError } from './errors.js';
import { generateCommand } from './generate-command.js';
import { landCommand } from './land-command.js';
import { metricsCommand } from './metrics-command.js';
import { notificationsCommand } from './notifications-command.js';
import { runsCommand } from './runs-command.js';
import { tcaCommand } from './tca-command.js';

/** Exit codes: 0 done; 2 bad input or usage (running it again cannot help); 1 anything else. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

export const COMMANDS: readonly Command[] = [
  tcaCommand,
  metricsCommand,
  generateCommand,
  benchCommand,
  chaosCommand,
  runsCommand,
  backfillCommand,
  landCommand,
  pipelinesCommand,
  datasetsCommand,
  dlqCommand,
  notificationsCommand,
];

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: nightshift <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `nightshift <command> --help` for its options. The analytics commands print JSON; the platform commands',
    '(runs, backfill, land, pipelines, datasets, dlq, notifications) print tables, or the REST API\'s JSON with --json. Errors are one line on stderr.',
    'Exit codes: 0 done, 2 bad input or usage, 1 other failure. `nightshift --version` prints the version.',
    '',
  ].join('\n');
}

/**
 * Runs `nightshift` with `argv` (without the node and script paths) and returns its exit code.
 * Nothing here calls `process.exit`, so pending output is flushed and tests can call it in-process.
 */
export async function runCli(argv: string[], io: CliIo, env: Readonly<Record<string, string | undefined>> = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(topUsage());
    return name === undefined ? EXIT_BAD_INPUT : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${await cliVersion()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`nightshift: unknown command "${name}" (expected one of ${COMMANDS.map((c) => c.name).join(', ')}; see nightshift --help)\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    const result = await command.run(rest, io, parseCliEnvironment(env));
    if (result === null) io.stdout.write(`${command.usage}\n`);
    else if (result !== undefined) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT_OK;
  } catch (error) {
    const code = exitCodeFor(error);
    io.stderr.write(`nightshift ${name}: ${code === EXIT_BAD_INPUT ? 'bad input' : 'failed'}: ${oneLine(error)}\n`);
    return code;
  }
}

/**
 * Bad input is anything the caller must change before a rerun can succeed: the command line, the
 * data (InputDataError names file, line and column), a file that is missing or unreadable for
 * a permanent reason, or what the platform refused as such (a 4xx problem but 429: an unknown run,
 * a run in the wrong state, a token refused; credentials or a source the AWS endpoint refused).
 * Everything else (engine failures, transient I/O, an unreachable platform, a run that FAILED, a
 * rejected landing) exits 1.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliUsageError || error instanceof InputDataError || error instanceof InvalidAnalyticsOptionsError) return EXIT_BAD_INPUT;
  if (error instanceof DataFileAccessError && !error.retryable) return EXIT_BAD_INPUT;
  if (error instanceof ApiProblemError && !error.retryable) return EXIT_BAD_INPUT;
  if (error instanceof LandingRefusedError) return EXIT_BAD_INPUT;
  return EXIT_FAILURE;
}

/** The CLI's package version (package.json sits next to both src/ and dist/). */
export async function cliVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The error as one line: engine messages can span several (query plans, hints). */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
