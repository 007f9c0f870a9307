import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DatasetLanded, NightshiftSource, RunRequested, type RuleDefinition } from '@nightshift/contracts';
import { PutEventsPublisher } from '@nightshift/events-domain';
import {
  definePipeline,
  noopPipeline,
  previousBusinessDayBefore,
  runIdFor,
  scheduledTriggerId,
  type Clock,
  type PipelineDefinition,
  type Run,
} from '@nightshift/jobs-domain';
import { Scheduler } from '@nightshift/planner';
import { openApiPath, ROUTES } from '@nightshift/reporting';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSampleDay } from './sample-day.js';
import { apiFetch } from './testing/api-fetch.js';
import { startTestPlatform, type TestPlatform } from './testing/test-platform.js';
import { waitFor } from './testing/wait.js';

/*
 * Schedules that fire, against the real embedded platform: its scheduler loop on a clock the test
 * moves, the real bus, planner, store and compute environment. Each test starts its own platform on
 * a home of its own, so any one of them runs alone.
 */

/** A queue that keeps every Run Requested the schedulers publish, so a test can count them. */
const OBSERVER = 'schedule-observer';
const OBSERVER_RULES: readonly RuleDefinition[] = [
  { name: 'observe-scheduled-runs', description: 'test: scheduled Run Requested', eventPattern: { source: [NightshiftSource.scheduler], 'detail-type': [RunRequested.detailType] } },
];

/** A clock the test sets; the scheduler loop reads it every tick. */
class TestClock implements Clock {
  private at: Date;
  constructor(iso: string) {
    this.at = new Date(iso);
  }
  now(): Date {
    return new Date(this.at);
  }
  set(iso: string): void {
    this.at = new Date(iso);
  }
}

/** A schedule as a pipeline file would give it (`scheduleDefinitionSchema`'s input); hourly when no expression is given. */
type ScheduleInput = { name: string; expression?: string } & Record<string, unknown>;

/** A one-task no-op pipeline over datasets named `<name>-data`, with the schedules given (hourly by default). */
function scheduledPipeline(name: string, calendar: PipelineDefinition['calendar'], ...schedules: ScheduleInput[]): PipelineDefinition {
  return definePipeline({ ...noopPipeline(name, 1, { trigger: `${name}-data` }), calendar, schedules: schedules.map((s) => ({ expression: 'cron(0 * * * ? *)', ...s })) });
}

type Host = TestPlatform;

const hosts: Host[] = [];
const homes: string[] = [];

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'nightshift-schedules-'));
  homes.push(home);
  return home;
}

/** Starts a platform on `home` (which {@link newHome} made and afterEach removes: a restart starts on it again). */
async function startHost(home: string, pipelines: PipelineDefinition[], clock: Clock): Promise<Host> {
  const host = await startTestPlatform({
    home,
    memoryMiB: 2048,
    extraPipelines: pipelines,
    extraQueues: { [OBSERVER]: OBSERVER_RULES },
    schedulerIntervalMs: 50,
    schedulerClock: clock,
  });
  hosts.push(host);
  return host;
}

async function stopHost(host: Host): Promise<void> {
  hosts.splice(hosts.indexOf(host), 1);
  await host.stop();
}

afterEach(async () => {
  for (const host of [...hosts]) await stopHost(host);
  for (const home of homes.splice(0)) await rm(home, { recursive: true, force: true });
});

/** Lands a small day as dataset `<pipeline>-data` for `businessDate` and waits until it is registered. */
async function landDataset(host: Host, pipeline: string, businessDate: string): Promise<void> {
  const { detail } = await ensureSampleDay(host.platform.objects, { businessDate, seed: 3, desks: ['cash'], ordersPerDesk: 5, quotesPerSymbol: 10, symbols: 2 });
  const out = await host.events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.oms', DetailType: DatasetLanded.detailType, Detail: JSON.stringify({ ...detail, dataset: `${pipeline}-data` }) }] }));
  expect(out.FailedEntryCount).toBe(0);
  await waitFor(() => host.platform.store.latestDatasetVersion(`${pipeline}-data`, businessDate), (v) => v !== undefined, { what: `dataset ${pipeline}-data of ${businessDate} to be registered`, timeoutMs: 60_000 });
}

