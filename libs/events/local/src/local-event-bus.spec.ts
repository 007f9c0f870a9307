import { appendFile, cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetLanded, eventBridgeEnvelopeSchema, SERVICE_RULES } from '@nightshift/contracts';
import {
  BusClosedError,
  BusDirectoryLockedError,
  InvalidEventError,
  InvalidQueueNameError,
  InvalidRuleError,
  PutEventsValidationError,
  UnknownQueueError,
} from './errors.js';
import { LocalEventBus, type LocalEventBusOptions } from './local-event-bus.js';
import { MAX_DETAIL_DEPTH } from './put-events.js';
import {
  aBatchJobStateChange,
  aDatasetLanded,
  aDatasetRegistered,
  aRunSucceeded,
  LANDED_ONLY,
  OWN_SOURCE,
  tempDir,
} from './testing/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: LocalEventBus[] = [];

async function openBus(options: Partial<LocalEventBusOptions> = {}): Promise<LocalEventBus> {
  const bus = await LocalEventBus.open({ dir, rules: SERVICE_RULES, ...options });
  open.push(bus);
  return bus;
}

/** The complete lines of a queue's receipt log. */
async function receiptLines(busDir: string, queue: string): Promise<Array<{ m: string; c: number; v: number; e?: string }>> {
  const text = await readFile(join(busDir, 'receipts', `${queue}.log`), 'utf8');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line));
}

/**
 * Copies the bus directory as it is at this instant (no close, no flush): what a kill -9 would
 * leave. The copy's lock names a pid that is not running. Removed after the test.
 */
async function crashImage(): Promise<string> {
  const image = `${dir}-image-${images.length}`;
  await cp(dir, image, { recursive: true });
  await writeFile(join(image, 'LOCK'), '999999999');
  images.push(image);
  return image;
}
const images: string[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  for (const bus of open.splice(0)) await bus.close();
  for (const image of images.splice(0)) await rm(image, { recursive: true, force: true });
  await cleanup();
});

describe('LocalEventBus routing', () => {
  it('fans each event out to exactly the queues whose SERVICE_RULES match it', async () => {
    const bus = await openBus();
    const result = await bus.putEvents([
      aDatasetLanded(), // ingestion
      aDatasetLanded({ Source: OWN_SOURCE }), // nightshift.* source: excluded by anything-but prefix
      aDatasetRegistered(), // planner
      aBatchJobStateChange(true), // planner (has nightshift.runId)
      aBatchJobStateChange(false), // nobody
      aRunSucceeded(), // reporting, and the planner (chained pipelines, backfills)
    ]);
    expect(result.FailedEntryCount).toBe(0);
    const ids = result.Entries.map((e) => ('EventId' in e ? e.EventId : ''));

    const drain = async (queue: string) => (await bus.receive(queue, 10)).map((m) => m.event.id).sort();
    expect(await drain('ingestion')).toEqual([ids[0]]);
    expect(await drain('planner')).toEqual([ids[2], ids[3], ids[5]].sort());
    expect(await drain('reporting')).toEqual([ids[5]]);
  });

  it('delivers the full EventBridge envelope', async () => {
    const bus = await openBus({ account: '123456789012', region: 'eu-west-1', now: () => new Date('2024-05-02T03:04:05.678Z') });
    const { Entries } = await bus.putEvents([aBatchJobStateChange(true)]);
    const [message] = await bus.receive('planner');
    expect(eventBridgeEnvelopeSchema.safeParse(message.event).success).toBe(true);
    expect(message.event).toEqual({
      version: '0',
      id: 'EventId' in Entries[0] ? Entries[0].EventId : 'missing',
      'detail-type': 'Batch Job State Change',
      source: 'aws.batch',
      account: '123456789012',
      time: '2024-05-02T03:04:05Z',
      region: 'eu-west-1',
      resources: ['arn:aws:batch:local:000000000000:job/job-1'],
      detail: { jobId: 'job-1', status: 'SUCCEEDED', parameters: { 'nightshift.runId': 'run-1' } },
    });
    expect(message.event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.receiveCount).toBe(1);
  });

  it('uses the entry Time when given', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded({ Time: new Date('2023-01-02T03:04:05Z') })]);
    const [m] = await bus.receive('ingestion');
    expect(m.event.time).toBe('2023-01-02T03:04:05Z');
  });
});

