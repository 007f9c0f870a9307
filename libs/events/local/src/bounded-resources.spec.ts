import { mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalEventBus, type LocalEventBusOptions } from './local-event-bus.js';
import type { ReceivedMessage } from './messages.js';
import { aDatasetLanded, eventually, LANDED_ONLY, tempDir } from './testing/fixtures.js';

const MINUTE = 60_000;
const T0 = Date.parse('2024-05-02T00:00:00.000Z');

let dir: string;
let cleanup: () => Promise<void>;
/** The bus's clock: tests move it, the bus never sleeps on it. */
let now: number;
let warnings: string[];
const open: LocalEventBus[] = [];

async function openBus(options: Partial<LocalEventBusOptions> = {}): Promise<LocalEventBus> {
  const bus = await LocalEventBus.open({ dir, rules: LANDED_ONLY, now: () => new Date(now), warn: (m) => warnings.push(m), ...options });
  open.push(bus);
  return bus;
}

async function reopen(options: Partial<LocalEventBusOptions> = {}): Promise<LocalEventBus> {
  for (const bus of open.splice(0)) await bus.close();
  return openBus(options);
}

const queueDir = () => join(dir, 'queues', 'ingestion');
const dlqDir = () => join(dir, 'queues', 'ingestion-dlq');
const datasetOf = (m: { event: { detail: unknown } }) => (m.event.detail as { dataset: string }).dataset;

/** The message files of a directory, each with the dataset its event names. */
async function filesByDataset(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const file of await readdir(path)) {
    out.set(JSON.parse(await readFile(join(path, file), 'utf8')).event.detail.dataset, file);
  }
  return out;
}

/** Rewrites the event of a message file in place (as an editor would): still a valid message. */
async function rewriteDataset(path: string, dataset: string): Promise<void> {
  const record = JSON.parse(await readFile(path, 'utf8'));
  record.event.detail.dataset = dataset;
  await writeFile(path, JSON.stringify(record));
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  now = T0;
  warnings = [];
});

afterEach(async () => {
  vi.useRealTimers();
  for (const bus of open.splice(0)) await bus.close();
  await cleanup();
});

describe('LocalEventBus keeps no event in memory', () => {
  it('reads the event from its file at each delivery, also of messages loaded at open', async () => {
    let bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'published')]);
    const [file] = await readdir(queueDir());
    await rewriteDataset(join(queueDir(), file), 'edited after publish');
    const [first] = await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
    expect(datasetOf(first)).toBe('edited after publish');

    bus = await reopen();
    await rewriteDataset(join(queueDir(), file), 'edited after open');
    const [second] = await bus.receive('ingestion');
    expect(datasetOf(second)).toBe('edited after open');
    expect(second.receiveCount).toBe(2);
  });

  it('reads dead letters from their files: the move to the DLQ, the list, a DLQ receive and a redrive', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'published')]);
    const [m] = await bus.receive('ingestion');
    const [file] = await readdir(queueDir());
    await rewriteDataset(join(queueDir(), file), 'edited in flight');
    expect(await bus.deadLetter('ingestion', m.receiptHandle, 'fatal')).toBe(true);
    expect(bus.listDeadLetters('ingestion').map((d) => d.event.detail)).toMatchObject([{ dataset: 'edited in flight' }]);

    await rewriteDataset(join(dlqDir(), file), 'edited in the DLQ');
    expect(bus.listDeadLetters('ingestion')).toMatchObject([{ event: { detail: { dataset: 'edited in the DLQ' } }, receiveCount: 1, reason: 'fatal' }]);
    const [dead] = await bus.receiveDeadLetters('ingestion', 1, { visibilityTimeoutMs: 0 });
    expect(datasetOf(dead)).toBe('edited in the DLQ');

    await rewriteDataset(join(dlqDir(), file), 'edited before redrive');
    expect(await bus.redriveDeadLetters('ingestion')).toBe(1);
    const [redriven] = await bus.receive('ingestion');
    expect(datasetOf(redriven)).toBe('edited before redrive');
  });

  it('accounts for what it holds from its index: counts and the bytes of the files on disk', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'a'), aDatasetLanded({}, 'b'), aDatasetLanded({}, 'c')]);
    const [m] = await bus.receive('ingestion');
    await bus.deadLetter('ingestion', m.receiptHandle, 'fatal');
    const bytes = async (path: string) => {
      let total = 0;
      for (const f of await readdir(path)) total += (await stat(join(path, f))).size;
      return total;
    };
    expect(bus.backlog('ingestion')).toEqual({
      messages: 2,
      messageBytes: await bytes(queueDir()),
      deadLetters: 1,
      deadLetterBytes: await bytes(dlqDir()),
      oldestEnqueuedAtMs: T0,
    });
    const reopened = await reopen();
    expect(reopened.backlog('ingestion')).toEqual(bus.backlog('ingestion'));
  });
});

