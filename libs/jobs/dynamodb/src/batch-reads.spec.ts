import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
// The conformance suite's builders are test-only and deliberately not in jobs-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { aRunWithSteps, aTask, finished, inParallel } from '../../domain/src/testing/job-store.contract.js';
import { DynamoDbJobStore } from './dynamodb-job-store.js';
import { createDocumentClient } from './local-document-client.js';
import { embeddedTables } from './testing/embedded-tables.js';

const db = embeddedTables('batch-reads');

/** A client to the embedded server whose `send` counts the requests by command. */
function countingSend(): { client: DynamoDBDocumentClient; sent: string[] } {
  const client = createDocumentClient({ endpoint: db.server.endpoint });
  const sent: string[] = [];
  const send = client.send.bind(client) as (command: object, ...rest: unknown[]) => Promise<unknown>;
  (client as unknown as { send: typeof send }).send = (command, ...rest) => {
    sent.push(command.constructor.name);
    return send(command, ...rest);
  };
  return { client, sent };
}

describe('DynamoDbJobStore batch reads', () => {
  it('reads the steps and tasks of 100 runs in 4 requests, not one per run or step', async () => {
    const tableName = await db.freshTable();
    const writer = new DynamoDbJobStore(db.client, { tableName });
    const runs = Array.from({ length: 100 }, (_, i) => aRunWithSteps(`run-${String(i).padStart(3, '0')}`, { fills: 3, report: 1 }));
    await inParallel(runs, 8, async ({ run, steps }) => {
      await writer.createRun(run, steps);
      for (let i = 0; i < 3; i++) await writer.recordTask({ task: finished(aTask(run.runId, 'fills', i)), stepSize: 3, currentJobIds: [] });
      await writer.recordTask({ task: aTask(run.runId, 'report', 0), stepSize: 1, currentJobIds: [] });
    });

    const { client, sent } = countingSend();
    try {
      const reader = new DynamoDbJobStore(client, { tableName });
      const steps = await reader.getSteps(runs.flatMap(({ run }) => [{ runId: run.runId, step: 'fills' }, { runId: run.runId, step: 'report' }]));
      expect(steps).toHaveLength(200);
      // The folds of the finished chunks are in the counts read.
      expect(steps.filter((s) => s.step === 'fills').every((s) => s.succeeded === 3)).toBe(true);
      const tasks = await reader.listTasksOfSteps(steps);
      expect(tasks).toHaveLength(400);
      expect(tasks.slice(0, 4).map((t) => `${t.runId}/${t.taskId}`)).toEqual(['run-000/fills#p0', 'run-000/fills#p1', 'run-000/fills#p2', 'run-000/report#p0']);
      // 200 step keys and 200 chunk keys: two BatchGetItem requests of 100 keys each.
      expect(sent).toEqual(['BatchGetCommand', 'BatchGetCommand', 'BatchGetCommand', 'BatchGetCommand']);
    } finally {
      client.destroy();
    }
  });
});