describe('LocalEventBus PutEvents validation', () => {
  it('reports bad entries one by one and keeps the good ones', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    const result = await bus.putEvents([
      { DetailType: 'Dataset Landed', Detail: '{}' },
      aDatasetLanded({}, 'first'),
      aDatasetLanded({ Detail: 'not json' }),
      aDatasetLanded({ Detail: '[1,2]' }),
      aDatasetLanded({ DetailType: undefined }),
      aDatasetLanded({ Detail: undefined }),
      aDatasetLanded({ DetailType: 'x'.repeat(129) }),
      aDatasetLanded({ EventBusName: 'some-other-bus' }),
      aDatasetLanded({ EventBusName: 'arn:aws:events:local:000000000000:event-bus/nightshift' }, 'second'),
    ]);
    expect(result.FailedEntryCount).toBe(7);
    expect(result.Entries[0]).toEqual({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
    });
    expect(result.Entries[2]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(result.Entries[3]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(result.Entries[4]).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('DetailType is a required') });
    expect(result.Entries[5]).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('Detail is a required') });
    expect(result.Entries[6]).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('128') });
    expect(result.Entries[7]).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('some-other-bus') });

    const received = await bus.receive('ingestion', 10);
    expect(received.map((m) => (m.event.detail as { dataset: string }).dataset).sort()).toEqual(['first', 'second']);
    expect(received.map((m) => m.event.id).sort()).toEqual(
      [result.Entries[1], result.Entries[8]].map((e) => ('EventId' in e ? e.EventId : '')).sort(),
    );
  });

  it('refuses a whole request of 0 or more than 10 entries, or over 256 KiB, and writes nothing', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await expect(bus.putEvents([])).rejects.toBeInstanceOf(PutEventsValidationError);
    await expect(bus.putEvents(Array.from({ length: 11 }, () => aDatasetLanded()))).rejects.toThrow(
      "Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
    const big = JSON.stringify({ blob: 'x'.repeat(200 * 1024) });
    await expect(bus.putEvents([aDatasetLanded({ Detail: big }), aDatasetLanded({ Detail: big })])).rejects.toThrow(
      'Total size of the entries in the request is over the limit.',
    );
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    expect(await readdir(join(dir, 'queues', 'ingestion'))).toEqual([]);
  });
});