describe('LocalEventBus message files that change after open', () => {
  it('skips a message whose file vanished, with a warning, and delivers the rest', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'kept'), aDatasetLanded({}, 'gone')]);
    await unlink(join(queueDir(), (await filesByDataset(queueDir())).get('gone')!));

    const received = await bus.receive('ingestion', 10);
    expect(received.map(datasetOf)).toEqual(['kept']);
    expect(warnings).toEqual([expect.stringMatching(/vanished after the bus opened.*dropped from ingestion$/)]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    expect(await bus.ack('ingestion', received[0].receiptHandle)).toBe(true);
    expect(await bus.receive('ingestion', 10)).toEqual([]);
  });

  it('skips a dead letter whose file vanished: in the list, a DLQ receive, and a redrive', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'a'), aDatasetLanded({}, 'b')]);
    for (const m of await bus.receive('ingestion', 2)) await bus.deadLetter('ingestion', m.receiptHandle, 'fatal');
    const files = await filesByDataset(dlqDir());
    await unlink(join(dlqDir(), files.get('a')!));

    expect(bus.listDeadLetters('ingestion').map((d) => d.event.detail)).toMatchObject([{ dataset: 'b' }]);
    expect(warnings).toEqual([expect.stringContaining('left out of the list')]);
    const dead = await bus.receiveDeadLetters('ingestion', 10);
    expect(dead.map(datasetOf)).toEqual(['b']);
    expect(warnings.at(-1)).toMatch(/vanished after the bus opened.*dropped from ingestion-dlq$/);
    expect(bus.deadLetterStats('ingestion')).toEqual({ visible: 0, inFlight: 1 });

    await unlink(join(dlqDir(), files.get('b')!));
    expect(await bus.redriveDeadLetters('ingestion')).toBe(0);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('quarantines a message whose file no longer loads or cannot be read, and does not deliver it', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'torn'), aDatasetLanded({}, 'unreadable'), aDatasetLanded({}, 'fine')]);
    const files = await filesByDataset(queueDir());
    await writeFile(join(queueDir(), files.get('torn')!), '{"format":1,"messageId":');
    // A read error that even root gets: the name is now a directory.
    await unlink(join(queueDir(), files.get('unreadable')!));
    await mkdir(join(queueDir(), files.get('unreadable')!));

    const received = await bus.receive('ingestion', 10);
    expect(received.map(datasetOf)).toEqual(['fine']);
    expect(await bus.quarantined()).toEqual([
      { queue: 'ingestion', path: join(dir, 'quarantine', 'ingestion', files.get('torn')!), reason: expect.stringContaining('not a valid bus message') },
      { queue: 'ingestion', path: join(dir, 'quarantine', 'ingestion', files.get('unreadable')!), reason: expect.stringContaining('could not be read: EISDIR') },
    ].sort((a, b) => a.path.localeCompare(b.path)));
    expect(warnings).toHaveLength(2);
    for (const w of warnings) expect(w).toContain(`was not delivered and was moved to ${join(dir, 'quarantine', 'ingestion')}`);
    expect(await readdir(queueDir())).toEqual([files.get('fine')]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
  });

  it('drops a message whose file vanished when the receive that meets it would dead-letter it', async () => {
    const bus = await openBus({ maxReceiveCount: 1 });
    await bus.putEvents([aDatasetLanded({}, 'gone')]);
    const [m] = await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
    await unlink(join(queueDir(), (await readdir(queueDir()))[0]));
    expect(await bus.receive('ingestion')).toEqual([]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    expect(await bus.ack('ingestion', m.receiptHandle)).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('vanished')]);
  });
});

