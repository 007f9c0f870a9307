import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  datasetDetailSchema,
  datasetsPageSchema,
  deadLettersPageSchema,
  pipelineSchema,
  pipelinesPageSchema,
  runDetailSchema,
  runsPageSchema,
  type RunResource,
} from '@nightshift/api-contract';
// The platform commands are tested against the embedded platform as `npm start` composes it, in
// this process: the CLI depends on the host app for these tests only, as the bench does.
// eslint-disable-next-line @nx/enforce-module-boundaries -- the tests drive the host's composition itself
import { startEmbeddedPlatform, type EmbeddedPlatform } from '@nightshift/host';
import { definePipeline, noopPipeline } from '@nightshift/jobs-domain';
import { apiKeysFileSchema, hashApiKey, newApiKey } from '@nightshift/reporting';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneLine, platformCli, PRICES, type CliResult } from './testing/platform-cli.js';

/*
 * The platform commands (runs, land, pipelines, datasets, dlq) against the real embedded platform:
 * its REST API, its AWS gateway (the CLI lands through the AWS SDK), its planner and local compute
 * running real child processes. Commands run in-process through runCli, with the environment a
 * user would set; one test runs the built binary.
 */

/** Two tasks that run `true`: a run that succeeds in seconds. */
const OK = noopPipeline('cli-ok', 2, { trigger: 'cli-ok' });
/** One task that says something on both streams and exits 3: a run that fails at its first attempt. */
const BROKEN = definePipeline({
  name: 'cli-broken',
  description: 'test: a task that fails with exit code 3',
  trigger: { datasets: ['cli-broken'] },
  steps: [{ name: 'boom', command: ['sh', '-c', 'echo "reading quotes"; echo "disk on fire" >&2; exit 3'], bare: true, fanOut: 'single', vcpus: 0.25, memoryMiB: 64, attempts: 1, timeoutSeconds: 60 }],
});
/** Two children of 3 vCPUs on a 4-vCPU platform: one runs, the other waits (and says why) until cancelled. */
const HANGING = definePipeline({
  name: 'cli-hanging',
  description: 'test: children that run until stopped',
  trigger: { datasets: ['cli-hanging'] },
  steps: [{ name: 'sleep', command: ['sleep', '120'], bare: true, fanOut: 'count', count: 2, vcpus: 3, memoryMiB: 64, attempts: 1, timeoutSeconds: 300 }],
});

/** A run that waits for a person's sign-off (for an hour) before its one job. */
const GATE = definePipeline({
  name: 'cli-gate',
  description: 'test: a sign-off before the job',
  trigger: { datasets: ['cli-gate'] },
  steps: [
    { name: 'sign-off', approval: { timeoutSeconds: 3_600 } },
    { name: 'publish', command: ['true'], bare: true, dependsOn: ['sign-off'], vcpus: 0.25, memoryMiB: 64 },
  ],
});

/** PRICES with a row whose close is not a number: a landing the ingestion rejects. */
const BAD_PRICES = `${PRICES}2026-01-05,ABC,10,11,9,lots,1000\n`;

let home: string;
let dir: string;
let platform: EmbeddedPlatform;
/** A key of another tenant (`other`), admin there. */
let otherKey: string;
/** A viewer's key of that tenant: reads only. */
let otherViewerKey: string;
/** A tenantless admin's key (a platform operator's): the only kind that may redrive dead letters. */
let opsKey: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'nightshift-cli-platform-'));
  dir = await mkdtemp(join(tmpdir(), 'nightshift-cli-files-'));
  // The API keys file as the host writes it on first start (its admin key in <home>/api-key), plus
  // keys of a second tenant and a tenantless admin's, which the host keeps as operator-added keys.
  const adminKey = newApiKey();
  otherKey = newApiKey();
  otherViewerKey = newApiKey();
  opsKey = newApiKey();
  const keys = apiKeysFileSchema.parse({
    keys: [
      { id: 'embedded-admin', keyHash: hashApiKey(adminKey), role: 'admin', tenant: 'default' },
      { id: 'other-admin', keyHash: hashApiKey(otherKey), role: 'admin', tenant: 'other' },
      { id: 'other-viewer', keyHash: hashApiKey(otherViewerKey), role: 'viewer', tenant: 'other' },
      { id: 'ops', keyHash: hashApiKey(opsKey), role: 'admin' },
    ],
  });
  await writeFile(join(home, 'api-key'), `${adminKey}\n`, { mode: 0o600 });
  await writeFile(join(home, 'api-keys.json'), JSON.stringify(keys), { mode: 0o600 });
  platform = await startEmbeddedPlatform({ home, apiPort: 0, eventsPort: 0, vcpus: 4, memoryMiB: 4096, extraPipelines: [OK, BROKEN, HANGING, GATE], visibilityTimeoutMs: 10_000 });
  expect(platform.apiKey).toBe(adminKey);
  await writeFile(join(dir, 'prices.csv'), PRICES);
  await writeFile(join(dir, 'bad.csv'), BAD_PRICES);
});

