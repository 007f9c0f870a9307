import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchJobStateChange, DatasetLanded, DatasetRegistered, NightshiftSource, RunSucceeded, type EventBridgeEvent, type RuleDefinition } from '@nightshift/contracts';
import type { PutEventsRequestEntry } from '@nightshift/events-domain';
import type { LocalEventBus } from '../local-event-bus.js';

/** A fresh temp directory and its cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'nightshift-bus-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Metadata envelope as nightshift's own events carry it. */
export function metadata(eventId: string) {
  return {
    eventId,
    correlationId: `corr-${eventId}`,
    occurredAt: '2024-05-02T01:00:00.000Z',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  };
}

/** An upstream "Dataset Landed" entry (routed to ingestion). */
export function aDatasetLanded(overrides: Partial<PutEventsRequestEntry> = {}, dataset = 'executions'): PutEventsRequestEntry {
  return {
    Source: 'oms.upstream',
    DetailType: DatasetLanded.detailType,
    Detail: JSON.stringify({
      dataset,
      businessDate: '2024-05-01',
      files: [{ table: 'executions', key: `landing/${dataset}/2024-05-01/desk-a.csv`, desk: 'desk-a' }],
    }),
    ...overrides,
  };
}

/** A "Dataset Registered" entry from ingestion (routed to planner). */
export function aDatasetRegistered(eventId = 'evt-registered-1'): PutEventsRequestEntry {
  return {
    Source: DatasetRegistered.source,
    DetailType: DatasetRegistered.detailType,
    Detail: JSON.stringify({ metadata: metadata(eventId), data: { dataset: 'executions', version: 3 } }),
  };
}

/** A "Run Succeeded" entry from the planner (routed to reporting). */
export function aRunSucceeded(eventId = 'evt-run-ok-1'): PutEventsRequestEntry {
  return {
    Source: RunSucceeded.source,
    DetailType: RunSucceeded.detailType,
    Detail: JSON.stringify({ metadata: metadata(eventId), data: { runId: 'run-1' } }),
  };
}

/** An AWS Batch state change, with or without nightshift's run id parameter. */
export function aBatchJobStateChange(withRunId: boolean): PutEventsRequestEntry {
  return {
    Source: BatchJobStateChange.source,
    DetailType: BatchJobStateChange.detailType,
    Detail: JSON.stringify({
      jobId: 'job-1',
      status: 'SUCCEEDED',
      parameters: withRunId ? { 'nightshift.runId': 'run-1' } : { other: 'x' },
    }),
    Resources: ['arn:aws:batch:local:000000000000:job/job-1'],
  };
}

/** Rules for tests that need just one simple queue. */
export const LANDED_ONLY: Record<string, readonly RuleDefinition[]> = {
  ingestion: [
    {
      name: 'landed',
      description: 'every Dataset Landed',
      eventPattern: { 'detail-type': [DatasetLanded.detailType] },
    },
  ],
};

/** Sources nightshift owns (for "anything-but prefix" assertions). */
export const OWN_SOURCE = NightshiftSource.ingestion;

/** Polls `check` until it returns a value other than undefined (tests only; production code never polls). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Receives and acks everything visible in a queue; the events, in the order received. */
export async function drainQueue(bus: LocalEventBus, queue: string): Promise<EventBridgeEvent[]> {
  const events: EventBridgeEvent[] = [];
  for (;;) {
    const batch = await bus.receive(queue, 10);
    if (batch.length === 0) return events;
    for (const m of batch) {
      await bus.ack(queue, m.receiptHandle);
      events.push(m.event);
    }
  }
}
