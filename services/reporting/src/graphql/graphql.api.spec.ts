import type { EventBridgeEvent } from '@nightshift/contracts';
import type { Report, Run, StepExecution, Task } from '@nightshift/jobs-domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_COST, MAX_QUERY_DEPTH } from './limits.js';
import { otherTenant, startReporting, TENANTS, type GraphQLAnswer, type ReportingUnderTest, type Tenant } from './testing/graphql-harness.js';

/*
 * The GraphQL API over real HTTP: reporting's module on the embedded DynamoDB, a directory object
 * store and the local bus, with API keys of two tenants (acme, globex) and a platform admin. Each
 * tenant has a dataset version (and its landing), a RUNNING and a FAILED run of nightly-tca with
 * tasks, a report and a dead letter; every query and mutation is checked for what each tenant may
 * see and do, with the errors REST gives.
 */

const T0 = Date.parse('2024-05-02T06:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const liveRun = (t: Tenant): string => `run-live-${t}`;
const failedRun = (t: Tenant): string => `run-failed-${t}`;
const reportOf = (t: Tenant): string => `report-${t}`;
const landingOf = (t: Tenant): string => `landed-${t}`;

let r: ReportingUnderTest;
const datasetOf = {} as Record<Tenant, string>;

function tcaMetrics(overrides: Record<string, number | null> = {}): Record<string, number | null> {
  const ratios = ['fill_rate', 'arrival_slippage_bps', 'interval_vwap_slippage_bps', 'day_vwap_slippage_bps', 'twap_slippage_bps', 'commission_bps', 'fees_bps', 'implementation_shortfall_bps'];
  const more = ['is_delay_bps', 'is_execution_bps', 'is_opportunity_bps', 'is_fees_bps', 'effective_spread_bps', 'realized_spread_bps', 'price_impact_bps', 'spread_capture', 'participation_rate'];
  return {
    orders: 10,
    filled_orders: 9,
    fills: 20,
    order_qty: 1000,
    executed_qty: 900,
    notional: 90_000,
    implementation_shortfall: 12.5,
    ...Object.fromEntries([...ratios, ...more].map((k) => [k, 1])),
    ...overrides,
  };
}

function step(runId: string, overrides: Partial<StepExecution> = {}): StepExecution {
  return { runId, step: 'tca', status: 'SUBMITTED', size: 2, jobName: `${runId}-tca`, manifestKey: `runs/${runId}/tca.json`, succeeded: 0, failed: 0, version: 1, updatedAt: at(1), ...overrides };
}

function task(runId: string, arrayIndex: number, overrides: Partial<Task> = {}): Task {
  const partition = ['EQ', 'FX'][arrayIndex]!;
  return { runId, taskId: `tca#${partition}`, step: 'tca', partition, arrayIndex, status: 'RUNNING', maxAttempts: 3, attempts: [], createdAt: at(2), updatedAt: at(2), ...overrides };
}

function deadLetterEvent(t: Tenant): EventBridgeEvent {
  return {
    version: '0',
    id: `event-${t}`,
    'detail-type': 'Run Requested',
    source: 'nightshift.api',
    account: '000000000000',
    time: at(0),
    region: 'local',
    resources: [],
    detail: { metadata: { eventId: `poison-${t}`, correlationId: `corr-${t}`, occurredAt: at(0), tenant: t }, data: {} },
  };
}

async function seed(): Promise<void> {
  for (const [i, t] of TENANTS.entries()) {
    const version = await r.store.registerDatasetVersion({
      dataset: 'executions',
      businessDate: '2024-05-02',
      files: [{ table: 'fills', key: `landing/${t}/fills.csv`, desk: 'EQ', rows: 10, checksum: 'a'.repeat(64), bytes: 100 }],
      rowCount: 10,
      partitions: ['EQ', 'FX'],
      manifestKey: `datasets/${t}/manifest.json`,
      landedEventId: landingOf(t),
      registeredAt: at(i),
      tenant: t,
    });
    datasetOf[t] = version.datasetId;
    const base = { pipeline: 'nightly-tca', businessDate: '2024-05-02', datasetId: version.datasetId, correlationId: `corr-${t}`, tenant: t, tasksTotal: 2 };
    const live: Run = { ...base, runId: liveRun(t), status: 'RUNNING', createdAt: at(10 + i), updatedAt: at(10 + i), startedAt: at(1) };
    await r.store.createRun(live, [step(live.runId)]);
    await r.store.recordTask({ task: task(live.runId, 0, { attempts: [{ attempt: 1, startedAt: at(2), logStreamName: `worker/${t}/0` }], startedAt: at(2) }), stepSize: 2, currentJobIds: [] });
    const done = task(live.runId, 1, { status: 'SUCCEEDED', attempts: [{ attempt: 1, startedAt: at(2), stoppedAt: at(4), exitCode: 0 }], startedAt: at(2), stoppedAt: at(4), exitCode: 0 });
    await r.store.recordTask({ task: done, stepSize: 2, currentJobIds: [] });

    const failed: Run = { ...base, runId: failedRun(t), tasksTotal: 1, status: 'FAILED', createdAt: at(i), updatedAt: at(11), startedAt: at(1), finishedAt: at(11), reason: 'a task failed' };
    await r.store.createRun(failed, [step(failed.runId, { status: 'FAILED', size: 1, failed: 1 })]);

    const report: Report = { reportId: reportOf(t), runId: live.runId, pipeline: 'nightly-tca', businessDate: '2024-05-02', key: `reports/${reportOf(t)}.json`, headline: { orders: 10, owner: t }, publishedAt: at(20 + i), tenant: t };
    const document = {
      reportId: report.reportId,
      runId: live.runId,
      pipeline: 'nightly-tca',
      businessDate: '2024-05-02',
      datasetId: version.datasetId,
      generatedAt: at(20),
      partitions: { tca: ['EQ', 'FX'] },
      tasks: { tca: 2 },
      sections: {
        tca: {
          markout_seconds: 60,
          markout_horizons_seconds: [60, 300],
          total: tcaMetrics({ arrival_slippage_bps: 2.5, rpm: 0.55, price_improvement_bps: 0.4, realized_spread_60s_bps: 1.25, price_impact_60s_bps: 0.75, realized_spread_300s_bps: 1.5, price_impact_300s_bps: null }),
          by: { broker: [{ key: 'BRKA', ...tcaMetrics({ arrival_slippage_bps: 1.5 }) }, { key: 'BRKB', ...tcaMetrics({ arrival_slippage_bps: 3.5 }) }], venue: [{ key: 'XNYS', ...tcaMetrics() }] },
        },
      },
      headline: report.headline,
      currency: 'EUR',
      headlineUnits: { orders: { kind: 'count', of: 'order' }, owner: { kind: 'text' } },
      headlineText: { orders: '10 orders', owner: t },
      provenance: {
        dataset: { datasetId: version.datasetId, version: 1, files: [{ table: 'orders', key: `landing/${t}/orders.csv`, desk: 'EQ', rows: 10, bytes: 512, checksum: 'ab'.repeat(32) }] },
        pipeline: { name: 'nightly-tca', definitionHash: `sha256:${'cd'.repeat(32)}` },
        run: { runId: live.runId, attempt: 1, startedAt: at(1), finishedAt: at(19) },
        codeVersion: '1.2.3+abcdef0',
      },
      previous: {
        reportId: `${reportOf(t)}-before`, runId: `${live.runId}-before`, businessDate: '2024-05-01', publishedAt: at(5), headline: { orders: 8, owner: t },
        changes: { orders: { previous: 8, current: 10, absolute: 2, relative: 0.25, text: '+2 orders (+25.0 %)' } },
      },
    };
    await r.objects.put(report.key, JSON.stringify(document));
    await r.store.putReport(report);
    await r.bus.putDeadLetter('planner', deadLetterEvent(t), `poison of ${t}`);
  }
}

beforeAll(async () => {
  r = await startReporting();
  await seed();
}, 60_000);

afterAll(async () => {
  await r?.close();
});

type Errors = NonNullable<GraphQLAnswer['errors']>;

function expectProblem(errors: Errors | undefined, code: string, status: number): Errors[number] {
  expect(errors, 'errors').toHaveLength(1);
  const [error] = errors!;
  expect(error!.extensions).toMatchObject({ code, status, problem: { status, type: expect.stringMatching(/^urn:nightshift:problem:/) as unknown, title: expect.any(String) as unknown } });
  expect(error!.extensions.problem.detail).toBe(error!.message);
  return error!;
}

const ids = (connection: unknown, field: string): string[] =>
  (connection as { edges: Array<{ node: Record<string, string> }> }).edges.map((e) => e.node[field]!).sort();

/** Every event on the planner's queue (the API publishes before it answers): read and acknowledged. */
async function drainPlanner(): Promise<Array<{ detailType: string; tenant?: string; data: Record<string, unknown> }>> {
  const seen: Array<{ detailType: string; tenant?: string; data: Record<string, unknown> }> = [];
  for (;;) {
    const messages = await r.bus.receive('planner', 10, { waitTimeMs: 0 });
    if (messages.length === 0) return seen;
    for (const m of messages) {
      const detail = m.event.detail as { metadata: { tenant?: string }; data: Record<string, unknown> };
      seen.push({ detailType: m.event['detail-type'], ...(detail.metadata.tenant ? { tenant: detail.metadata.tenant } : {}), data: detail.data });
      await r.bus.ack('planner', m.receiptHandle);
    }
  }
}

describe('GraphQL queries of two tenants', () => {
  it("lists each tenant only its own runs, datasets, reports and dead letters: none of the other tenant's", async () => {
    for (const t of TENANTS) {
      const listed = await r.gql<Record<string, unknown>>(
        '{ runs { edges { node { runId tenant } } } datasets { edges { node { datasetId tenant } } } reports { edges { node { reportId tenant } } } }',
        { token: r.keys[t].viewer },
      );
      expect(listed.errors).toBeUndefined();
      expect(ids(listed.data!['runs'], 'runId')).toEqual([failedRun(t), liveRun(t)]);
      expect(ids(listed.data!['datasets'], 'datasetId')).toEqual([datasetOf[t]]);
      expect(ids(listed.data!['reports'], 'reportId')).toEqual([reportOf(t)]);
      const dead = await r.gql<Record<string, unknown>>('{ deadLetters(queue: "planner") { edges { node { queue reason event { id tenant } } } } }', { token: r.keys[t].operator });
      expect(dead.errors).toBeUndefined();
      expect((dead.data!['deadLetters'] as { edges: Array<{ node: unknown }> }).edges.map((e) => e.node)).toEqual([{ queue: 'planner', reason: `poison of ${t}`, event: { id: `event-${t}`, tenant: t } }]);

      const theirs = otherTenant(t);
      const text = JSON.stringify([listed, dead]);
      for (const foreign of [liveRun(theirs), failedRun(theirs), datasetOf[theirs], reportOf(theirs), `event-${theirs}`]) expect(text).not.toContain(foreign);
    }
    // A viewer may not read the dead letters (REST's operator role).
    expectProblem((await r.gql('{ deadLetters { edges { cursor } } }', { token: r.keys.acme.viewer })).errors, 'FORBIDDEN', 403);
  });

  it("reads its run with steps, tasks, attempts (log paths) and progress; another tenant's run is NOT_FOUND like one that does not exist", async () => {
    const query = `query ($id: ID!) {
      run(id: $id) {
        runId status tenant vcpuSeconds
        progress { done total failed steps { step status done total } }
        steps { name status size vcpus waitingReason job { jobId } tasks { taskId status waitingReason attempts { attempt logUrl durationMs waitingReason } } }
      }
    }`;
    const own = await r.gql<{ run: Record<string, unknown> }>(query, { token: r.keys.acme.viewer, variables: { id: liveRun('acme') } });
    expect(own.errors).toBeUndefined();
    expect(own.data!.run).toEqual({
      runId: liveRun('acme'),
      status: 'RUNNING',
      tenant: 'acme',
      // The finished attempt: 2 minutes on 1 vCPU; the running one does not count yet.
      vcpuSeconds: 120,
      progress: { done: 0, total: 2, failed: 0, steps: [{ step: 'tca', status: 'SUBMITTED', done: 0, total: 2 }] },
      steps: [
        {
          name: 'tca',
          status: 'SUBMITTED',
          size: 2,
          vcpus: 1,
          waitingReason: null,
          job: null,
          tasks: [
            { taskId: 'tca#EQ', status: 'RUNNING', waitingReason: null, attempts: [{ attempt: 1, logUrl: `/runs/${liveRun('acme')}/tasks/tca%23EQ/attempts/1/log`, durationMs: null, waitingReason: null }] },
            { taskId: 'tca#FX', status: 'SUCCEEDED', waitingReason: null, attempts: [{ attempt: 1, logUrl: null, durationMs: 120_000, waitingReason: null }] },
          ],
        },
      ],
    });

    const foreign = await r.gql<{ run: unknown }>(query, { token: r.keys.acme.viewer, variables: { id: liveRun('globex') } });
    expect(foreign.data).toEqual({ run: null });
    const error = expectProblem(foreign.errors, 'NOT_FOUND', 404);
    expect(error.path).toEqual(['run']);
    const missing = await r.gql<{ run: unknown }>(query, { token: r.keys.acme.viewer, variables: { id: 'run-that-never-was' } });
    expect(JSON.stringify(missing.errors).replaceAll('run-that-never-was', liveRun('globex'))).toBe(JSON.stringify(foreign.errors));
    // A tenantless admin reads both.
    expect((await r.gql<{ run: { tenant: string } }>(query, { token: r.keys.admin, variables: { id: liveRun('globex') } })).data?.run.tenant).toBe('globex');
  });

  it("reads its dataset version and landing; another tenant's are NOT_FOUND", async () => {
    const query = `query ($id: ID!, $event: ID!) {
      dataset(id: $id) { datasetId tenant version files { table key rows } runs { edges { node { runId } } } }
      landing(eventId: $event) { landedEventId status datasetId tenant dataset { datasetId } }
    }`;
    for (const t of TENANTS) {
      const own = await r.gql<{ dataset: Record<string, unknown>; landing: Record<string, unknown> }>(query, { token: r.keys[t].viewer, variables: { id: datasetOf[t], event: landingOf(t) } });
      expect(own.errors).toBeUndefined();
      expect(own.data!.dataset).toMatchObject({ datasetId: datasetOf[t], tenant: t, files: [{ table: 'fills', key: `landing/${t}/fills.csv`, rows: 10 }] });
      expect(ids(own.data!.dataset['runs'], 'runId')).toEqual([failedRun(t), liveRun(t)]);
      expect(own.data!.landing).toEqual({ landedEventId: landingOf(t), status: 'ACCEPTED', datasetId: datasetOf[t], tenant: t, dataset: { datasetId: datasetOf[t] } });

      const theirs = otherTenant(t);
      const foreign = await r.gql(query, { token: r.keys[t].viewer, variables: { id: datasetOf[theirs], event: landingOf(theirs) } });
      expect(foreign.data).toEqual({ dataset: null, landing: null });
      expect(foreign.errors?.map((e) => [e.path, e.extensions.code, e.extensions.status])).toEqual([
        [['dataset'], 'NOT_FOUND', 404],
        [['landing'], 'NOT_FOUND', 404],
      ]);
    }
  });

  it("reads its report with typed TCA sections by dimension and the document; another tenant's is NOT_FOUND", async () => {
    const sections = `sections { step analytic ... on TcaSection { markoutSeconds total { orders arrivalSlippageBps implementationShortfall } by(dimension: broker) { dimension groups { key metrics { arrivalSlippageBps } } } } }`;
    const query = `query ($id: ID!) { report(id: $id) { reportId tenant headline { name value text } document ${sections} } }`;
    const own = await r.gql<{ report: Record<string, unknown> }>(query, { token: r.keys.acme.viewer, variables: { id: reportOf('acme') } });
    expect(own.errors).toBeUndefined();
    expect(own.data!.report).toMatchObject({
      reportId: reportOf('acme'),
      tenant: 'acme',
      headline: [
        { name: 'orders', value: 10, text: null },
        { name: 'owner', value: null, text: 'acme' },
      ],
      document: { reportId: reportOf('acme'), sections: { tca: { markout_seconds: 60 } } },
      sections: [
        {
          step: 'tca',
          analytic: 'tca',
          markoutSeconds: 60,
          total: { orders: 10, arrivalSlippageBps: 2.5, implementationShortfall: 12.5 },
          by: [{ dimension: 'broker', groups: [{ key: 'BRKA', metrics: { arrivalSlippageBps: 1.5 } }, { key: 'BRKB', metrics: { arrivalSlippageBps: 3.5 } }] }],
        },
      ],
    });
    // Listed reports read their documents too (one object read each).
    const listed = await r.gql<{ reports: { edges: Array<{ node: { sections: Array<{ markoutSeconds: number }> } }> } }>(`{ reports { edges { node { ${sections} } } } }`, { token: r.keys.globex.viewer });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.reports.edges.map((e) => e.node.sections[0]!.markoutSeconds)).toEqual([60]);

    const foreign = await r.gql(query, { token: r.keys.acme.viewer, variables: { id: reportOf('globex') } });
    expect(foreign.data).toEqual({ report: null });
    expectProblem(foreign.errors, 'NOT_FOUND', 404);
    const byForeignRun = await r.gql<{ reports: unknown }>(`{ reports(runId: "${liveRun('globex')}") { edges { node { reportId } } } }`, { token: r.keys.acme.viewer });
    expect(ids(byForeignRun.data!.reports, 'reportId')).toEqual([]);
  });

  it('reads the figures with units and day-over-day changes, the currency, provenance and previous report; TCA markouts per horizon', async () => {
    const query = `query ($id: ID!) { report(id: $id) {
      currency
      figures { name value text unit currency display change { previous current absolute relative text } }
      provenance { datasetId datasetVersion files { table key desk rows bytes checksum } pipelineDefinitionHash runId attempt codeVersion }
      previous { reportId businessDate }
      sections { ... on TcaSection { markoutHorizonsSeconds total { rpm priceImprovementBps markouts { horizonSeconds realizedSpreadBps priceImpactBps } } } }
    } }`;
    const own = await r.gql<{ report: Record<string, unknown> }>(query, { token: r.keys.acme.viewer, variables: { id: reportOf('acme') } });
    expect(own.errors).toBeUndefined();
    expect(own.data!.report).toEqual({
      currency: 'EUR',
      figures: [
        { name: 'orders', value: 10, text: null, unit: 'count', currency: null, display: '10 orders', change: { previous: 8, current: 10, absolute: 2, relative: 0.25, text: '+2 orders (+25.0 %)' } },
        { name: 'owner', value: null, text: 'acme', unit: 'text', currency: null, display: 'acme', change: null },
      ],
      provenance: {
        datasetId: expect.any(String) as string,
        datasetVersion: 1,
        files: [{ table: 'orders', key: 'landing/acme/orders.csv', desk: 'EQ', rows: 10, bytes: 512, checksum: 'ab'.repeat(32) }],
        pipelineDefinitionHash: `sha256:${'cd'.repeat(32)}`,
        runId: liveRun('acme'),
        attempt: 1,
        codeVersion: '1.2.3+abcdef0',
      },
      previous: { reportId: `${reportOf('acme')}-before`, businessDate: '2024-05-01' },
      sections: [
        {
          markoutHorizonsSeconds: [60, 300],
          total: {
            rpm: 0.55,
            priceImprovementBps: 0.4,
            markouts: [
              { horizonSeconds: 60, realizedSpreadBps: 1.25, priceImpactBps: 0.75 },
              { horizonSeconds: 300, realizedSpreadBps: 1.5, priceImpactBps: null },
            ],
          },
        },
      ],
    });
  });

  it('describes the pipelines to every tenant alike; an unknown one is NOT_FOUND naming the known ones', async () => {
    const answers = await Promise.all(TENANTS.map((t) => r.gql<{ pipelines: Array<{ name: string }> }>('{ pipelines { name steps { name vcpus analytic } } }', { token: r.keys[t].viewer })));
    expect(answers[0]!.data).toEqual(answers[1]!.data);
    expect(answers[0]!.data!.pipelines.map((p) => p.name)).toContain('nightly-tca');
    const one = await r.gql<{ pipeline: unknown }>('{ pipeline(name: "nightly-tca") { name steps { name analytic vcpus } } }', { token: r.keys.acme.viewer });
    expect(one.data).toEqual({ pipeline: { name: 'nightly-tca', steps: [{ name: 'tca', analytic: 'tca', vcpus: 1 }] } });
    const unknown = await r.gql('{ pipeline(name: "nope") { name } }', { token: r.keys.acme.viewer });
    expect(expectProblem(unknown.errors, 'NOT_FOUND', 404).message).toContain('nightly-tca');
  });

  it('pages the runs as a Relay connection, each page after the last edge of the one before', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const answer: GraphQLAnswer<{ runs: { edges: Array<{ cursor: string; node: { runId: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }> = await r.gql(
        'query ($after: String) { runs(first: 3, after: $after) { edges { cursor node { runId } } pageInfo { hasNextPage endCursor } } }',
        { token: r.keys.admin, variables: { after } },
      );
      expect(answer.errors).toBeUndefined();
      const { edges, pageInfo } = answer.data!.runs;
      seen.push(...edges.map((e) => e.node.runId));
      if (!pageInfo.hasNextPage) break;
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? pageInfo.endCursor);
      after = pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual(TENANTS.flatMap((t) => [failedRun(t), liveRun(t)]).sort());
    // Resuming after any edge gives the rest.
    const all = await r.gql<{ runs: { edges: Array<{ cursor: string; node: { runId: string } }> } }>('{ runs(first: 4) { edges { cursor node { runId } } } }', { token: r.keys.admin });
    const second = all.data!.runs.edges[1]!;
    const rest = await r.gql<{ runs: { edges: Array<{ node: { runId: string } }> } }>('query ($after: String) { runs(first: 10, after: $after) { edges { node { runId } } } }', { token: r.keys.admin, variables: { after: second.cursor } });
    expect(rest.data!.runs.edges.map((e) => e.node.runId)).toEqual(all.data!.runs.edges.slice(2).map((e) => e.node.runId));
    expectProblem((await r.gql('{ runs(after: "not-a-cursor") { edges { cursor } } }', { token: r.keys.admin })).errors, 'BAD_REQUEST', 400);
    expectProblem((await r.gql('{ runs(first: 501) { edges { cursor } } }', { token: r.keys.admin })).errors, 'BAD_REQUEST', 400);
  });

  it('filters the runs as REST does, refusing a bad filter field by field and another tenant outright', async () => {
    const failed = await r.gql<{ runs: unknown }>('{ runs(filter: { status: [FAILED], pipeline: "nightly-tca", businessDateFrom: "2024-05-01", businessDateTo: "2024-05-02" }) { edges { node { runId } } } }', {
      token: r.keys.acme.viewer,
    });
    expect(ids(failed.data!.runs, 'runId')).toEqual([failedRun('acme')]);
    const byDataset = await r.gql<{ runs: unknown }>(`{ runs(filter: { datasetId: "${datasetOf.acme}", correlationId: "corr-acme" }) { edges { node { runId } } } }`, { token: r.keys.acme.viewer });
    expect(ids(byDataset.data!.runs, 'runId')).toEqual([failedRun('acme'), liveRun('acme')]);

    const bad = await r.gql('{ runs(filter: { businessDate: "2024-13-45", businessDateFrom: "2024-05-01" }) { edges { cursor } } }', { token: r.keys.acme.viewer });
    const error = expectProblem(bad.errors, 'BAD_REQUEST', 400);
    expect(error.extensions.problem.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'filter.businessDate' })]));
    expectProblem((await r.gql('{ runs(filter: { tenant: "globex" }) { edges { cursor } } }', { token: r.keys.acme.viewer })).errors, 'FORBIDDEN', 403);
  });

  it("counts the runs by status, their duration percentiles and vCPU-seconds: of the caller's tenant only", async () => {
    const query = `{ stats(from: "2024-05-01", to: "2024-05-03") {
      runs complete runsByStatus { pipeline businessDate status count } durations { pipeline runs p50Ms p90Ms p99Ms } usage { runId vcpuSeconds }
    } }`;
    const acme = await r.gql<{ stats: Record<string, unknown> }>(query, { token: r.keys.acme.viewer });
    expect(acme.errors).toBeUndefined();
    expect(acme.data!.stats).toEqual({
      runs: 2,
      complete: true,
      runsByStatus: [
        { pipeline: 'nightly-tca', businessDate: '2024-05-02', status: 'FAILED', count: 1 },
        { pipeline: 'nightly-tca', businessDate: '2024-05-02', status: 'RUNNING', count: 1 },
      ],
      durations: [{ pipeline: 'nightly-tca', runs: 1, p50Ms: 600_000, p90Ms: 600_000, p99Ms: 600_000 }],
      usage: [
        { runId: liveRun('acme'), vcpuSeconds: 120 },
        { runId: failedRun('acme'), vcpuSeconds: 0 },
      ],
    });
    const all = await r.gql<{ stats: { runs: number } }>('{ stats(from: "2024-05-01", to: "2024-05-03") { runs } }', { token: r.keys.admin });
    expect(all.data!.stats.runs).toBe(4);
    expectProblem((await r.gql('{ stats(from: "2024-05-03", to: "2024-05-01") { runs } }', { token: r.keys.acme.viewer })).errors, 'BAD_REQUEST', 400);
  });
});

