import { envelope, NightshiftSource, RunRequested, type EventBridgeEvent } from '@nightshift/contracts';
import { definePipeline, noopPipeline, runIdFor, scheduledTriggerId, type ScheduleState } from '@nightshift/jobs-domain';
import { DynamoDbScheduleState } from '@nightshift/jobs-dynamodb';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store lib's test fixture (one embedded server per spec file)
import { embeddedTables } from '../../../libs/jobs/dynamodb/src/testing/embedded-tables.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { PlannerHandlers } from './planner.handlers.js';
import { ScheduledRuns } from './scheduled-runs.js';
import { plannerHarnessPerTest } from './testing/planner-harness.js';

/*
 * A schedule's fire through the planner's handler, on the real store and compute environment: the
 * business date derived from the fire, holidays skipped with the reason, one run per fire however
 * often and in whichever form it comes, and every fire's outcome recorded.
 */

const h = plannerHarnessPerTest();

/** Business days of NYSE; the harness registers `executions` for Thursday 2024-05-02. */
const pipeline = definePipeline({
  ...noopPipeline('sched-unit', 1, { trigger: 'executions' }),
  calendar: 'XNYS',
  schedules: [{ name: 'nightly', expression: 'cron(0 7 ? * * *)', businessDaysOnly: true }],
});

const dynamo = embeddedTables('scheduled-runs');
let state: ScheduleState;
let handlers: PlannerHandlers;
let events = 0;

beforeEach(async () => {
  state = new DynamoDbScheduleState(dynamo.client, { tableName: await dynamo.freshTable() });
  const host = h.startHost({ pipelines: [pipeline] });
  handlers = new PlannerHandlers(host.engine, h.store, host.retry, new ScheduledRuns(host.engine, h.store, state, { now: () => new Date() }));
});

/** A fire of `schedule` of `pipelineName` at `scheduledTime`, as a scheduler publishes it. */
function fired(scheduledTime: string, schedule = 'nightly', pipelineName = pipeline.name): EventBridgeEvent {
  const eventId = `schedule-${pipelineName}-${schedule}-${Date.parse(scheduledTime)}`;
  return {
    version: '0',
    id: `bus-${++events}`,
    'detail-type': RunRequested.detailType,
    source: NightshiftSource.scheduler,
    account: '000000000000',
    time: scheduledTime,
    region: 'us-east-1',
    resources: [],
    detail: envelope({ pipeline: pipelineName, requestedBy: 'test', schedule: { name: schedule, scheduledTime } }, { eventId, correlationId: eventId, occurredAt: new Date(scheduledTime) }),
  };
}

describe('a schedule fire in the planner', () => {
  it("runs the business day before the fire's local date, once, whoever delivers the fire and in whichever form", async () => {
    await h.registerDataset(['n0']);
    // Friday 07:00 UTC covers Thursday: delivered twice by the embedded scheduler, once by EventBridge Scheduler (no milliseconds).
    await handlers.onRunRequested(fired('2024-05-03T07:00:00.000Z'));
    await handlers.onRunRequested(fired('2024-05-03T07:00:00.000Z'));
    await handlers.onRunRequested(fired('2024-05-03T07:00:00Z'));

    const runId = runIdFor(pipeline.name, '2024-05-02', scheduledTriggerId(pipeline.name, 'nightly', '2024-05-03T07:00:00Z'));
    expect((await h.store.listRuns({ pipeline: pipeline.name })).items.map((r) => r.runId)).toEqual([runId]);
    await h.runReaching(runId, 'SUCCEEDED');
    expect(await state.listFires(pipeline.name, 'nightly', 10)).toEqual([
      { pipeline: pipeline.name, schedule: 'nightly', scheduledTime: '2024-05-03T07:00:00.000Z', outcome: 'RUN_REQUESTED', runId, businessDate: '2024-05-02', at: expect.any(String) },
    ]);
  });

  it('skips a fire on an exchange holiday with the calendar\'s reason, and starts nothing', async () => {
    await h.registerDataset(['n0']);
    await handlers.onRunRequested(fired('2024-05-27T07:00:00.000Z'));
    expect((await h.store.listRuns({ pipeline: pipeline.name })).items).toEqual([]);
    expect(await state.listFires(pipeline.name, 'nightly', 10)).toEqual([
      { pipeline: pipeline.name, schedule: 'nightly', scheduledTime: '2024-05-27T07:00:00.000Z', outcome: 'SKIPPED', reason: '2024-05-27 is a holiday of XNYS (Memorial Day)', at: expect.any(String) },
    ]);
  });

  it('records a run that cannot run (no dataset for the derived date) as failed, with the reason on the fire too', async () => {
    // Monday 2024-05-06 covers Friday 2024-05-03, for which nothing is registered.
    await handlers.onRunRequested(fired('2024-05-06T07:00:00.000Z'));
    const runId = runIdFor(pipeline.name, '2024-05-03', scheduledTriggerId(pipeline.name, 'nightly', '2024-05-06T07:00:00Z'));
    expect(await h.store.getRun(runId)).toMatchObject({ status: 'FAILED', businessDate: '2024-05-03', reason: 'no registered dataset executions for 2024-05-03' });
    expect((await state.listFires(pipeline.name, 'nightly', 1))[0]).toMatchObject({ outcome: 'RUN_REQUESTED', runId, businessDate: '2024-05-03', reason: 'no registered dataset executions for 2024-05-03' });
  });

  it('fails the run of an unknown schedule or pipeline as an unknown pipeline\'s request is, under the fire time\'s UTC date', async () => {
    await handlers.onRunRequested(fired('2024-05-03T07:00:00.000Z', 'weekly'));
    const unknownSchedule = runIdFor(pipeline.name, '2024-05-03', scheduledTriggerId(pipeline.name, 'weekly', '2024-05-03T07:00:00Z'));
    expect(await h.store.getRun(unknownSchedule)).toMatchObject({ status: 'FAILED', reason: 'pipeline sched-unit has no schedule "weekly"' });
    expect((await state.listFires(pipeline.name, 'weekly', 1))[0]).toMatchObject({ outcome: 'RUN_REQUESTED', runId: unknownSchedule, reason: 'pipeline sched-unit has no schedule "weekly"' });

    await handlers.onRunRequested(fired('2024-05-03T07:00:00.000Z', 'nightly', 'gone'));
    const unknownPipeline = runIdFor('gone', '2024-05-03', scheduledTriggerId('gone', 'nightly', '2024-05-03T07:00:00Z'));
    expect(await h.store.getRun(unknownPipeline)).toMatchObject({ status: 'FAILED', reason: 'unknown pipeline "gone"' });
  });
});