describe('LocalEventBus durability', () => {
  it('has the message on disk when putEvents resolves: a new instance on the same directory delivers it', async () => {
    const first = await openBus({ rules: LANDED_ONLY });
    const { Entries } = await first.putEvents([aDatasetLanded()]);
    // Copy the directory as it is at this instant (no close, no flush): what a kill -9 would leave.
    const snapshot = `${dir}-snapshot`;
    await cp(dir, snapshot, { recursive: true });
    await writeFile(join(snapshot, 'LOCK'), '999999999'); // a pid that is not running
    const second = await LocalEventBus.open({ dir: snapshot, rules: LANDED_ONLY });
    try {
      const [m] = await second.receive('ingestion');
      expect(m.event.id).toBe('EventId' in Entries[0] ? Entries[0].EventId : 'missing');
    } finally {
      await second.close();
      await rm(snapshot, { recursive: true, force: true });
    }
  });

  it('redelivers after the visibility timeout with the receive count incremented', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 400 });
    await bus.putEvents([aDatasetLanded()]);
    const [first] = await bus.receive('ingestion');
    expect(first.receiveCount).toBe(1);
    expect(await bus.receive('ingestion')).toEqual([]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });

    const started = Date.now();
    const [again] = await bus.receive('ingestion', 1, { waitTimeMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(again.messageId).toBe(first.messageId);
    expect(again.event.id).toBe(first.event.id);
    expect(again.receiveCount).toBe(2);

    // The first delivery's handle is stale now: acking with it deletes nothing.
    expect(await bus.ack('ingestion', first.receiptHandle)).toBe(false);
    expect(await bus.ack('ingestion', again.receiptHandle)).toBe(true);
    expect(await bus.ack('ingestion', again.receiptHandle)).toBe(false);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    expect(await readdir(join(dir, 'queues', 'ingestion'))).toEqual([]);
  });

  it('after a restart, redelivers what was not acked, keeping receive count and visibility', async () => {
    const first = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 1_000 });
    await first.putEvents([aDatasetLanded({}, 'acked'), aDatasetLanded({}, 'unacked')]);
    const received = await first.receive('ingestion', 2);
    const acked = received.find((m) => (m.event.detail as { dataset: string }).dataset === 'acked');
    await first.ack('ingestion', acked!.receiptHandle);
    await first.close();

    const second = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 1_000 });
    // Still invisible: its visibility timeout was persisted with the delivery.
    expect(second.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    const [again] = await second.receive('ingestion', 10, { waitTimeMs: 3_000 });
    expect((again.event.detail as { dataset: string }).dataset).toBe('unacked');
    expect(again.receiveCount).toBe(2);
    expect(await second.receive('ingestion', 10)).toEqual([]);
  });

  it('takes over the lock of a dead owner, refuses a live one, and removes leftover temp files', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await expect(LocalEventBus.open({ dir, rules: LANDED_ONLY })).rejects.toBeInstanceOf(BusDirectoryLockedError);
    await bus.close();

    await writeFile(join(dir, 'LOCK'), String(process.ppid)); // a live process that is not us
    await expect(LocalEventBus.open({ dir, rules: LANDED_ONLY })).rejects.toThrow(/locked by running process/);

    await writeFile(join(dir, 'LOCK'), '999999999');
    await writeFile(join(dir, 'tmp', '999999999-half-written.tmp'), '{"format":1,');
    const reopened = await openBus({ rules: LANDED_ONLY });
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
    await reopened.close();
    await expect(reopened.putEvents([aDatasetLanded()])).rejects.toBeInstanceOf(BusClosedError);
  });
});

describe('LocalEventBus dead letters', () => {
  it('moves a message to <queue>-dlq on the receive after maxReceiveCount deliveries, with the last error', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, maxReceiveCount: 2 });
    await bus.putEvents([aDatasetLanded()]);
    for (let i = 1; i <= 2; i++) {
      const [m] = await bus.receive('ingestion');
      expect(m.receiveCount).toBe(i);
      await bus.release('ingestion', m.receiptHandle, 0, `boom ${i}`);
    }
    expect(await bus.receive('ingestion')).toEqual([]);
    const [dead] = bus.listDeadLetters('ingestion');
    expect(dead.receiveCount).toBe(2);
    expect(dead.reason).toBe('maxReceiveCount 2 exceeded; last error: boom 2');
    expect(dead.event['detail-type']).toBe(DatasetLanded.detailType);
    expect(await readdir(join(dir, 'queues', 'ingestion'))).toEqual([]);
    expect(await readdir(join(dir, 'queues', 'ingestion-dlq'))).toHaveLength(1);

    await bus.close();
    const reopened = await openBus({ rules: LANDED_ONLY, maxReceiveCount: 2 });
    expect(reopened.listDeadLetters('ingestion').map((d) => d.messageId)).toEqual([dead.messageId]);
  });

  it('dead-letters at once on request, and redrives dead letters back as new messages', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded()]);
    const [m] = await bus.receive('ingestion');
    expect(await bus.deadLetter('ingestion', m.receiptHandle, 'ValidationError: no such dataset')).toBe(true);
    expect(bus.listDeadLetters('ingestion')).toMatchObject([{ receiveCount: 1, reason: 'ValidationError: no such dataset' }]);

    expect(await bus.redriveDeadLetters('ingestion')).toBe(1);
    expect(bus.listDeadLetters('ingestion')).toEqual([]);
    const [back] = await bus.receive('ingestion');
    expect(back.event).toEqual(m.event);
    expect(back.receiveCount).toBe(1);
  });

  it('finishes a dead-letter move that a crash interrupted (copy in both queues)', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded()]);
    const [m] = await bus.receive('ingestion');
    await bus.deadLetter('ingestion', m.receiptHandle, 'fatal');
    await bus.close();
    // Recreate the crash window: the DLQ copy is written, the source copy not yet unlinked.
    const [file] = await readdir(join(dir, 'queues', 'ingestion-dlq'));
    const record = JSON.parse(await readFile(join(dir, 'queues', 'ingestion-dlq', file), 'utf8'));
    delete record.deadLetteredAt;
    delete record.deadLetterReason;
    await writeFile(join(dir, 'queues', 'ingestion', file), JSON.stringify(record));

    const reopened = await openBus({ rules: LANDED_ONLY });
    expect(reopened.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });
    expect(await readdir(join(dir, 'queues', 'ingestion'))).toEqual([]);
  });
});