describe('LocalEventBus retention', () => {
  const retention = { messageRetentionMs: 10 * MINUTE, deadLetterRetentionMs: 30 * MINUTE };

  it('deletes at open what is past retention: messages by enqueue time, dead letters by their source enqueue time', async () => {
    let bus = await openBus(retention);
    await bus.putEvents([aDatasetLanded({}, 'old'), aDatasetLanded({}, 'dead-early')]);
    now = T0 + 5 * MINUTE;
    await bus.putEvents([aDatasetLanded({}, 'young')]);
    const received = await bus.receive('ingestion', 10, { visibilityTimeoutMs: 0 });
    now = T0 + 8 * MINUTE;
    // Dead-lettered at minute 8, but it entered the queue at minute 0: retention counts from there.
    await bus.deadLetter('ingestion', received.find((m) => datasetOf(m) === 'dead-early')!.receiptHandle, 'fatal');
    await bus.putDeadLetter('ingestion', received.find((m) => datasetOf(m) === 'young')!.event, 'sent to the DLQ at minute 8');

    now = T0 + 12 * MINUTE;
    bus = await reopen(retention);
    expect([...(await filesByDataset(queueDir())).keys()]).toEqual(['young']);
    expect(bus.stats('ingestion')).toEqual({ visible: 1, inFlight: 0, deadLetters: 2 });
    // The log keeps delivery state of what is left only.
    const log = await readFile(join(dir, 'receipts', 'ingestion.log'), 'utf8');
    expect(log.trim().split('\n').map((l) => JSON.parse(l).m)).toEqual([received.find((m) => datasetOf(m) === 'young')!.messageId]);

    now = T0 + 31 * MINUTE;
    bus = await reopen(retention);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });
    expect(bus.listDeadLetters('ingestion')).toEqual([expect.objectContaining({ reason: 'sent to the DLQ at minute 8' })]);
    expect(await readdir(queueDir())).toEqual([]);
    expect(await readdir(dlqDir())).toHaveLength(1);
    expect(await bus.quarantined()).toEqual([]);
  });

  it('deletes a message past retention when a receive meets it, instead of delivering or dead-lettering it', async () => {
    const bus = await openBus({ ...retention, maxReceiveCount: 1 });
    await bus.putEvents([aDatasetLanded({}, 'visible'), aDatasetLanded({}, 'exhausted')]);
    const [first] = await bus.receive('ingestion', 1, { visibilityTimeoutMs: 0 });
    now = T0 + 10 * MINUTE + 1;
    expect(await bus.receive('ingestion', 10)).toEqual([]);
    expect(await readdir(queueDir())).toEqual([]);
    expect(await readdir(dlqDir())).toEqual([]);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
    expect(await bus.ack('ingestion', first.receiptHandle)).toBe(false);
  });

  it('keeps a message for exactly its retention period', async () => {
    const bus = await openBus(retention);
    await bus.putEvents([aDatasetLanded()]);
    now = T0 + 10 * MINUTE;
    expect(await bus.expireMessages()).toBe(0);
    expect(await bus.receive('ingestion')).toHaveLength(1);
  });

  it('deletes messages in flight and dead letters past retention with expireMessages, durably', async () => {
    let bus = await openBus(retention);
    await bus.putEvents([aDatasetLanded({}, 'in flight'), aDatasetLanded({}, 'dead')]);
    const received = await bus.receive('ingestion', 2);
    const inFlight = received.find((m) => datasetOf(m) === 'in flight')!;
    await bus.deadLetter('ingestion', received.find((m) => datasetOf(m) === 'dead')!.receiptHandle, 'fatal');
    const [dead] = await bus.receiveDeadLetters('ingestion');

    now = T0 + 11 * MINUTE;
    expect(await bus.expireMessages()).toBe(1);
    expect(await bus.ack('ingestion', inFlight.receiptHandle)).toBe(false);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 1 });

    now = T0 + 31 * MINUTE;
    expect(await bus.expireMessages()).toBe(1);
    expect(await bus.deleteDeadLetter('ingestion', dead.receiptHandle)).toBe(false);
    expect(bus.backlog('ingestion')).toEqual({ messages: 0, messageBytes: 0, deadLetters: 0, deadLetterBytes: 0, oldestEnqueuedAtMs: undefined });
    expect([...(await readdir(queueDir())), ...(await readdir(dlqDir()))]).toEqual([]);
    bus = await reopen(retention);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it('sweeps every minute on a timer that does not keep the process alive and stops at close', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const bus = await openBus(retention);
    await bus.putEvents([aDatasetLanded()]);
    await bus.receive('ingestion');
    now = T0 + 11 * MINUTE;
    vi.advanceTimersByTime(MINUTE - 1);
    expect(bus.backlog('ingestion').messages).toBe(1);
    vi.advanceTimersByTime(1);
    await eventually(() => (bus.backlog('ingestion').messages === 0 ? true : undefined));
    expect(await readdir(queueDir())).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    await bus.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports a failed sweep and retries at the next one', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const bus = await openBus(retention);
    await bus.putEvents([aDatasetLanded()]);
    // An unlink that fails even for root: the message file's name is now a non-empty directory.
    const [file] = await readdir(queueDir());
    await unlink(join(queueDir(), file));
    await mkdir(join(queueDir(), file));
    await writeFile(join(queueDir(), file, 'x'), '');
    now = T0 + 11 * MINUTE;
    vi.advanceTimersByTime(MINUTE);
    await eventually(() => (warnings.some((w) => w.includes('the retention sweep failed')) ? true : undefined));
    expect(bus.stats('ingestion').visible).toBe(1);

    await rm(join(queueDir(), file), { recursive: true });
    vi.advanceTimersByTime(MINUTE);
    await eventually(() => (bus.stats('ingestion').visible === 0 ? true : undefined));
    expect(warnings).toHaveLength(1);
  });

  it('refuses retention periods that are not positive numbers, naming the option', async () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(LocalEventBus.open({ dir, rules: LANDED_ONLY, messageRetentionMs: bad })).rejects.toThrow(
        new RangeError(`messageRetentionMs must be a positive number, got ${bad}`),
      );
      await expect(LocalEventBus.open({ dir, rules: LANDED_ONLY, deadLetterRetentionMs: bad })).rejects.toThrow(/^deadLetterRetentionMs must be a positive number/);
    }
    // Nothing was created or locked: a valid open works.
    expect(await readdir(dir)).toEqual([]);
    await openBus({ messageRetentionMs: 1, deadLetterRetentionMs: 1 });
  });

  it('defaults to SQS: 4 days for messages, 14 days for dead letters', async () => {
    let bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'message'), aDatasetLanded({}, 'dead')]);
    const [dead] = (await bus.receive('ingestion', 2)).filter((m) => datasetOf(m) === 'dead');
    await bus.deadLetter('ingestion', dead.receiptHandle, 'fatal');
    const DAY = 24 * 60 * MINUTE;
    now = T0 + 4 * DAY;
    bus = await reopen();
    expect(bus.stats('ingestion')).toEqual({ visible: 1, inFlight: 0, deadLetters: 1 });
    now = T0 + 4 * DAY + 1;
    expect(await bus.expireMessages()).toBe(1);
    now = T0 + 14 * DAY + 1;
    bus = await reopen();
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });
});