describe('GraphQL mutations of two tenants', () => {
  const request = 'mutation ($input: RunRequestInput!, $key: String, $tenant: String) { requestRun(input: $input, idempotencyKey: $key, tenant: $tenant) { runId requestId location } }';

  it("asks for a run of the caller's tenant (operator), idempotently with a key; refuses a viewer, another tenant and a bad input", async () => {
    await drainPlanner();
    const input = { pipeline: 'nightly-tca', businessDate: '2024-05-02' };
    const first = await r.gql<{ requestRun: { runId: string; location: string } }>(request, { token: r.keys.acme.operator, variables: { input, key: 'nightly-1' } });
    expect(first.errors).toBeUndefined();
    const again = await r.gql<{ requestRun: { runId: string } }>(request, { token: r.keys.acme.operator, variables: { input, key: 'nightly-1' } });
    expect(again.data!.requestRun.runId).toBe(first.data!.requestRun.runId);
    expect(first.data!.requestRun.location).toBe(`/runs/${first.data!.requestRun.runId}`);
    expect(await drainPlanner()).toEqual([
      { detailType: 'Run Requested', tenant: 'acme', data: expect.objectContaining({ ...input, requestedBy: 'api-key:acme-operator' }) as unknown },
      { detailType: 'Run Requested', tenant: 'acme', data: expect.objectContaining(input) as unknown },
    ]);

    expectProblem((await r.gql(request, { token: r.keys.acme.viewer, variables: { input } })).errors, 'FORBIDDEN', 403);
    expectProblem((await r.gql(request, { token: r.keys.acme.operator, variables: { input, tenant: 'globex' } })).errors, 'FORBIDDEN', 403);
    expectProblem((await r.gql(request, { token: r.keys.acme.operator, variables: { input: { ...input, pipeline: 'desk-risk' }, key: 'nightly-1' } })).errors, 'UNPROCESSABLE', 422);
    const bad = expectProblem((await r.gql(request, { token: r.keys.acme.operator, variables: { input: { ...input, businessDate: 'yesterday' } } })).errors, 'BAD_REQUEST', 400);
    expect(new Set(bad.extensions.problem.problems?.map((p) => (p as { path: string }).path))).toEqual(new Set(['input.businessDate']));
    expect(await drainPlanner()).toEqual([]);
  });

  it("cancels its own running run; another tenant's is NOT_FOUND and a finished one CONFLICT", async () => {
    const cancel = 'mutation ($id: ID!) { cancelRun(id: $id, reason: "not today") { runId location } }';
    const own = await r.gql<{ cancelRun: { runId: string } }>(cancel, { token: r.keys.globex.operator, variables: { id: liveRun('globex') } });
    expect(own.errors).toBeUndefined();
    expect(own.data!.cancelRun.runId).toBe(liveRun('globex'));
    expectProblem((await r.gql(cancel, { token: r.keys.globex.operator, variables: { id: liveRun('acme') } })).errors, 'NOT_FOUND', 404);
    expectProblem((await r.gql(cancel, { token: r.keys.globex.operator, variables: { id: failedRun('globex') } })).errors, 'CONFLICT', 409);
    expectProblem((await r.gql(cancel, { token: r.keys.globex.viewer, variables: { id: liveRun('globex') } })).errors, 'FORBIDDEN', 403);
    expect(await drainPlanner()).toEqual([{ detailType: 'Run Cancel Requested', tenant: 'globex', data: expect.objectContaining({ runId: liveRun('globex'), reason: 'not today' }) as unknown }]);
  });

  it("retries its own failed run's failed tasks; another tenant's is NOT_FOUND and a running one CONFLICT", async () => {
    const retry = 'mutation ($id: ID!) { retryFailedTasks(id: $id, reason: "fixed the data") { runId location } }';
    const own = await r.gql<{ retryFailedTasks: { runId: string } }>(retry, { token: r.keys.acme.operator, variables: { id: failedRun('acme') } });
    expect(own.errors).toBeUndefined();
    expect(own.data!.retryFailedTasks.runId).toBe(failedRun('acme'));
    expectProblem((await r.gql(retry, { token: r.keys.acme.operator, variables: { id: failedRun('globex') } })).errors, 'NOT_FOUND', 404);
    expectProblem((await r.gql(retry, { token: r.keys.acme.operator, variables: { id: liveRun('acme') } })).errors, 'CONFLICT', 409);
    expectProblem((await r.gql(retry, { token: r.keys.acme.viewer, variables: { id: failedRun('acme') } })).errors, 'FORBIDDEN', 403);
    const published = await drainPlanner();
    expect(published.map((p) => [p.tenant, p.data['runId']])).toEqual([['acme', failedRun('acme')]]);
  });

  it("answers approvals: a step that is no approval is NOT_FOUND, another tenant's run NOT_FOUND, a viewer FORBIDDEN; nothing is published", async () => {
    const decide = 'mutation ($id: ID!, $step: String!) { decideApproval(id: $id, step: $step, approve: true, comment: "ok") { runId } }';
    expectProblem((await r.gql(decide, { token: r.keys.acme.operator, variables: { id: failedRun('acme'), step: 'no-such-step' } })).errors, 'NOT_FOUND', 404);
    expectProblem((await r.gql(decide, { token: r.keys.acme.operator, variables: { id: failedRun('globex'), step: 'no-such-step' } })).errors, 'NOT_FOUND', 404);
    expectProblem((await r.gql(decide, { token: r.keys.acme.viewer, variables: { id: failedRun('acme'), step: 'no-such-step' } })).errors, 'FORBIDDEN', 403);
    expect(await drainPlanner()).toEqual([]);
  });

  it('redrives a dead-letter queue for a tenantless admin only', async () => {
    const redrive = 'mutation ($queue: String!) { redrive(queue: $queue) { queue moved } }';
    expectProblem((await r.gql(redrive, { token: r.keys.acme.operator, variables: { queue: 'planner' } })).errors, 'FORBIDDEN', 403);
    // An admin bound to a tenant would move every tenant's messages: refused as REST refuses it.
    expectProblem((await r.gql(redrive, { token: r.keys.acme.admin, variables: { queue: 'planner' } })).errors, 'FORBIDDEN', 403);
    expectProblem((await r.gql(redrive, { token: r.keys.admin, variables: { queue: 'no-such-queue' } })).errors, 'NOT_FOUND', 404);
    const moved = await r.gql(redrive, { token: r.keys.admin, variables: { queue: 'planner' } });
    expect(moved.errors).toBeUndefined();
    expect(moved.data).toEqual({ redrive: { queue: 'planner', moved: 2 } });
    expect((await drainPlanner()).map((p) => p.tenant).sort()).toEqual(['acme', 'globex']);
  });
});