describe('LocalEventBus consumption', () => {
  it('long-polls: a publish wakes a waiting receive at once', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    const started = Date.now();
    const waiting = bus.receive('ingestion', 1, { waitTimeMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await bus.putEvents([aDatasetLanded()]);
    const [m] = await waiting;
    expect(m.receiveCount).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ends a long poll on abort and on close', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    const abort = new AbortController();
    const aborted = bus.receive('ingestion', 1, { waitTimeMs: 10_000, signal: abort.signal });
    await new Promise((r) => setTimeout(r, 50));
    abort.abort();
    expect(await aborted).toEqual([]);
    const started = Date.now();
    const closing = bus.receive('ingestion', 1, { waitTimeMs: 10_000 });
    await new Promise((r) => setTimeout(r, 50));
    await bus.close();
    expect(await closing).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(bus.receive('ingestion')).rejects.toBeInstanceOf(BusClosedError);
  });

  it('release with a delay hides the message for that long', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded()]);
    const [m] = await bus.receive('ingestion');
    await bus.release('ingestion', m.receiptHandle, 400);
    expect(await bus.receive('ingestion')).toEqual([]);
    const [again] = await bus.receive('ingestion', 1, { waitTimeMs: 2_000 });
    expect(again.receiveCount).toBe(2);
  });

  it('never hands the same message to two concurrent receives', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents(Array.from({ length: 10 }, (_, i) => aDatasetLanded({}, `d${i}`)));
    await bus.putEvents(Array.from({ length: 10 }, (_, i) => aDatasetLanded({}, `e${i}`)));
    const batches = await Promise.all(Array.from({ length: 6 }, () => bus.receive('ingestion', 4)));
    const ids = batches.flat().map((m) => m.messageId);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
  });

  it('rejects unknown queues, bad queue names and invalid rule patterns', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await expect(bus.receive('nope')).rejects.toBeInstanceOf(UnknownQueueError);
    await expect(LocalEventBus.open({ dir: join(dir, 'x'), rules: { 'orders-dlq': [] } })).rejects.toBeInstanceOf(InvalidQueueNameError);
    await expect(LocalEventBus.open({ dir: join(dir, 'x'), rules: { 'a/b': [] } })).rejects.toBeInstanceOf(InvalidQueueNameError);
    const bad = LocalEventBus.open({
      dir: join(dir, 'y'),
      rules: { q: [{ name: 'broken', description: '', eventPattern: { source: [] } }] },
    });
    await expect(bad).rejects.toBeInstanceOf(InvalidRuleError);
    await expect(bad).rejects.toThrow(/broken/);
  });

  it('keeps the on-disk layout documented in the README', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded()]);
    const [file] = await readdir(join(dir, 'queues', 'ingestion'));
    expect(file).toMatch(/^\d{13}-[0-9a-f-]{36}\.json$/);
    const record = JSON.parse(await readFile(join(dir, 'queues', 'ingestion', file), 'utf8'));
    expect(record).toMatchObject({ format: 1, receiveCount: 0, visibleAt: 0, event: { 'detail-type': 'Dataset Landed' } });
    const [m] = await bus.receive('ingestion');
    // A delivery appends its state to the queue's receipt log; the message file is not rewritten.
    expect(JSON.parse(await readFile(join(dir, 'queues', 'ingestion', file), 'utf8'))).toEqual(record);
    const [line] = await receiptLines(dir, 'ingestion');
    expect(line).toEqual({ m: record.messageId, c: 1, v: expect.any(Number) });
    expect(line.v).toBeGreaterThan(Date.now());
    expect(m.messageId).toBe(record.messageId);
    expect((await readdir(dir)).sort()).toEqual(['LOCK', 'queues', 'receipts', 'tmp']);
    expect(await readdir(join(dir, 'receipts'))).toEqual(['ingestion.log']);
    expect((await readdir(join(dir, 'queues'))).sort()).toEqual(['ingestion', 'ingestion-dlq']);
  });
});