/** Waits until the scheduler has started the cursor of every schedule named (its first tick). */
async function cursorsStarted(host: Host, pipeline: PipelineDefinition): Promise<void> {
  for (const s of pipeline.schedules) {
    await waitFor(() => host.platform.schedules.getCursor(pipeline.name, s.name), (c) => c !== undefined, { what: `the cursor of ${pipeline.name}/${s.name}` });
  }
}

/** Waits until a schedule's cursor stands at `lastFireTime` with nothing pending: every fire up to it decided and published. */
async function settled(host: Host, pipeline: string, schedule: string, lastFireTime: string): Promise<void> {
  await waitFor(
    () => host.platform.schedules.getCursor(pipeline, schedule),
    (c) => c?.lastFireTime === lastFireTime && (c.pending ?? []).length === 0,
    { what: `${pipeline}/${schedule} to settle at ${lastFireTime}`, timeoutMs: 60_000 },
  );
}

/**
 * The runs the pipeline's schedules started: those whose flow a fire began (the embedded scheduler's
 * event ids start `schedule-`). Landing the dataset a fire's run needs starts a run of its own too
 * (the pipeline is triggered by that dataset); that one is not counted.
 */
async function scheduledRunsOf(host: Host, pipeline: string): Promise<Run[]> {
  return (await host.platform.store.listRuns({ pipeline, limit: 100 })).items.filter((r) => r.correlationId.startsWith('schedule-'));
}

/** Waits until every queue of the platform is empty (nothing routed is left unhandled). */
async function drained(host: Host, queues: readonly string[]): Promise<void> {
  await waitFor(() => queues.map((q) => host.platform.bus.stats(q)), (stats) => stats.every((s) => s.visible === 0 && s.inFlight === 0), { what: `queues ${queues.join(', ')} to drain`, timeoutMs: 60_000 });
}

