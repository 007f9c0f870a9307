import { DatasetRegistered, envelope, RunFailed, RunRequested, type EventBridgeEvent } from '@nightshift/contracts';
import { DatasetOfAnotherTenantError, noopPipeline, runIdFor, type ComputeEnvironment, type DatasetVersion, type JobSubmission } from '@nightshift/jobs-domain';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlannerHandlers } from './planner.handlers.js';
import { plannerHarnessPerTest, type Host } from './testing/planner-harness.js';

/*
 * Tenancy at planning time, through the planner's handlers on the real store and compute
 * environment: runs over a dataset are its tenant's, and a tenant cannot run another's data.
 * Two tenants: acme owns the dataset, globex tries to use it.
 */

const h = plannerHarnessPerTest();

const DATE = '2024-05-02';
const pipeline = noopPipeline('tenant-noop', 2, { trigger: 'executions' });

let host: Host;
let handlers: PlannerHandlers;
/** Names of the jobs the engine submitted, whatever became of them. */
let submitted: string[];
let events = 0;

beforeEach(() => {
  submitted = [];
  host = h.startHost({
    pipelines: [pipeline],
    wrapCompute: (compute): ComputeEnvironment => ({
      submitJob: async (job: JobSubmission) => {
        submitted.push(job.jobName);
        return compute.submitJob(job);
      },
      describeJobs: (ids) => compute.describeJobs(ids),
      listJobs: (filter) => compute.listJobs(filter),
      cancelJob: (id, reason) => compute.cancelJob(id, reason),
      terminateJob: (id, reason) => compute.terminateJob(id, reason),
    }),
  });
  handlers = new PlannerHandlers(host.engine, h.store, host.retry);
});