describe('GraphQL authentication and limits', () => {
  it('answers 401 UNAUTHENTICATED with WWW-Authenticate without a valid token, never echoing it', async () => {
    const missing = await r.gql('{ runs { edges { cursor } } }');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(missing.data).toBeNull();
    expectProblem(missing.errors, 'UNAUTHENTICATED', 401);
    const forged = 'nsk_this-is-not-a-key-0123456789';
    const bad = await r.gql('{ runs { edges { cursor } } }', { token: forged });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect(JSON.stringify(bad.errors)).not.toContain(forged);
  });

  it(`refuses a query more than ${MAX_QUERY_DEPTH} levels deep`, async () => {
    const deep = await r.gql('{ datasets(first: 1) { edges { node { runs(first: 1) { edges { node { steps { tasks(first: 1) { attempts { ... on Attempt { attempt } } } } } } } } } } }', { token: r.keys.acme.viewer });
    expect(deep.status).toBe(400);
    const error = expectProblem(deep.errors, 'QUERY_TOO_DEEP', 400);
    expect(error.message).toContain(String(MAX_QUERY_DEPTH));
  });

  it(`refuses a query costing more than ${MAX_QUERY_COST}, naming its cost and the limit; variables count`, async () => {
    const costly = await r.gql('{ runs(first: 500) { edges { node { steps { tasks(first: 5000) { taskId } } } } } }', { token: r.keys.acme.viewer });
    expect(costly.status).toBe(400);
    const error = expectProblem(costly.errors, 'QUERY_TOO_COSTLY', 400);
    expect(error.message).toMatch(new RegExp(`costs \\d+, above the limit of ${MAX_QUERY_COST}`));
    const query = 'query ($n: Int!) { runs(first: $n) { edges { node { steps { tasks(first: 1000) { taskId } } } } } }';
    expectProblem((await r.gql(query, { token: r.keys.acme.viewer, variables: { n: 400 } })).errors, 'QUERY_TOO_COSTLY', 400);
    expect((await r.gql(query, { token: r.keys.acme.viewer, variables: { n: 2 } })).errors).toBeUndefined();
  });

  it('serves its schema as SDL, for tools the depth limit keeps from introspecting', async () => {
    const res = await fetch(`${r.url}/graphql/schema.graphql`);
    expect(res.status).toBe(200);
    const sdl = await res.text();
    for (const part of ['type Query', 'type Mutation', 'type Subscription', 'runProgress(runId: ID!)', 'interface ReportSection', 'type TcaSection implements ReportSection']) expect(sdl).toContain(part);
  });
});