/** What is wrong with `body` as the 200 answer of the route, by the OpenAPI document the platform serves (nothing: []). */
async function documentedAnswer(host: Host, route: 'getPipeline' | 'listPipelines', body: unknown): Promise<string[]> {
  const document = (await (await fetch(`${host.platform.apiUrl}/openapi.json`)).json()) as Record<string, unknown>;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://nightshift.test/openapi.json', ...document });
  const { path, method } = ROUTES[route];
  const pointer = ['paths', openApiPath(path), method.toLowerCase(), 'responses', '200', 'content', 'application/json', 'schema'].map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
  const validate = ajv.getSchema(`https://nightshift.test/openapi.json#/${pointer}`)!;
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

describe('embedded scheduler: a fire starts one run', () => {
  it('fires once across a restart, even when the fire is published again after a crash', async () => {
    const pipeline = scheduledPipeline('sched-restart', 'WEEKDAYS', { name: 'hourly', businessDate: 'same' });
    const clock = new TestClock('2026-11-17T06:59:30Z');
    const home = await newHome();
    let host = await startHost(home, [pipeline], clock);
    await landDataset(host, pipeline.name, '2026-11-17');
    await cursorsStarted(host, pipeline);

    clock.set('2026-11-17T07:00:10Z');
    const fire = '2026-11-17T07:00:00.000Z';
    const runId = runIdFor(pipeline.name, '2026-11-17', scheduledTriggerId(pipeline.name, 'hourly', fire));
    const run = await waitFor(() => host.platform.store.getRun(runId), (r) => r?.status === 'SUCCEEDED', { what: `the 07:00 fire's run ${runId} to succeed`, timeoutMs: 90_000 });
    expect(run).toMatchObject({ pipeline: pipeline.name, businessDate: '2026-11-17' });
    await settled(host, pipeline.name, 'hourly', fire);
    await stopHost(host);

    // As if a process had claimed the 07:00 fire again and died before clearing its claim: the next start publishes it again.
    host = await startHost(home, [pipeline], clock);
    const cursor = (await host.platform.schedules.getCursor(pipeline.name, 'hourly'))!;
    expect(await host.platform.schedules.moveCursor(cursor, { lastFireTime: fire, pending: [fire], claimedAt: '2026-11-17T07:00:12.000Z' })).toBeDefined();
    clock.set('2026-11-17T07:01:00Z');
    await settled(host, pipeline.name, 'hourly', fire);
    // Both publications were routed (the observer's queue is durable across the restart), and the planner handled both.
    await waitFor(() => host.platform.bus.stats(OBSERVER).visible, (n) => n === 2, { what: 'the fire published twice' });
    await drained(host, ['planner']);

    expect((await scheduledRunsOf(host, pipeline.name)).map((r) => r.runId)).toEqual([runId]);
    const fires = await host.platform.schedules.listFires(pipeline.name, 'hourly', 10);
    expect(fires).toEqual([expect.objectContaining({ scheduledTime: fire, outcome: 'RUN_REQUESTED', runId, businessDate: '2026-11-17' })]);
  });

  it('fires once when several scheduler loops share the store', async () => {
    const pipeline = scheduledPipeline('sched-shared', 'WEEKDAYS', { name: 'hourly', businessDate: 'same' });
    const clock = new TestClock('2026-11-17T06:59:30Z');
    const host = await startHost(await newHome(), [pipeline], clock);
    await landDataset(host, pipeline.name, '2026-11-17');
    await cursorsStarted(host, pipeline);
    // Two more schedulers on the same store and bus, as other planner processes would be.
    const publisher = new PutEventsPublisher(host.platform.bus, { claimChecks: host.platform.objects });
    const others = [0, 1].map(() => new Scheduler({ schedules: host.platform.schedules, publisher, clock }, [pipeline]));

    clock.set('2026-11-17T07:00:10Z');
    for (let i = 0; i < 5; i++) await Promise.all(others.map((s) => s.tick()));
    const fire = '2026-11-17T07:00:00.000Z';
    await settled(host, pipeline.name, 'hourly', fire);
    await drained(host, ['planner']);

    expect(host.platform.bus.stats(OBSERVER).visible).toBe(1);
    const runs = await scheduledRunsOf(host, pipeline.name);
    expect(runs.map((r) => r.runId)).toEqual([runIdFor(pipeline.name, '2026-11-17', scheduledTriggerId(pipeline.name, 'hourly', fire))]);
  });
});

describe('embedded scheduler: fires missed while the platform was down', () => {
  it('catches up by each schedule\'s policy: none runs nothing, latest the last one, all each one', async () => {
    const missed = ['2026-11-17T08:00:00.000Z', '2026-11-17T09:00:00.000Z', '2026-11-17T10:00:00.000Z'];
    const none = scheduledPipeline('catchup-none', 'WEEKDAYS', { name: 'hourly', businessDate: 'same', catchUp: { policy: 'none' } });
    const latest = scheduledPipeline('catchup-latest', 'WEEKDAYS', { name: 'hourly', businessDate: 'same', catchUp: { policy: 'latest' } });
    const all = scheduledPipeline('catchup-all', 'WEEKDAYS', { name: 'hourly', businessDate: 'same', catchUp: { policy: 'all' } });
    const pipelines = [none, latest, all];
    const clock = new TestClock('2026-11-17T07:30:00Z');
    const home = await newHome();
    let host = await startHost(home, pipelines, clock);
    for (const p of pipelines) await landDataset(host, p.name, '2026-11-17');
    for (const p of pipelines) await cursorsStarted(host, p);
    await stopHost(host);

    // Three hours later, the platform starts again: 08:00, 09:00 and 10:00 were missed.
    clock.set('2026-11-17T10:30:00Z');
    host = await startHost(home, pipelines, clock);
    for (const p of pipelines) await settled(host, p.name, 'hourly', missed[2]!);
    await waitFor(() => host.platform.schedules.listFires(all.name, 'hourly', 10), (f) => f.length === 3, { what: 'the three fires of catchup-all recorded', timeoutMs: 60_000 });
    await waitFor(() => host.platform.schedules.listFires(latest.name, 'hourly', 10), (f) => f.length === 1, { what: 'the fire of catchup-latest recorded', timeoutMs: 60_000 });
    await drained(host, ['planner']);

    const fired = async (p: PipelineDefinition) => (await host.platform.schedules.listFires(p.name, 'hourly', 10)).map((f) => f.scheduledTime).sort();
    expect(await fired(none)).toEqual([]);
    expect(await fired(latest)).toEqual([missed[2]]);
    expect(await fired(all)).toEqual(missed);
    expect(await scheduledRunsOf(host, none.name)).toHaveLength(0);
    expect(await scheduledRunsOf(host, latest.name)).toHaveLength(1);
    expect((await scheduledRunsOf(host, all.name)).map((r) => r.runId).sort()).toEqual(missed.map((f) => runIdFor(all.name, '2026-11-17', scheduledTriggerId(all.name, 'hourly', f))).sort());
    expect(host.platform.bus.stats(OBSERVER).visible).toBe(4);
  });
});

describe('embedded scheduler: business days', () => {
  it('skips a businessDaysOnly fire on an exchange holiday, says why in GET /pipelines/:name, and runs the next business day for the day before', async () => {
    const pipeline = scheduledPipeline('sched-xnys', 'XNYS', {
      name: 'nightly',
      expression: 'cron(0 7 * * ? *)',
      businessDaysOnly: true,
      catchUp: { policy: 'none' },
    });
    const clock = new TestClock('2026-12-25T06:59:30Z');
    const host = await startHost(await newHome(), [pipeline], clock);
    await cursorsStarted(host, pipeline);

    clock.set('2026-12-25T07:00:10Z');
    const skipped = await waitFor(() => host.platform.schedules.listFires(pipeline.name, 'nightly', 10), (f) => f.length === 1, { what: 'the Christmas fire recorded' });
    expect(skipped[0]).toMatchObject({ scheduledTime: '2026-12-25T07:00:00.000Z', outcome: 'SKIPPED', reason: '2026-12-25 is a holiday of XNYS (Christmas Day)' });
    expect(skipped[0]!.runId).toBeUndefined();
    await drained(host, ['planner']);
    expect(await scheduledRunsOf(host, pipeline.name)).toHaveLength(0);

    type PipelineAnswer = { calendar: string; schedules: Array<{ name: string; businessDaysOnly: boolean; nextFireTimes: string[]; recentFires: Array<{ scheduledTime: string; outcome: string; reason?: string }> }> };
    const answer = await apiFetch(`${host.platform.apiUrl}/pipelines/${pipeline.name}`);
    expect(answer.status).toBe(200);
    const view = (await answer.json()) as PipelineAnswer;
    expect(await documentedAnswer(host, 'getPipeline', view)).toEqual([]);
    expect(view.calendar).toBe('XNYS');
    expect(view.schedules).toHaveLength(1);
    expect(view.schedules[0]).toMatchObject({ name: 'nightly', businessDaysOnly: true, recentFires: [{ scheduledTime: '2026-12-25T07:00:00.000Z', outcome: 'SKIPPED', reason: '2026-12-25 is a holiday of XNYS (Christmas Day)' }] });
    expect(view.schedules[0]!.nextFireTimes).toHaveLength(3);
    const listing = (await (await apiFetch(`${host.platform.apiUrl}/pipelines`)).json()) as { items: Array<{ name: string }> };
    expect(listing.items.map((p) => p.name)).toContain(pipeline.name);
    expect(await documentedAnswer(host, 'listPipelines', listing)).toEqual([]);

    // Monday 2026-12-28: a business day; its run covers the business day before it, Christmas Eve (the weekend's fires were missed and dropped).
    await landDataset(host, pipeline.name, '2026-12-24');
    clock.set('2026-12-28T07:00:05Z');
    const runId = runIdFor(pipeline.name, '2026-12-24', scheduledTriggerId(pipeline.name, 'nightly', '2026-12-28T07:00:00.000Z'));
    await waitFor(() => host.platform.store.getRun(runId), (r) => r?.status === 'SUCCEEDED', { what: `the Monday run ${runId}`, timeoutMs: 90_000 });
    const fires = await waitFor(() => host.platform.schedules.listFires(pipeline.name, 'nightly', 10), (f) => f.length === 2, { what: 'the Monday fire recorded' });
    expect(fires[0]).toMatchObject({ scheduledTime: '2026-12-28T07:00:00.000Z', outcome: 'RUN_REQUESTED', runId, businessDate: '2026-12-24' });
  });

  it("defaults POST /runs' business date to the pipeline calendar's last business day before today", async () => {
    const pipeline = scheduledPipeline('sched-default-date', 'XNYS', { name: 'nightly', expression: 'cron(0 7 * * ? *)', enabled: false });
    const host = await startHost(await newHome(), [pipeline], new TestClock('2026-12-25T06:59:30Z'));
    const answer = await apiFetch(`${host.platform.apiUrl}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: pipeline.name }) });
    expect(answer.status).toBe(202);
    const accepted = (await answer.json()) as { businessDate: string };
    expect(accepted.businessDate).toBe(previousBusinessDayBefore('XNYS', new Date()));
  });
});