describe('LocalEventBus receipt log', () => {
  const datasetOf = (m: { event: { detail: unknown } }) => (m.event.detail as { dataset: string }).dataset;

  it('ignores a torn tail of the log: an append the crash cut short, or zeros the data never replaced', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    await bus.putEvents([aDatasetLanded()]);
    const [m] = await bus.receive('ingestion');
    const image = await crashImage();
    // Zeros where the file grew but its data never landed, then a line cut just before its newline.
    await appendFile(join(image, 'receipts', 'ingestion.log'), `${'\0'.repeat(12)}\n{"m":"${m.messageId}","c":9,"v":0}`);

    const reopened = await openBus({ dir: image, rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    // The durable line rules: still in flight (the torn line would have made it visible, count 9).
    expect(reopened.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    const [again] = await reopened.receive('ingestion', 1, { waitTimeMs: 2_000 });
    expect(again.receiveCount).toBe(2);
    // Opening compacted the log: the garbage is gone, so later appends follow complete lines.
    expect(await receiptLines(image, 'ingestion')).toEqual([
      { m: m.messageId, c: 1, v: expect.any(Number) },
      { m: m.messageId, c: 2, v: expect.any(Number) },
    ]);
  });

  it('ignores lines of messages that are gone (acked, dead-lettered, unknown) and drops them when it opens', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    await bus.putEvents([aDatasetLanded({}, 'acked'), aDatasetLanded({}, 'dead'), aDatasetLanded({}, 'kept')]);
    const received = await bus.receive('ingestion', 3);
    const by = new Map(received.map((m) => [datasetOf(m), m]));
    expect(await bus.ack('ingestion', by.get('acked')!.receiptHandle)).toBe(true);
    expect(await bus.deadLetter('ingestion', by.get('dead')!.receiptHandle, 'fatal')).toBe(true);
    await bus.close();
    await appendFile(join(dir, 'receipts', 'ingestion.log'), '{"m":"no-such-message","c":3,"v":0}\n');
    // The log still has a line for each delivery; only the message files of acked ones are gone.
    expect((await receiptLines(dir, 'ingestion')).map((l) => l.m).sort()).toEqual(
      [...received.map((m) => m.messageId), 'no-such-message'].sort(),
    );

    const reopened = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    expect(reopened.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 1 });
    expect(await receiptLines(dir, 'ingestion')).toEqual([{ m: by.get('kept')!.messageId, c: 1, v: expect.any(Number) }]);
    const [again] = await reopened.receive('ingestion', 10, { waitTimeMs: 2_000 });
    expect(datasetOf(again)).toBe('kept');
    expect(again.receiveCount).toBe(2);
    expect(await reopened.receive('ingestion', 10)).toEqual([]);
  });

  it('keeps the count of a delivery whose process died before the handler saw it: the next one is count + 1', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    await bus.putEvents([aDatasetLanded()]);
    const [first] = await bus.receive('ingestion');
    // The disk as the receive left it: its line is appended and fsync'ed, nothing else happened.
    const image = await crashImage();

    const reopened = await openBus({ dir: image, rules: LANDED_ONLY, visibilityTimeoutMs: 200 });
    const [again] = await reopened.receive('ingestion', 1, { waitTimeMs: 2_000 });
    expect(again.messageId).toBe(first.messageId);
    expect(again.receiveCount).toBe(first.receiveCount + 1);
  });

  it('loads the same state whatever step of a compaction a crash interrupted, and again after reopening', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, maxReceiveCount: 2 });
    await bus.putEvents([aDatasetLanded()]);
    for (let i = 1; i <= 2; i++) {
      const [m] = await bus.receive('ingestion');
      await bus.release('ingestion', m.receiptHandle, 0, `boom ${i}`);
    }
    await bus.close();
    const lines = await receiptLines(dir, 'ingestion');
    expect(lines.map((l) => [l.c, l.e])).toEqual([
      [1, undefined],
      [1, 'boom 1'],
      [2, 'boom 1'],
      [2, 'boom 2'],
    ]);
    const snapshot = `${JSON.stringify(lines.at(-1))}\n`;
    const steps: Record<string, (image: string) => Promise<void>> = {
      'not started': async () => undefined,
      // Written to tmp/ and fsync'ed, not yet renamed over the log: open deletes it, the old log stands.
      'snapshot written, not renamed': (image) => writeFile(join(image, 'tmp', '999999999-snapshot.tmp'), snapshot),
      // Renamed (whether or not the directory fsync made it durable, the log is one version or the other).
      'snapshot renamed over the log': (image) => writeFile(join(image, 'receipts', 'ingestion.log'), snapshot),
    };
    for (const [step, crashAt] of Object.entries(steps)) {
      const image = await crashImage();
      await crashAt(image);
      for (let life = 1; life <= 2; life++) {
        const reopened = await LocalEventBus.open({ dir: image, rules: LANDED_ONLY, maxReceiveCount: 2 });
        try {
          expect(await readdir(join(image, 'tmp')), step).toEqual([]);
          expect(reopened.stats('ingestion'), `${step}, life ${life}`).toEqual({ visible: 1, inFlight: 0, deadLetters: 0 });
          expect(await readFile(join(image, 'receipts', 'ingestion.log'), 'utf8'), `${step}, life ${life}`).toBe(snapshot);
        } finally {
          await reopened.close();
        }
      }
      const reopened = await openBus({ dir: image, rules: LANDED_ONLY, maxReceiveCount: 2 });
      expect(await reopened.receive('ingestion'), step).toEqual([]);
      expect(reopened.listDeadLetters('ingestion'), step).toMatchObject([{ receiveCount: 2, reason: 'maxReceiveCount 2 exceeded; last error: boom 2' }]);
    }
  });

  it('compacts the log as it grows, with concurrent receives and releases, and keeps every count', async () => {
    const bus = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 60_000, maxReceiveCount: 1_000, receiptLogCompactionBytes: 2_000 });
    await bus.putEvents([aDatasetLanded({}, 'a'), aDatasetLanded({}, 'b'), aDatasetLanded({}, 'c')]);
    const log = join(dir, 'receipts', 'ingestion.log');
    let largest = 0;
    let appended = 0;
    for (let round = 1; round <= 100; round++) {
      // Three consumers at once: their appends share fsyncs and some of them wait for a compaction.
      const batches = await Promise.all([1, 2, 3].map(() => bus.receive('ingestion', 1)));
      const got = batches.flat();
      expect(got.map((m) => m.receiveCount)).toEqual([round, round, round]);
      await Promise.all(got.map((m) => bus.release('ingestion', m.receiptHandle, 0, `round ${round}`)));
      appended += 6;
      largest = Math.max(largest, (await stat(log)).size);
    }
    // About 80 bytes a line: 600 lines appended, never more than the threshold plus one batch kept.
    expect(appended * 80).toBeGreaterThan(20 * 2_000);
    expect(largest).toBeLessThan(2_000 + 6 * 100);
    await bus.close();

    const reopened = await openBus({ rules: LANDED_ONLY, visibilityTimeoutMs: 60_000, maxReceiveCount: 1_000 });
    const again = await reopened.receive('ingestion', 3);
    expect(again.map((m) => m.receiveCount)).toEqual([101, 101, 101]);
    expect(await reopened.release('ingestion', again[0].receiptHandle, 0)).toBe(true);
  });
});

