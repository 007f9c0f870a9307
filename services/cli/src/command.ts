import { CliUsageError } from './errors.js';
import { listFlag, type FlagValues } from './args.js';
import type { CliEnvironment } from './config.js';

/** One subcommand of `nightshift`. */
export interface Command<T = unknown> {
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /** Full help text, printed by `nightshift <name> --help`. */
  usage: string;
  /**
   * Runs the subcommand; the returned value is printed to stdout as JSON. `null` means `--help` was
   * asked for, and `undefined` that the command printed its own output.
   */
  run(argv: string[], io: CliIo, env: CliEnvironment): Promise<T | null | undefined>;
}

/** Where a command writes: the process streams in production, buffers in tests. */
export interface CliIo {
  /** `isTTY` and `columns` as on `process.stdout`: a terminal gets redrawn progress (`runs watch`), anything else plain lines. */
  stdout: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(chunk: string): unknown };
}

/** A comma-separated flag whose items must each be one of `choices` (duplicates dropped). */
export function choiceList<T extends string>(values: FlagValues, name: string, choices: readonly T[]): T[] | undefined {
  const items = listFlag(values, name);
  if (items === undefined) return undefined;
  const unknown = items.filter((i) => !choices.includes(i as T));
  if (unknown.length > 0) throw new CliUsageError(`--${name} has unknown value(s) ${unknown.join(', ')} (expected ${choices.join(', ')})`);
  return [...new Set(items)] as T[];
}
