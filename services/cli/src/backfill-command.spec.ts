import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillAcceptedSchema, backfillSchema, backfillsPageSchema } from '@nightshift/api-contract';
// The backfill command is tested against the embedded platform as `npm start` composes it, in this
// process, as the other platform commands are (platform-commands.spec.ts).
// eslint-disable-next-line @nx/enforce-module-boundaries -- the tests drive the host's composition itself
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@nightshift/host';
import { definePipeline, noopPipeline } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine, platformCli, PRICES } from './testing/platform-cli.js';

/*
 * `nightshift backfill` against the real embedded platform: its REST API, its planner running the
 * backfill's runs on the local compute environment. Commands run in-process through runCli with
 * the environment a user of the platform would have.
 */

/** One no-op task per run. */
const OK = noopPipeline('cli-backfill', 1, { trigger: 'cli-backfill-data' });
/** One task that runs until stopped: a backfill of it stays RUNNING until cancelled. */
const HOLD = definePipeline({
  name: 'cli-backfill-hold',
  description: 'test: a task that runs until stopped',
  trigger: { datasets: ['cli-backfill-hold-data'] },
  steps: [{ name: 'hold', command: ['sleep', '600'], fanOut: 'single', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 900 }],
});

let home: string;
let dir: string;
let platform: EmbeddedPlatform;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'nightshift-cli-backfill-'));
  dir = await mkdtemp(join(tmpdir(), 'nightshift-cli-backfill-files-'));
  platform = await startEmbeddedPlatform({ home, apiPort: 0, eventsPort: 0, vcpus: 4, memoryMiB: 4096, extraPipelines: [OK, HOLD] });
  await writeFile(join(dir, 'prices.csv'), PRICES);
});