/** A Detail object nested `depth` levels deep: `{"a":{"a":...{}}}`. */
function nestedDetail(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe('LocalEventBus accepts only what it can load again', () => {
  it('refuses a Time outside RFC 3339 years (0000-9999) per entry, naming Time, and the bus still restarts', async () => {
    let bus = await openBus({ rules: LANDED_ONLY });
    const result = await bus.putEvents([
      aDatasetLanded({ Time: new Date(253402300800 * 1000) }), // 10000-01-01: the value
      aDatasetLanded({ Time: new Date(Date.parse('0000-01-01T00:00:00Z') - 1000) }), // year -1
      aDatasetLanded({ Time: new Date(8.64e15) }), // the largest Date
      aDatasetLanded({ Time: new Date('9999-12-31T23:59:59.999Z') }, 'last-second'),
      aDatasetLanded({ Time: new Date('0000-01-01T00:00:00Z') }, 'first-second'),
    ]);
    expect(result.FailedEntryCount).toBe(3);
    for (const entry of result.Entries.slice(0, 3)) {
      expect(entry).toMatchObject({ ErrorCode: 'InvalidArgument', ErrorMessage: expect.stringContaining('Parameter Time is not valid') });
    }
    await bus.close();
    open.splice(0);
    bus = await openBus({ rules: LANDED_ONLY, warn: () => expect.unreachable('nothing to quarantine') });
    const times = (await bus.receive('ingestion', 10)).map((m) => m.event.time).sort();
    expect(times).toEqual(['0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z']);
    for (const m of await bus.receive('ingestion', 10)) expect(eventBridgeEnvelopeSchema.safeParse(m.event).success).toBe(true);
  });

  it(`answers a Detail nested deeper than ${MAX_DETAIL_DEPTH} levels (40,000 too) with MalformedDetail, and takes ${MAX_DETAIL_DEPTH}`, async () => {
    const bus = await openBus({ rules: { ingestion: [{ name: 'all', description: 'every event', eventPattern: { source: [{ prefix: '' }] } }] } });
    const result = await bus.putEvents([
      aDatasetLanded({ Detail: nestedDetail(40_000) }),
      aDatasetLanded({ Detail: nestedDetail(MAX_DETAIL_DEPTH + 1) }),
      aDatasetLanded({ Detail: nestedDetail(MAX_DETAIL_DEPTH) }),
    ]);
    expect(result.Entries[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: expect.stringContaining(`deeper than ${MAX_DETAIL_DEPTH} levels`) });
    expect(result.Entries[1]).toMatchObject({ ErrorCode: 'MalformedDetail' });
    expect(result.Entries[2]).toEqual({ EventId: expect.any(String) });
    const [m] = await bus.receive('ingestion');
    expect(JSON.stringify(m.event.detail)).toBe(nestedDetail(MAX_DETAIL_DEPTH));
  });

  it('refuses at sendMessage and putDeadLetter what it could not load (InvalidEventError, nothing written)', async () => {
    const bus = await openBus({ rules: LANDED_ONLY });
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': DatasetLanded.detailType,
      source: 'oms.upstream',
      account: '000000000000',
      time: '2024-05-01T00:00:00Z',
      region: 'local',
      resources: [],
      detail: {},
    };
    await expect(bus.sendMessage('ingestion', { ...event, time: '+010000-01-01T00:00:00Z' })).rejects.toBeInstanceOf(InvalidEventError);
    await expect(bus.sendMessage('ingestion', { ...event, detail: JSON.parse(nestedDetail(40_000)) })).rejects.toThrow(
      `deeper than ${MAX_DETAIL_DEPTH} levels`,
    );
    await expect(bus.putDeadLetter('ingestion', { ...event, id: '' }, 'x')).rejects.toBeInstanceOf(InvalidEventError);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    await expect(bus.sendMessage('ingestion', event)).resolves.toEqual(expect.any(String));
  });
});

