import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliUsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
export type FlagValues = Record<string, string | string[] | boolean | undefined>;

/**
 * Strict flag parsing (no positionals, no unknown flags) with `node:util` parseArgs; its
 * ERR_PARSE_ARGS_* errors become a `CliUsageError` so they exit with code 2 like any bad input.
 */
export function parseFlags(argv: string[], options: Options): FlagValues {
  return parse(argv, options, false).values;
}

/**
 * Like {@link parseFlags}, for commands that also take operands (`runs show <id>`, `land FILE...`):
 * between `min` and `max` of them, else a `CliUsageError` naming what is missing or extra. Flags
 * and operands may come in any order; `--` ends the flags.
 */
export function parseCommandLine(argv: string[], options: Options, operands: { min: number; max: number; names: string }): { values: FlagValues; positionals: string[] } {
  const parsed = parse(argv, options, true);
  if (parsed.values['help']) return parsed;
  const n = parsed.positionals.length;
  if (n < operands.min) throw new CliUsageError(`missing ${operands.names}`);
  if (n > operands.max) throw new CliUsageError(`unexpected argument(s) ${parsed.positionals.slice(operands.max).map((p) => JSON.stringify(p)).join(' ')} (expected ${operands.names || 'none'})`);
  return parsed;
}

function parse(argv: string[], options: Options, allowPositionals: boolean): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals });
    return { values: values as FlagValues, positionals };
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new CliUsageError((cause as Error).message.split('\n', 1)[0], { cause });
    }
    throw cause;
  }
}

/** The string value of a flag that must be given. */
export function required(values: FlagValues, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new CliUsageError(`missing required option --${name}`);
  return value;
}

/**
 * The files of a file flag declared `multiple: true`: one or more (`--orders a.csv --orders b.parquet`
 * reads a table split over several files); empty when the flag is absent.
 */
export function files(values: FlagValues, name: string): string[] {
  const value = values[name];
  const list = value === undefined || typeof value === 'boolean' ? [] : Array.isArray(value) ? value : [value];
  if (list.some((v) => v === '')) throw new CliUsageError(`--${name} needs a file path`);
  return list;
}

/** The files of a repeatable file flag that must be given at least once. */
export function requiredFiles(values: FlagValues, name: string): string[] {
  const list = files(values, name);
  if (list.length === 0) throw new CliUsageError(`missing required option --${name}`);
  return list;
}

/** An optional string flag. */
export function optional(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** An optional integer flag, at least `min`. */
export function intFlag(values: FlagValues, name: string, min: number): number | undefined {
  const raw = optional(values, name);
  if (raw === undefined) return undefined;
  // Underscores and exponents are accepted so `--quotes 10_000_000` and `--quotes 1e7` both work.
  const value = Number(raw.replaceAll('_', ''));
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new CliUsageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

/** An optional finite number flag. */
export function numberFlag(values: FlagValues, name: string): number | undefined {
  const raw = optional(values, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new CliUsageError(`--${name} must be a number, got "${raw}"`);
  return value;
}

/** An optional comma-separated list flag; empty items are an error. */
export function listFlag(values: FlagValues, name: string): string[] | undefined {
  const raw = optional(values, name);
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new CliUsageError(`--${name} must be a comma-separated list without empty items, got "${raw}"`);
  return items;
}

/** An optional flag restricted to `choices`. */
export function choiceFlag<T extends string>(values: FlagValues, name: string, choices: readonly T[]): T | undefined {
  const raw = optional(values, name);
  if (raw === undefined) return undefined;
  if (!choices.includes(raw as T)) throw new CliUsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}