function eventOf(contract: { source: string; detailType: string }, detail: unknown): EventBridgeEvent {
  return {
    version: '0',
    id: `event-${++events}`,
    'detail-type': contract.detailType,
    source: contract.source,
    account: '000000000000',
    time: '2024-05-02T21:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

function registerDataset(tenant: string | undefined, landedEventId: string): Promise<DatasetVersion> {
  return h.store.registerDatasetVersion({
    dataset: 'executions',
    businessDate: DATE,
    files: [],
    rowCount: 0,
    partitions: [],
    manifestKey: `datasets/executions/${DATE}/${landedEventId}/manifest.json`,
    landedEventId,
    registeredAt: '2024-05-02T20:00:00.000Z',
    ...(tenant ? { tenant } : {}),
  });
}

/** Dataset Registered as ingestion publishes it, with `metadataTenant` in its metadata (when given). */
function datasetRegistered(dataset: DatasetVersion, metadataTenant?: string): EventBridgeEvent {
  const { datasetId, businessDate, version, files, rowCount, partitions, manifestKey } = dataset;
  return eventOf(
    DatasetRegistered,
    envelope(
      { datasetId, dataset: dataset.dataset, businessDate, version, files, rowCount, partitions, manifestKey },
      { eventId: `dataset-registered-${dataset.landedEventId}`, correlationId: dataset.landedEventId, occurredAt: new Date(), tenant: metadataTenant },
    ),
  );
}

/** Run Requested as the REST API publishes it: the caller's tenant in the metadata; `runId` is the one the API answers. */
function runRequested(tenant: string, data: { datasetId?: string }): EventBridgeEvent & { runId: string } {
  const requestId = `run-request-${tenant}-${++events}`;
  const event = eventOf(
    RunRequested,
    envelope({ pipeline: pipeline.name, businessDate: DATE, requestedBy: 'api', ...data }, { eventId: requestId, correlationId: requestId, occurredAt: new Date(), tenant }),
  );
  return { ...event, runId: runIdFor(pipeline.name, DATE, requestId) };
}

describe('planner tenancy: runs over a dataset are its tenant\'s', () => {
  it("gives the runs a dataset's landing triggers to the dataset's tenant, whatever the event's metadata says", async () => {
    const acme = await registerDataset('acme', 'landed-acme');
    await handlers.onDatasetRegistered(datasetRegistered(acme));
    const [run] = (await h.store.listRuns({ tenant: 'acme' })).items;
    expect(run).toMatchObject({ tenant: 'acme', datasetId: acme.datasetId, pipeline: pipeline.name });
    await h.runReaching(run!.runId, 'SUCCEEDED');

    // A Dataset Registered naming another tenant cannot hand the dataset's runs to it.
    const again = await registerDataset('acme', 'landed-acme-2');
    await handlers.onDatasetRegistered(datasetRegistered(again, 'globex'));
    expect((await h.store.listRuns({ tenant: 'acme' })).items.map((r) => r.datasetId).sort()).toEqual([acme.datasetId, again.datasetId].sort());
    expect((await h.store.listRuns({ tenant: 'globex' })).items).toEqual([]);
  });

  it("refuses globex's Run Requested for acme's dataset: a FAILED run of globex's with the reason, Run Failed, and nothing started", async () => {
    const acme = await registerDataset('acme', 'landed-acme');
    const named = runRequested('globex', { datasetId: acme.datasetId });
    await handlers.onRunRequested(named);
    // Without a dataset id the latest is globex's latest, and globex has none: acme's is not taken for it.
    const latest = runRequested('globex', {});
    await handlers.onRunRequested(latest);

    const refusedNamed = await h.store.getRun(named.runId);
    expect(refusedNamed).toMatchObject({ status: 'FAILED', tenant: 'globex', tasksTotal: 0, datasetId: 'none', reason: `no registered dataset ${acme.datasetId} for tenant globex` });
    const refusedLatest = await h.store.getRun(latest.runId);
    expect(refusedLatest).toMatchObject({ status: 'FAILED', tenant: 'globex', datasetId: 'none', reason: `no registered dataset executions for ${DATE}` });
    for (const run of [refusedNamed!, refusedLatest!]) {
      expect(await h.store.listSteps(run.runId)).toEqual([]);
      // The refusal names neither the owner nor anything of its data.
      expect(JSON.stringify(run)).not.toContain('acme');
    }

    const failed = h.publisher.ofType(RunFailed.detailType).map((e) => RunFailed.detail.parse(e.detail));
    expect(failed.map((f) => [f.data.runId, f.metadata.tenant])).toEqual([
      [refusedNamed!.runId, 'globex'],
      [refusedLatest!.runId, 'globex'],
    ]);
    expect(failed[0]!.data.reason).toBe(`no registered dataset ${acme.datasetId} for tenant globex`);

    // Nothing ran over acme's dataset, and acme sees nothing of globex's attempts.
    expect(submitted).toEqual([]);
    expect((await h.store.listRuns()).items.filter((r) => r.datasetId === acme.datasetId)).toEqual([]);
    expect((await h.store.listRuns({ tenant: 'acme' })).items).toEqual([]);
  });

  it("runs acme's own request over its dataset, its latest being its own even when globex landed the same name since", async () => {
    const acme = await registerDataset('acme', 'landed-acme');
    const globex = await registerDataset('globex', 'landed-globex');
    expect(globex.version).toBe(2);

    const request = runRequested('acme', {});
    await handlers.onRunRequested(request);
    const run = await h.runReaching(request.runId, 'SUCCEEDED');
    expect(run).toMatchObject({ tenant: 'acme', datasetId: acme.datasetId });
    expect(submitted.length).toBeGreaterThan(0);
  });

  it('refuses at planning too: the engine plans no run of one tenant over another tenant\'s dataset, and writes nothing', async () => {
    const acme = await registerDataset('acme', 'landed-acme');
    await expect(host.engine.startRun({ pipeline, dataset: acme, triggerEventId: 't-1', correlationId: 'c-1', tenant: 'globex' })).rejects.toBeInstanceOf(
      DatasetOfAnotherTenantError,
    );
    await expect(host.engine.startRun({ pipeline, dataset: acme, triggerEventId: 't-2', correlationId: 'c-2' })).rejects.toBeInstanceOf(DatasetOfAnotherTenantError);
    expect((await h.store.listRuns()).items).toEqual([]);
    expect(submitted).toEqual([]);
  });
});