describe('LocalEventBus quarantine', () => {
  it('moves a message file that does not load (queue or DLQ) to quarantine with its reason, warns, and delivers the rest', async () => {
    let bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded({}, 'good-1'), aDatasetLanded({}, 'good-2')]);
    const [toDead] = await bus.receive('ingestion');
    await bus.deadLetter('ingestion', toDead.receiptHandle, 'handler failed');
    // Both were published in one call: which one was received first is not specified.
    const deadDataset = (toDead.event.detail as { dataset: string }).dataset;
    const liveDataset = deadDataset === 'good-1' ? 'good-2' : 'good-1';
    await bus.close();
    open.splice(0);
    const queueDir = join(dir, 'queues', 'ingestion');
    const dlqDir = join(dir, 'queues', 'ingestion-dlq');
    // As the year-10000 event was stored, and a file cut short.
    const [good] = await readdir(queueDir);
    const stored = JSON.parse(await readFile(join(queueDir, good), 'utf8'));
    await writeFile(join(queueDir, '0000000000001-bad-time.json'), JSON.stringify({ ...stored, event: { ...stored.event, time: '+010000-01-01T00:00:00Z' } }));
    await writeFile(join(dlqDir, '0000000000002-torn.json'), '{"format":1,"messageId":');

    const warnings: string[] = [];
    bus = await openBus({ rules: LANDED_ONLY, warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('2 message file(s) could not be loaded');
    expect(warnings[0]).toContain(join(dir, 'quarantine'));
    const quarantined = await bus.quarantined();
    expect(quarantined).toEqual([
      { queue: 'ingestion', path: join(dir, 'quarantine', 'ingestion', '0000000000001-bad-time.json'), reason: expect.stringContaining('time') },
      { queue: 'ingestion-dlq', path: join(dir, 'quarantine', 'ingestion-dlq', '0000000000002-torn.json'), reason: expect.stringContaining('JSON') },
    ]);
    expect(await readFile(join(dir, 'quarantine', 'ingestion', '0000000000001-bad-time.json.reason'), 'utf8')).toContain('not a valid bus message');
    expect(await readdir(queueDir)).toEqual([good]);
    expect(await readdir(dlqDir)).toHaveLength(1);
    const [m] = await bus.receive('ingestion');
    expect(m.event.detail).toMatchObject({ dataset: liveDataset });
    expect(bus.listDeadLetters('ingestion').map((d) => d.event.detail)).toMatchObject([{ dataset: deadDataset }]);

    // Later starts keep saying so while the quarantine holds files, and list them.
    await bus.close();
    open.splice(0);
    warnings.length = 0;
    bus = await openBus({ rules: LANDED_ONLY, warn: (w) => warnings.push(w) });
    expect(warnings[0]).toContain('0 message file(s) could not be loaded');
    expect(warnings[0]).toContain('2 file(s) there in all');
    expect(await bus.quarantined()).toHaveLength(2);
  });
});

describe('LocalEventBus purge', () => {
  it('deletes every message of a queue, in flight or not, durably, and keeps its dead letters', async () => {
    let bus = await openBus({ rules: LANDED_ONLY });
    await bus.putEvents([aDatasetLanded({}, 'a'), aDatasetLanded({}, 'b'), aDatasetLanded({}, 'c')]);
    const [first] = await bus.receive('ingestion');
    await bus.deadLetter('ingestion', first.receiptHandle, 'bad');
    await bus.receive('ingestion');
    expect(await bus.purge('ingestion')).toBe(2);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });
    await bus.close();
    open.splice(0);
    bus = await openBus({ rules: LANDED_ONLY });
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });
  });
});
