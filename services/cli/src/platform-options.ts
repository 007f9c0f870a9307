import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PlatformApiClient } from './api-client.js';
import { optional, parseCommandLine, type FlagValues } from './args.js';
import type { CliIo, Command } from './command.js';
import type { CliEnvironment } from './config.js';
import { CliUsageError } from './errors.js';

/** The options every platform command takes (after the command: `nightshift runs list --json`). */
export const PLATFORM_FLAGS = {
  api: { type: 'string' },
  token: { type: 'string' },
  home: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** How the platform options are described in every platform command's help. */
export const PLATFORM_FLAGS_USAGE = `  --api URL     the REST API (default NIGHTSHIFT_API_URL, else http://127.0.0.1:3000, the port
                NIGHTSHIFT_API_PORT when set)
  --token T     bearer token (default NIGHTSHIFT_API_TOKEN, else the key in <home>/api-key)
  --home DIR    the embedded platform's home (default NIGHTSHIFT_HOME, else .nightshift)
  --json        print the API's JSON instead of tables`;

/** What a platform command works with: the API client, where to write, and how. */
export interface PlatformContext {
  api: PlatformApiClient;
  /** Machine output: the API's JSON, one document per command. */
  json: boolean;
  /** The embedded platform's home, absolute. */
  home: string;
  env: CliEnvironment;
  io: CliIo;
  /** Writes one line to stdout. */
  print(line: string): void;
}

/** The platform context of a command line's values: flags first, then the environment, then the embedded default's. */
export function platformContext(values: FlagValues, env: CliEnvironment, io: CliIo): PlatformContext {
  const home = resolve(optional(values, 'home') ?? env.NIGHTSHIFT_HOME ?? '.nightshift');
  const apiUrl = baseUrl(optional(values, 'api') ?? env.NIGHTSHIFT_API_URL ?? `http://127.0.0.1:${env.NIGHTSHIFT_API_PORT ?? 3000}`, '--api');
  const flagToken = optional(values, 'token');
  const keyFile = join(home, 'api-key');
  const source = flagToken !== undefined ? '--token' : env.NIGHTSHIFT_API_TOKEN !== undefined ? 'NIGHTSHIFT_API_TOKEN' : keyFile;
  let token: Promise<string> | undefined;
  const readToken = async (): Promise<string> => {
    const given = flagToken ?? env.NIGHTSHIFT_API_TOKEN;
    if (given !== undefined) {
      if (given.trim() === '') throw new CliUsageError('--token is empty');
      return given.trim();
    }
    try {
      const key = (await readFile(keyFile, 'utf8')).trim();
      if (key !== '') return key;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliUsageError(`cannot read the API key ${keyFile}: ${(cause as Error).message}`, { cause });
    }
    throw new CliUsageError(`no API token: pass --token or set NIGHTSHIFT_API_TOKEN, or point --home at the platform's home (${keyFile} is missing or empty; npm start writes it)`);
  };
  return {
    api: new PlatformApiClient({ apiUrl, token: () => (token ??= readToken()), tokenSource: () => source }),
    json: values['json'] === true,
    home,
    env,
    io,
    print: (line) => io.stdout.write(`${line}\n`),
  };
}

/** One subcommand of a platform command (`runs show`): its flags beside the platform's, its operands, and what it does. */
export interface PlatformSubcommand {
  flags: Record<string, { type: 'string' | 'boolean' }>;
  operands: { min: number; max: number; names: string };
  run: (ctx: PlatformContext, operands: string[], values: FlagValues) => Promise<void>;
}

/**
 * The `run` of a platform command made of subcommands (`nightshift <command> <subcommand> ...`):
 * finds the subcommand (a usage error when it is missing or unknown), parses its flags (the
 * platform's too) and operands, and runs it. `--help`, before the subcommand or after, asks for help.
 */
export function runPlatformSubcommand(command: string, subcommands: Record<string, PlatformSubcommand>): Command['run'] {
  return async (argv, io, env) => {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      if (name === undefined) throw new CliUsageError(`missing subcommand (${Object.keys(subcommands).join(', ')}; see nightshift ${command} --help)`);
      return null;
    }
    const sub = Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
    if (!sub) throw new CliUsageError(`unknown subcommand "${name}" (expected ${Object.keys(subcommands).join(', ')})`);
    const { values, positionals } = parseCommandLine(rest, { ...PLATFORM_FLAGS, ...sub.flags }, sub.operands);
    if (values['help']) return null;
    await sub.run(platformContext(values, env, io), positionals, values);
    return undefined;
  };
}

/** A base URL from a flag or variable: http(s), no trailing slash. */
export function baseUrl(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new CliUsageError(`${name} must be a URL, got ${JSON.stringify(raw)}`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError(`${name} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return url.href.replace(/\/+$/, '');
}

/** Encodes one path segment (run ids, task ids with `#`, dataset ids with `@` and `#`). */
export const segment = (value: string): string => encodeURIComponent(value);

/** A query string of the defined values, `?` included (empty when none is). */
export function queryString(params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}
