import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../cli.js';

/*
 * Running `nightshift` in this process against an embedded platform, for the specs of the platform
 * commands (platform-commands.spec.ts, backfill-command.spec.ts). Test-only: the build excludes
 * `src/testing/`.
 */

/** What one command did. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What the commands run against; read at each command, so a spec's beforeAll may set it up. */
export interface CliTarget {
  /** The embedded platform: its REST API and its AWS gateway. */
  platform: { apiUrl: string; eventsUrl: string };
  /** The platform's home: the CLI reads its API key (and AWS keys) there. */
  home: string;
  /** A directory holding `prices.csv` with {@link PRICES}. */
  dir: string;
}

/** A prices table of one row (XYZ on 2026-01-05): what {@link PlatformCli.landPrices} lands. */
export const PRICES = 'date,symbol,open,high,low,close,volume\n2026-01-05,XYZ,10,11,9,10.5,1000\n';

export interface PlatformCli {
  /** Runs `nightshift args` with the environment a user of the platform would have (no AWS keys: the CLI reads them from the home), plus `env`. */
  nightshift(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** Runs the command until `done` holds for its result (no fixed sleeps); fails naming `what` after `timeoutMs`. */
  until(args: string[], done: (r: CliResult) => boolean, what: string, timeoutMs?: number): Promise<CliResult>;
  /** Lands the target's prices.csv as `dataset` of `date` and expects it accepted as the date's first version. */
  landPrices(dataset: string, date: string): Promise<void>;
}

/** The commands against `target()`. */
export function platformCli(target: () => CliTarget): PlatformCli {
  async function nightshift(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const { platform, home } = target();
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
    const code = await runCli(args, io, { NIGHTSHIFT_API_URL: platform.apiUrl, NIGHTSHIFT_HOME: home, AWS_ENDPOINT_URL: platform.eventsUrl, ...env });
    return { code, stdout, stderr };
  }

  async function until(args: string[], done: (r: CliResult) => boolean, what: string, timeoutMs = 30_000): Promise<CliResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await nightshift(args);
      if (done(r)) return r;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(r)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function landPrices(dataset: string, date: string): Promise<void> {
    const landed = await nightshift(['land', '--dataset', dataset, '--date', date, '--timeout', '60', join(target().dir, 'prices.csv')]);
    expect(landed.stderr).toBe('');
    expect(landed.code).toBe(0);
    expect(landed.stdout).toContain(`accepted: ${dataset}@${date}#v1 (1 file, 1 row)\n`);
  }

  return { nightshift, until, landPrices };
}

/** The error output is one line; returns it. */
export function oneLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}