describe('LocalEventBus receive with many messages in flight', () => {
  it('hands out the visible messages oldest first, however many are in flight', async () => {
    const bus = await openBus();
    for (let batch = 0; batch < 50; batch++) {
      await bus.putEvents(Array.from({ length: 10 }, (_, i) => aDatasetLanded({}, `m${batch * 10 + i}`)));
    }
    const all: ReceivedMessage[] = [];
    for (let got = await bus.receive('ingestion', 10); got.length > 0; got = await bus.receive('ingestion', 10)) all.push(...got);
    expect(all).toHaveLength(500);
    expect(bus.stats('ingestion')).toEqual({ visible: 0, inFlight: 500, deadLetters: 0 });

    // Released newest first, they come back in arrival order; a new message comes after them.
    for (const i of [400, 250, 3]) expect(await bus.release('ingestion', all[i].receiptHandle, 0)).toBe(true);
    await bus.putEvents([aDatasetLanded({}, 'new')]);
    const again = await bus.receive('ingestion', 10);
    expect(again.map((m) => m.messageId)).toEqual([...[3, 250, 400].map((i) => all[i].messageId), expect.any(String)]);
    expect(datasetOf(again[3])).toBe('new');

    // Once the visibility timeout is over, every message but the one kept invisible longer is visible again, oldest first.
    await bus.release('ingestion', all[5].receiptHandle, 60_000);
    now += 30_000;
    expect((await bus.receive('ingestion', 10)).map((m) => m.messageId)).toEqual(all.filter((_, i) => i !== 5).slice(0, 10).map((m) => m.messageId));
  });

  it('hands out each message once per receive, even with a visibility timeout of 0 (queue and DLQ)', async () => {
    const bus = await openBus();
    await bus.putEvents([aDatasetLanded({}, 'a'), aDatasetLanded({}, 'b'), aDatasetLanded({}, 'c')]);
    const received = await bus.receive('ingestion', 10, { visibilityTimeoutMs: 0 });
    expect(received.map(datasetOf).sort()).toEqual(['a', 'b', 'c']);
    expect(received.map((m) => m.receiveCount)).toEqual([1, 1, 1]);
    for (const m of received) await bus.deadLetter('ingestion', m.receiptHandle, 'fatal');
    const dead = await bus.receiveDeadLetters('ingestion', 10, { visibilityTimeoutMs: 0 });
    expect(dead.map(datasetOf).sort()).toEqual(['a', 'b', 'c']);
    expect(dead.map((m) => m.receiveCount)).toEqual([2, 2, 2]);
    expect((await bus.receiveDeadLetters('ingestion', 10)).map((m) => m.receiveCount)).toEqual([3, 3, 3]);
  });
});