afterAll(async () => {
  await platform?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
});

const { nightshift, until, landPrices } = platformCli(() => ({ platform, home, dir }));

/** The one run of a pipeline over a business date, once the planner has made it. */
async function runOf(pipeline: string, date: string): Promise<RunResource> {
  const r = await until(['runs', 'list', '--pipeline', pipeline, '--date', date, '--json'], (r) => r.code === 0 && runsPageSchema.parse(JSON.parse(r.stdout)).items.length > 0, `the ${pipeline} run of ${date}`);
  const { items } = runsPageSchema.parse(JSON.parse(r.stdout));
  expect(items).toHaveLength(1);
  return items[0]!;
}

describe('nightshift platform commands, against the embedded platform', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await nightshift(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('pipelines lists the definitions and shows one; --json parses with the contract; an unknown one exits 2', async () => {
    const list = await nightshift(['pipelines']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^PIPELINE\s+TRIGGERED BY\s+STEPS/);
    expect(list.stdout).toMatch(/^cli-broken\s+cli-broken\s+boom\s/m);
    const json = pipelinesPageSchema.parse(JSON.parse((await nightshift(['pipelines', '--json'])).stdout));
    expect(json.items.map((p) => p.name)).toEqual(expect.arrayContaining(['cli-ok', 'cli-broken', 'cli-hanging', 'nightly-tca']));

    const one = await nightshift(['pipelines', 'cli-hanging']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^sleep\s+count\s+-\s+3\s+64 MiB\s+1\s/m);
    expect(pipelineSchema.parse(JSON.parse((await nightshift(['pipelines', 'cli-hanging', '--json'])).stdout)).steps[0]!.command).toEqual(['sleep', '120']);

    const unknown = await nightshift(['pipelines', 'no-such-pipeline']);
    expect(unknown.code).toBe(2);
    expect(oneLine(unknown)).toMatch(/^nightshift pipelines: bad input: pipeline no-such-pipeline not found .*\(HTTP 404\)$/);
  });

  it('land uploads through S3 and PutEvents and prints the accepted version; its run: list with filters, watch to the end, show', async () => {
    await landPrices('cli-ok', '2026-01-05');
    const run = await runOf('cli-ok', '2026-01-05');
    expect(run).toMatchObject({ pipeline: 'cli-ok', businessDate: '2026-01-05', datasetId: 'cli-ok@2026-01-05#v1' });
    // The file is in the landing zone under the landing's own id.
    const landed = (await platform.objects.list('landing/cli-ok/prices/business_date=2026-01-05/')).map((o) => o.key);
    expect(landed).toEqual([expect.stringMatching(/^landing\/cli-ok\/prices\/business_date=2026-01-05\/\d{8}T\d{6}Z-[0-9a-f]{6}\/prices\.csv$/)]);

    // Not TTY: one plain line per change, the last the outcome; no escape sequences.
    const watch = await nightshift(['runs', 'watch', run.runId, '--interval', '0.2']);
    expect(watch.stderr).toBe('');
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/^\d{2}:\d{2}:\d{2}Z SUCCEEDED 2\/2 done, 0 failed \| noop SUCCEEDED 2\/2$/);
    expect(lines.at(-1)).toMatch(new RegExp(`^run ${run.runId} SUCCEEDED in `));
    expect(watch.stdout).not.toContain('\x1b[');

    const table = await nightshift(['runs', 'list', '--pipeline', 'cli-ok', '--status', 'SUCCEEDED,FAILED']);
    expect(table.stdout.split('\n')[0]).toMatch(/^RUN\s+PIPELINE\s+DATE\s+STATUS\s+TASKS/);
    expect(table.stdout).toMatch(new RegExp(`^${run.runId}\\s+cli-ok\\s+2026-01-05\\s+SUCCEEDED\\s+2\\s`, 'm'));
    expect(runsPageSchema.parse(JSON.parse((await nightshift(['runs', 'list', '--pipeline', 'cli-ok', '--status', 'FAILED', '--json'])).stdout)).items).toEqual([]);
    const badStatus = await nightshift(['runs', 'list', '--status', 'DONE']);
    expect(badStatus.code).toBe(2);
    expect(oneLine(badStatus)).toContain('--status has unknown value(s) DONE');

    const show = await nightshift(['runs', 'show', run.runId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^status\s+SUCCEEDED\s+2\/2 tasks done, 0 failed/m);
    expect(show.stdout).toMatch(/^noop\s+SUCCEEDED\s+2\/2\s+0/m);
    const detail = runDetailSchema.parse(JSON.parse((await nightshift(['runs', 'show', run.runId, '--json'])).stdout));
    expect(detail.tasks.map((t) => [t.taskId, t.status])).toEqual([['noop#n00000', 'SUCCEEDED'], ['noop#n00001', 'SUCCEEDED']]);

    // Only a FAILED run can be retried: the API's 409 (a problem) is bad input.
    const retry = await nightshift(['runs', 'retry', run.runId]);
    expect(retry.code).toBe(2);
    expect(oneLine(retry)).toMatch(/^nightshift runs: bad input: .*\(HTTP 4\d\d\)$/);
  });

  it('datasets lists the registered versions and shows one with its files and runs', async () => {
    const list = await until(['datasets', '--dataset', 'cli-ok'], (r) => r.code === 0 && r.stdout.includes('cli-ok@2026-01-05#v1'), 'the cli-ok version');
    expect(list.stdout).toMatch(/^cli-ok@2026-01-05#v1\s+2026-01-05\s+1\s+1\s/m);
    expect(datasetsPageSchema.parse(JSON.parse((await nightshift(['datasets', '--dataset', 'cli-ok', '--json'])).stdout)).items).toHaveLength(1);
    const one = await nightshift(['datasets', 'cli-ok@2026-01-05#v1']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^prices\s+-\s+1\s/m);
    const detail = datasetDetailSchema.parse(JSON.parse((await nightshift(['datasets', 'cli-ok@2026-01-05#v1', '--json'])).stdout));
    expect(detail.runs.map((r) => r.pipeline)).toEqual(['cli-ok']);
    expect(one.stdout).toContain(detail.runs[0]!.runId);
  });

  it('land prints every reason of a rejected landing and exits 1', async () => {
    const r = await nightshift(['land', '--dataset', 'cli-ok', '--date', '2026-01-07', '--timeout', '60', `prices=${join(dir, 'bad.csv')}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('rejected: 1 reason');
    expect(r.stdout).toMatch(/^ {2}landing\/cli-ok\/prices\/business_date=2026-01-07\/\S+\/bad\.csv:3 column close: /m);
    expect(oneLine(r)).toMatch(/^nightshift land: failed: landing \S+ was rejected \(1 reason\)$/);
    // Bad input never reaches the platform.
    const table = await nightshift(['land', '--dataset', 'cli-ok', '--date', '2026-01-07', join(dir, 'bad.csv')]);
    expect(table.code).toBe(2);
    expect(oneLine(table)).toContain('cannot tell the table of');
  });

  it('a failed run: watch exits 1, why names the task, its exit code and its log, logs prints the attempt', async () => {
    await landPrices('cli-broken', '2026-01-06');
    const run = await runOf('cli-broken', '2026-01-06');
    const watch = await nightshift(['runs', 'watch', run.runId, '--interval', '0.2']);
    expect(watch.code).toBe(1);
    expect(oneLine(watch)).toMatch(new RegExp(`^nightshift runs: failed: run ${run.runId} FAILED: task boom#all failed`));

    const why = await nightshift(['runs', 'why', run.runId]);
    expect(why.code).toBe(0);
    expect(why.stdout).toMatch(new RegExp(`^run ${run.runId} \\(cli-broken\\) FAILED: `));
    expect(why.stdout).toMatch(/^ {2}boom#all: attempt 1 of 1, exit code 3, /m);
    expect(why.stdout).toMatch(/^ {4}\| .*disk on fire$/m);
    const explained = JSON.parse((await nightshift(['runs', 'why', run.runId, '--json'])).stdout) as { failedTasks: Array<{ taskId: string; exitCode: number; logTail: string[] }> };
    expect(explained.failedTasks).toMatchObject([{ taskId: 'boom#all', exitCode: 3 }]);

    const logs = await nightshift(['runs', 'logs', run.runId, 'boom#all']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/reading quotes\n(.*\n)?.*disk on fire\n$/);
    // A step with one task names it; an attempt it never made is not found (bad input).
    expect((await nightshift(['runs', 'logs', run.runId, 'boom', '--attempt', '1'])).stdout).toBe(logs.stdout);
    const missing = await nightshift(['runs', 'logs', run.runId, 'boom', '--attempt', '2']);
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toContain('has no attempt 2');
  });

  it('a running run: why says what a step waits for, cancel stops it, and a second cancel is refused (exit 2)', async () => {
    await landPrices('cli-hanging', '2026-01-08');
    const run = await runOf('cli-hanging', '2026-01-08');
    const why = await until(['runs', 'why', run.runId], (r) => r.stdout.includes('waiting: needs'), 'a child of cli-hanging to wait for vCPUs');
    expect(why.stdout).toMatch(new RegExp(`^run ${run.runId} \\(cli-hanging\\) is RUNNING`));
    expect(why.stdout).toMatch(/^ {2}sleep \(SUBMITTED, 0\/2 done\): (1 RUNNING, 1 RUNNABLE|1 RUNNABLE, 1 RUNNING); waiting: needs 3 vCPU/m);

    const cancel = await nightshift(['runs', 'cancel', run.runId, '--reason', 'wrong day']);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`cancel of run ${run.runId} accepted`);
    const watch = await nightshift(['runs', 'watch', run.runId, '--interval', '0.2']);
    expect(watch.code).toBe(1);
    expect(oneLine(watch)).toContain('FAILED: cancelled: wrong day');
    const again = await nightshift(['runs', 'cancel', run.runId]);
    expect(again.code).toBe(2);
    expect(oneLine(again)).toMatch(new RegExp(`^nightshift runs: bad input: run ${run.runId} already finished: FAILED \\(HTTP 409\\)$`));
  });

  it('approve answers a waiting sign-off and the run goes on; answering again is refused (exit 2); reject of a step that is no approval is not found', async () => {
    await landPrices('cli-gate', '2026-01-12');
    const run = await runOf('cli-gate', '2026-01-12');
    await until(['runs', 'show', run.runId, '--json'], (r) => r.code === 0 && runDetailSchema.parse(JSON.parse(r.stdout)).steps.some((s) => s.step === 'sign-off' && s.status === 'WAITING'), 'the sign-off to wait');
    const approved = await nightshift(['runs', 'approve', run.runId, 'sign-off', '--comment', 'checked']);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approval of step sign-off of run ${run.runId} accepted: the run goes on`);
    const watch = await nightshift(['runs', 'watch', run.runId, '--interval', '0.2']);
    expect(watch.code).toBe(0);
    const again = await nightshift(['runs', 'approve', run.runId, 'sign-off']);
    expect(again.code).toBe(2);
    expect(oneLine(again)).toMatch(/^nightshift runs: bad input: step sign-off of run .* is SUCCEEDED \(run SUCCEEDED\): only a WAITING approval can be answered \(HTTP 409\)$/);
    const notApproval = await nightshift(['runs', 'reject', run.runId, 'publish', '--json']);
    expect(notApproval.code).toBe(2);
    expect(oneLine(notApproval)).toContain(`run ${run.runId} has no approval step publish (HTTP 404)`);
  });

  it("dlq list shows the tenant's dead-lettered event; redrive needs a tenantless admin", async () => {
    // An event of ours that breaks its contract: reporting dead-letters it at once.
    const detail = { metadata: { eventId: 'cli-dead', tenant: 'default' }, data: {} };
    const out = await platform.bus.putEvents([{ Source: 'nightshift.planner', DetailType: 'Run Succeeded', Detail: JSON.stringify(detail) }]);
    const eventId = (out.Entries[0] as { EventId: string }).EventId;
    const json = await until(['dlq', 'list', 'reporting', '--json'], (r) => r.code === 0 && r.stdout.includes(eventId), `event ${eventId} in the reporting dead-letter queue`);
    expect(deadLettersPageSchema.parse(JSON.parse(json.stdout)).items.find((d) => d.event?.id === eventId)).toMatchObject({ queue: 'reporting' });
    const table = await nightshift(['dlq', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^reporting\\s+${eventId}\\s+Run Succeeded\\s+nightshift.planner\\s`, 'm'));

    const refused = await nightshift(['dlq', 'redrive', 'reporting']);
    expect(refused.code).toBe(2);
    expect(oneLine(refused)).toMatch(/\(HTTP 403; token from .*api-key\)$/);
    const redrive = await nightshift(['dlq', 'redrive', 'reporting', '--max', '1', '--token', opsKey]);
    expect(redrive).toEqual({ code: 0, stdout: "moved 1 message from reporting's dead-letter queue back to reporting\n", stderr: '' });
  });

  it("another tenant's token cannot see the run (exit 2, not found); a bad token exits 2; no platform exits 1", async () => {
    const run = await runOf('cli-ok', '2026-01-05');
    expect((await nightshift(['runs', 'show', run.runId])).code).toBe(0);
    const other = await nightshift(['runs', 'show', run.runId, '--token', otherKey]);
    expect(other.code).toBe(2);
    expect(oneLine(other)).toMatch(new RegExp(`^nightshift runs: bad input: run ${run.runId} not found \\(HTTP 404\\)$`));
    expect(runsPageSchema.parse(JSON.parse((await nightshift(['runs', 'list', '--json'], { NIGHTSHIFT_API_TOKEN: otherKey })).stdout)).items).toEqual([]);

    const bad = await nightshift(['runs', 'list'], { NIGHTSHIFT_API_TOKEN: 'nsk_not-a-key' });
    expect(bad.code).toBe(2);
    expect(oneLine(bad)).toMatch(/\(HTTP 401; token from NIGHTSHIFT_API_TOKEN\)$/);
    const noKey = await nightshift(['runs', 'list', '--home', join(dir, 'no-home')]);
    expect(noKey.code).toBe(2);
    expect(oneLine(noKey)).toContain('no API token');
  });

  describe("a second tenant's tokens: every platform command sees and acts on that tenant's things alone", () => {
    /** The first tenant's (default's) version that the second tenant lands the same content as. */
    const THEIR_VERSION = 'cli-ok@2026-01-05#v1';
    /** Shaped like a version id, naming none: what "not found" looks like. */
    const MISSING_VERSION = 'cli-ok@2026-01-05#v99';
    /** One dead letter per tenant in the planner's queue: each tenant's event id. */
    const DEAD = { default: 'cli-dead-planner-default', other: 'cli-dead-planner-other' } as const;
    const FORBIDDEN_REDRIVE = "redriving a queue moves every tenant's messages: it needs a tenantless admin token; this one acts for tenant other (HTTP 403; token from --token)";
    const OTHER_TENANT_ONLY = 'this token may act for tenant other only (HTTP 403; token from --token)';

    /** The first tenant's failed run: it has a task with a log, so every runs subcommand has something to reveal. */
    let theirRun: RunResource;
    /** A run id shaped like theirs that names no run. */
    let missingRunId: string;
    /** Every run and dataset version of the first tenant, as its own admin lists them. */
    let theirRunIds: string[];
    let theirDatasetIds: string[];
    /** The second tenant's version of cli-ok@2026-01-05 (landed below) and the run it started. */
    let ourDatasetId: string;
    let ourRunId: string;

    const asOther = (args: string[]): Promise<CliResult> => nightshift([...args, '--token', otherKey]);
    const asViewer = (args: string[]): Promise<CliResult> => nightshift([...args, '--token', otherViewerKey]);

    beforeAll(async () => {
      theirRun = await runOf('cli-broken', '2026-01-06');
      missingRunId = theirRun.runId.replace(/-[^-]+$/, (tail) => `-${'0'.repeat(tail.length - 1)}`);
      expect(missingRunId).not.toBe(theirRun.runId);
      theirRunIds = runsPageSchema.parse(JSON.parse((await nightshift(['runs', 'list', '--all', '--json'])).stdout)).items.map((r) => r.runId);
      theirDatasetIds = datasetsPageSchema.parse(JSON.parse((await nightshift(['datasets', '--all', '--json'])).stdout)).items.map((d) => d.datasetId);
      expect(theirRunIds).toContain(theirRun.runId);
      expect(theirDatasetIds).toContain(THEIR_VERSION);
      for (const [tenant, eventId] of Object.entries(DEAD)) await platform.bus.putDeadLetter('planner', deadLetterOf(eventId, tenant), `poison of ${tenant}`);
    });

    it("land --tenant reports its own landing: accepted as a version of its own (not the first tenant's of the same content), or rejected", async () => {
      const landed = await asOther(['land', '--dataset', 'cli-ok', '--date', '2026-01-05', '--tenant', 'other', '--timeout', '60', join(dir, 'prices.csv')]);
      expect(landed.stderr).toBe('');
      expect(landed.code).toBe(0);
      const accepted = /^accepted: (cli-ok@2026-01-05#v\d+) \(1 file, 1 row\)$/m.exec(landed.stdout);
      expect(accepted, landed.stdout).not.toBeNull();
      ourDatasetId = accepted![1]!;
      expect(theirDatasetIds).not.toContain(ourDatasetId);

      const rejected = await asOther(['land', '--dataset', 'cli-ok', '--date', '2026-01-09', '--tenant', 'other', '--timeout', '60', `prices=${join(dir, 'bad.csv')}`]);
      expect(rejected.code).toBe(1);
      expect(rejected.stdout).toMatch(/^rejected: 1 reason\n {2}landing\/cli-ok\/prices\/business_date=2026-01-09\/\S+\/bad\.csv:3 column close: /m);
      expect(oneLine(rejected)).toMatch(/^nightshift land: failed: landing \S+ was rejected \(1 reason\)$/);
    });

    it("runs list (table, --json, by dataset) lists the second tenant's runs and none of the first's, and the other way round; --tenant of the first is refused", async () => {
      const listed = await until(
        ['runs', 'list', '--all', '--json', '--token', otherKey],
        (r) => r.code === 0 && runsPageSchema.parse(JSON.parse(r.stdout)).items.some((run) => run.datasetId === ourDatasetId),
        `the second tenant's run over ${ourDatasetId}`,
      );
      const ours = runsPageSchema.parse(JSON.parse(listed.stdout)).items;
      expect(ours.map((r) => [r.pipeline, r.tenant])).toEqual([['cli-ok', 'other']]);
      ourRunId = ours[0]!.runId;
      expect(theirRunIds).not.toContain(ourRunId);
      // The first tenant still has its one cli-ok run of that day (runOf expects exactly one).
      expect((await runOf('cli-ok', '2026-01-05')).runId).not.toBe(ourRunId);

      for (const list of [asOther, asViewer]) {
        const table = await list(['runs', 'list', '--all']);
        expect(table.code).toBe(0);
        expect(firstColumn(table.stdout)).toEqual([ourRunId]);
      }
      expect(runsPageSchema.parse(JSON.parse((await asOther(['runs', 'list', '--dataset', theirRun.datasetId ?? '', '--json'])).stdout)).items).toEqual([]);
      const forThem = await asOther(['runs', 'list', '--tenant', 'default']);
      expect(forThem.stdout).toBe('');
      expect(forThem.code).toBe(2);
      expect(oneLine(forThem)).toBe(`nightshift runs: bad input: ${OTHER_TENANT_ONLY}`);
    });

    /** Every runs subcommand that names a run; `write` ones need the operator role. */
    const RUN_COMMANDS: ReadonlyArray<{ name: string; args: (runId: string) => string[]; write?: true }> = [
      { name: 'show', args: (id) => ['runs', 'show', id] },
      { name: 'show --json', args: (id) => ['runs', 'show', id, '--json'] },
      { name: 'watch', args: (id) => ['runs', 'watch', id, '--interval', '0.2'] },
      { name: 'watch --json', args: (id) => ['runs', 'watch', id, '--interval', '0.2', '--json'] },
      { name: 'why', args: (id) => ['runs', 'why', id] },
      { name: 'why --json', args: (id) => ['runs', 'why', id, '--json'] },
      { name: 'logs (by step)', args: (id) => ['runs', 'logs', id, 'boom'] },
      { name: 'logs --attempt', args: (id) => ['runs', 'logs', id, 'boom#all', '--attempt', '1'] },
      { name: 'cancel', args: (id) => ['runs', 'cancel', id, '--reason', 'not yours'], write: true },
      { name: 'retry', args: (id) => ['runs', 'retry', id, '--reason', 'not yours'], write: true },
      { name: 'approve', args: (id) => ['runs', 'approve', id, 'boom', '--comment', 'not yours'], write: true },
    ];

    for (const { name, args, write } of RUN_COMMANDS) {
      it(`runs ${name} of the first tenant's run: exit 2, not found as a run that does not exist, nothing on stdout`, async () => {
        for (const key of write ? [otherKey] : [otherKey, otherViewerKey]) {
          const theirs = await nightshift([...args(theirRun.runId), '--token', key]);
          const missing = await nightshift([...args(missingRunId), '--token', key]);
          expect(theirs.stdout).toBe('');
          expect(theirs.code).toBe(2);
          expect(oneLine(theirs)).toBe(`nightshift runs: bad input: run ${theirRun.runId} not found (HTTP 404)`);
          expect(missing).toEqual({ code: 2, stdout: '', stderr: theirs.stderr.replaceAll(theirRun.runId, missingRunId) });
        }
      });
    }

    it("the first tenant's run is as it was: no cancel or retry of the second tenant's reached it", async () => {
      const after = runDetailSchema.parse(JSON.parse((await nightshift(['runs', 'show', theirRun.runId, '--json'])).stdout));
      expect([after.status, after.attempt, after.reason]).toEqual(['FAILED', theirRun.attempt, theirRun.reason]);
    });

    it("datasets lists the second tenant's version and none of the first's; the first's is not found as a missing one; --tenant of the first is refused", async () => {
      for (const list of [asOther, asViewer]) {
        const json = datasetsPageSchema.parse(JSON.parse((await list(['datasets', '--all', '--json'])).stdout)).items.map((d) => d.datasetId);
        expect(json).toEqual([ourDatasetId]);
        expect(firstColumn((await list(['datasets', '--all'])).stdout)).toEqual([ourDatasetId]);
      }
      for (const json of [[], ['--json']]) {
        const theirs = await asOther(['datasets', THEIR_VERSION, ...json]);
        const missing = await asOther(['datasets', MISSING_VERSION, ...json]);
        expect(theirs.stdout).toBe('');
        expect(theirs.code).toBe(2);
        expect(oneLine(theirs)).toBe(`nightshift datasets: bad input: dataset version ${THEIR_VERSION} not found (HTTP 404)`);
        expect(missing).toEqual({ code: 2, stdout: '', stderr: theirs.stderr.replaceAll(THEIR_VERSION, MISSING_VERSION) });
      }
      // Its own version lists its own run alone; the first tenant's version lists the first's.
      expect(datasetDetailSchema.parse(JSON.parse((await asViewer(['datasets', ourDatasetId, '--json'])).stdout)).runs.map((r) => r.runId)).toEqual([ourRunId]);
      expect(datasetDetailSchema.parse(JSON.parse((await nightshift(['datasets', THEIR_VERSION, '--json'])).stdout)).runs.map((r) => r.runId)).not.toContain(ourRunId);
      const forThem = await asOther(['datasets', '--tenant', 'default']);
      expect(forThem.stdout).toBe('');
      expect(forThem.code).toBe(2);
      expect(oneLine(forThem)).toBe(`nightshift datasets: bad input: ${OTHER_TENANT_ONLY}`);
    });

    it("pipelines: the platform's definitions, the same for the second tenant's viewer", async () => {
      const list = await asViewer(['pipelines', '--json']);
      expect(list.code).toBe(0);
      expect(pipelinesPageSchema.parse(JSON.parse(list.stdout))).toEqual(pipelinesPageSchema.parse(JSON.parse((await nightshift(['pipelines', '--json'])).stdout)));
      expect((await asViewer(['pipelines'])).stdout).toMatch(/^cli-broken\s+cli-broken\s+boom\s/m);
      const one = await asViewer(['pipelines', 'cli-broken']);
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^boom\s+single\s/m);
    });

    it("dlq list shows each tenant's dead letters alone; redrive by the second tenant's admin is forbidden and moves nothing", async () => {
      const ours = deadLettersPageSchema.parse(JSON.parse((await asOther(['dlq', 'list', '--all', '--json'])).stdout)).items;
      expect(ours.map((d) => [d.queue, d.event?.id, d.event?.tenant])).toEqual([['planner', DEAD.other, 'other']]);
      const table = await asOther(['dlq', 'list', 'planner']);
      expect(table.code).toBe(0);
      expect(firstColumns(table.stdout, 2)).toEqual([`planner ${DEAD.other}`]);
      const theirs = deadLettersPageSchema.parse(JSON.parse((await nightshift(['dlq', 'list', 'planner', '--all', '--json'])).stdout)).items.map((d) => d.event?.id);
      expect(theirs).toContain(DEAD.default);
      expect(theirs).not.toContain(DEAD.other);

      const refused = await asOther(['dlq', 'redrive', 'planner']);
      expect(refused.stdout).toBe('');
      expect(refused.code).toBe(2);
      expect(oneLine(refused)).toBe(`nightshift dlq: bad input: ${FORBIDDEN_REDRIVE}`);
      const after = deadLettersPageSchema.parse(JSON.parse((await nightshift(['dlq', 'list', 'planner', '--all', '--json', '--token', opsKey])).stdout)).items.map((d) => d.event?.id);
      expect(after).toEqual(expect.arrayContaining([DEAD.default, DEAD.other]));
    });

    /** What a viewer may not do, and the role it needs: refused by role whatever the run or queue. */
    const OPERATIONS: ReadonlyArray<{ name: string; args: (runId: string) => string[]; needs: 'operator' | 'admin' }> = [
      { name: 'runs cancel', args: (id) => ['runs', 'cancel', id], needs: 'operator' },
      { name: 'runs retry', args: (id) => ['runs', 'retry', id], needs: 'operator' },
      { name: 'dlq list', args: () => ['dlq', 'list'], needs: 'operator' },
      { name: 'dlq redrive', args: () => ['dlq', 'redrive', 'planner'], needs: 'admin' },
    ];

    for (const { name, args, needs } of OPERATIONS) {
      it(`the second tenant's viewer: ${name} exits 2 with the forbidden detail`, async () => {
        for (const runId of [ourRunId, theirRun.runId]) {
          const r = await asViewer(args(runId));
          expect(r.stdout).toBe('');
          expect(r.code).toBe(2);
          expect(oneLine(r)).toBe(`nightshift ${name.split(' ')[0]}: bad input: this needs the ${needs} role; the token has viewer (HTTP 403; token from --token)`);
        }
      });
    }
  });

  it('the built binary reads its environment: no platform at the API URL exits 1 with how to start it', async () => {
    const port = await closedPort();
    const bin = fileURLToPath(new URL('../bin/nightshift.js', import.meta.url));
    const r = await new Promise<CliResult>((resolve, reject) => {
      execFile(process.execPath, [bin, 'runs', 'list'], { env: { ...process.env, NIGHTSHIFT_API_URL: `http://127.0.0.1:${port}`, NIGHTSHIFT_API_TOKEN: 'nsk_x' } }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
    });
    expect(r.code).toBe(1);
    expect(oneLine(r)).toBe(`nightshift runs: failed: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): is the platform running? (npm start)`);
  });
});

/** The first column of a table's rows (its header line left out). */
function firstColumn(table: string): string[] {
  return firstColumns(table, 1);
}

/** The first `n` columns of a table's rows, joined by a space. */
function firstColumns(table: string, n: number): string[] {
  return table.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(/\s+/).slice(0, n).join(' '));
}

/** A Run Requested event a consumer gave up on, of `tenant` (in the envelope's metadata, where the DLQ listing reads it). */
function deadLetterOf(eventId: string, tenant: string) {
  const time = new Date().toISOString();
  return {
    version: '0',
    id: eventId,
    'detail-type': 'Run Requested',
    source: 'nightshift.api',
    account: '000000000000',
    time,
    region: 'us-east-1',
    resources: [],
    detail: { metadata: { eventId, correlationId: eventId, occurredAt: time, tenant }, data: { pipeline: 'cli-ok', businessDate: '2026-01-05', requestedBy: tenant } },
  };
}

/** A loopback port nothing listens on (one just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