afterAll(async () => {
  await platform?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

const { nightshift, until, landPrices } = platformCli(() => ({ platform, home, dir }));

describe('nightshift backfill, against the embedded platform', () => {
  it('start --wait follows the backfill to its end: the date without a dataset is named, and it exits 1', async () => {
    for (const date of ['2026-01-05', '2026-01-07']) await landPrices('cli-backfill-data', date);
    const r = await nightshift(['backfill', 'start', OK.name, '--from', '2026-01-05', '--to', '2026-01-07', '--concurrency', '2', '--wait', '--interval', '0.1']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^backfill backfill-20260105-cli-backfill-[0-9a-f]{16} accepted: 3 business dates of cli-backfill from 2026-01-05 to 2026-01-07, 2 at a time$/);
    expect(lines.some((l) => /^RUNNING\s+\[[#-]+\] \d\/3 /.test(l))).toBe(true);
    expect(lines).toContain('  2026-01-06 MISSING_DATASET: no registered cli-backfill-data dataset for 2026-01-06');
    expect(oneLine(r)).toMatch(/^nightshift backfill: failed: backfill backfill-\S+ FAILED: FAILED: 3 dates, 2 succeeded, 1 missing a dataset \(2026-01-06\)$/);
  });

  it('start prints where it is; show prints every date with its run; list finds it; --json parses with the contract', async () => {
    await landPrices('cli-backfill-data', '2026-01-12');
    const started = await nightshift(['backfill', 'start', OK.name, '--from', '2026-01-12', '--to', '2026-01-12', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const { backfillId, location } = backfillAcceptedSchema.parse(JSON.parse(started.stdout));
    expect(location).toBe(`/backfills/${backfillId}`);

    const json = await until(['backfill', 'show', backfillId, '--json'], (r) => r.code === 0 && backfillSchema.parse(JSON.parse(r.stdout)).status === 'SUCCEEDED', 'the backfill to succeed', 60_000);
    const backfill = backfillSchema.parse(JSON.parse(json.stdout));
    expect(backfill.dates).toEqual([{ date: '2026-01-12', status: 'SUCCEEDED', runId: expect.stringMatching(/^run-20260112-cli-backfill-/) }]);
    const shown = await nightshift(['backfill', 'show', backfillId]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`backfill     ${backfillId}`);
    expect(shown.stdout).toContain('summary      SUCCEEDED: 1 date, 1 succeeded');
    expect(shown.stdout).toMatch(new RegExp(`^2026-01-12\\s+SUCCEEDED\\s+${backfill.dates[0]!.runId}\\s*$`, 'm'));

    const table = await nightshift(['backfill', 'list', '--pipeline', OK.name]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^BACKFILL\s+PIPELINE\s+FROM\s+TO\s+STATUS\s+DONE\s+CREATED$/);
    expect(table.stdout).toMatch(new RegExp(`^${backfillId}\\s+cli-backfill\\s+2026-01-12\\s+2026-01-12\\s+SUCCEEDED\\s+1/1\\s`, 'm'));
    const listed = backfillsPageSchema.parse(JSON.parse((await nightshift(['backfill', 'list', '--status', 'SUCCEEDED', '--json'])).stdout));
    expect(listed.items.map((b) => b.backfillId)).toContain(backfillId);
  });

  it('cancel stops a running backfill; cancelling it again, an overlapping start, an unknown pipeline or a bad flag exit 2', async () => {
    await platform.store.registerDatasetVersion({
      dataset: 'cli-backfill-hold-data',
      businessDate: '2026-02-02',
      files: [{ table: 'prices', key: 'landing/cli-backfill-hold/prices.csv', rows: 1, checksum: 'b'.repeat(64), bytes: 10 }],
      rowCount: 1,
      partitions: [],
      manifestKey: 'datasets/cli-backfill-hold/manifest.json',
      landedEventId: 'cli-backfill-hold-landing',
      registeredAt: new Date().toISOString(),
    });
    const started = await nightshift(['backfill', 'start', HOLD.name, '--from', '2026-02-02', '--to', '2026-02-06', '--idempotency-key', 'cli-hold']);
    expect(started.code, started.stderr).toBe(0);
    const backfillId = /^backfill (\S+) accepted: 5 business dates/.exec(started.stdout)![1]!;
    expect(started.stdout).toContain(`follow it: nightshift backfill show ${backfillId}`);
    // The same key again: the same backfill.
    expect((await nightshift(['backfill', 'start', HOLD.name, '--from', '2026-02-02', '--to', '2026-02-06', '--idempotency-key', 'cli-hold'])).stdout).toContain(`backfill ${backfillId} accepted`);

    const overlapping = await nightshift(['backfill', 'start', HOLD.name, '--from', '2026-02-06', '--to', '2026-02-13']);
    expect(overlapping.code).toBe(2);
    expect(oneLine(overlapping)).toContain(`backfill ${backfillId} of the same pipeline (2026-02-02 to 2026-02-06) is still open`);

    const cancelled = await nightshift(['backfill', 'cancel', backfillId, '--reason', 'not today']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`cancel of backfill ${backfillId} accepted`);
    const settled = await until(['backfill', 'show', backfillId, '--json'], (r) => r.code === 0 && backfillSchema.parse(JSON.parse(r.stdout)).finishedAt !== undefined, 'the cancelled backfill to settle', 60_000);
    expect(backfillSchema.parse(JSON.parse(settled.stdout))).toMatchObject({ status: 'CANCELLED', counts: { CANCELLED: 5 } });
    const again = await nightshift(['backfill', 'cancel', backfillId]);
    expect(again.code).toBe(2);
    expect(oneLine(again)).toContain('only a RUNNING backfill can be cancelled (HTTP 409)');

    const unknown = await nightshift(['backfill', 'start', 'nope', '--from', '2026-02-02', '--to', '2026-02-06']);
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown)).toContain('pipeline nope not found');
    const reversed = await nightshift(['backfill', 'start', OK.name, '--from', '2026-02-06', '--to', '2026-02-02']);
    expect(reversed.code).toBe(2);
    expect(oneLine(reversed)).toContain('body.from: from is after to');
    expect((await nightshift(['backfill', 'start', OK.name, '--to', '2026-02-02'])).code).toBe(2);
    expect((await nightshift(['backfill', 'list', '--status', 'DONE'])).code).toBe(2);
    expect((await nightshift(['backfill', 'show', 'backfill-that-never-was'])).code).toBe(2);
    expect((await nightshift(['backfill', 'frobnicate'])).code).toBe(2);
    expect((await nightshift(['backfill', '--help'])).stdout).toContain('nightshift backfill start <pipeline> --from D --to D');
  });
});
