import { MessageDeadLettered, SERVICE_RULES } from '@nightshift/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalEventBus } from './local-event-bus.js';
import type { ReceivedMessage } from './messages.js';
import { aRunSucceeded, tempDir } from './testing/fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let bus: LocalEventBus | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await bus?.close();
  bus = undefined;
  await cleanup();
});

/** The bus with the services' rules, announcing dead letters; one delivery before a message is dead-lettered. */
async function openBus(announceDeadLetters = true): Promise<LocalEventBus> {
  bus = await LocalEventBus.open({ dir, rules: SERVICE_RULES, maxReceiveCount: 1, announceDeadLetters });
  return bus;
}

/**
 * Receives from reporting's queue until an announcement arrives (the bus publishes it just after the
 * move), acknowledging the other messages there (its own copies of the test's events).
 */
async function nextAnnouncement(b: LocalEventBus): Promise<ReceivedMessage> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const m of await b.receive('reporting', 10, { waitTimeMs: 1_000 })) {
      if (m.event['detail-type'] === MessageDeadLettered.detailType) return m;
      await b.ack('reporting', m.receiptHandle);
    }
  }
  throw new Error('no Message Dead-Lettered arrived on the reporting queue within 30 s');
}

describe('dead-letter announcements (Message Dead-Lettered)', () => {
  it("announces a message that enters a DLQ on reporting's queue, with the dead event's ids and the reason", async () => {
    const b = await openBus();
    await b.putEvents([aRunSucceeded('evt-ok-1')]);
    const [message] = await b.receive('planner');
    expect(await b.deadLetter('planner', message!.receiptHandle, 'handler refused it')).toBe(true);

    const announcement = await nextAnnouncement(b);
    expect(announcement!.event.source).toBe('nightshift.bus');
    const detail = MessageDeadLettered.detail.parse(announcement!.event.detail);
    expect(detail.data).toMatchObject({
      queue: 'planner',
      deadLetterQueue: 'planner-dlq',
      messageId: message!.messageId,
      eventId: message!.event.id,
      eventDetailType: 'Run Succeeded',
      eventSource: 'nightshift.planner',
      reason: 'handler refused it',
      receiveCount: 1,
    });
    // The dead event's flow: the announcement correlates with it.
    expect(detail.metadata.correlationId).toBe((message!.event.detail as { metadata: { correlationId: string } }).metadata.correlationId);
  });

  it('announces a message whose receives ran out too', async () => {
    const b = await openBus();
    await b.putEvents([aRunSucceeded('evt-ok-2')]);
    const [first] = await b.receive('planner', 1, { visibilityTimeoutMs: 0 });
    // The next receive finds it delivered maxReceiveCount times: moved to the DLQ instead.
    expect(await b.receive('planner')).toEqual([]);
    const announcement = await nextAnnouncement(b);
    expect(MessageDeadLettered.detail.parse(announcement.event.detail).data).toMatchObject({ messageId: first!.messageId, receiveCount: 1 });
  });

  it('never announces the dead-lettering of an announcement (no loop)', async () => {
    const b = await openBus();
    await b.putEvents([aRunSucceeded('evt-ok-3')]);
    const [message] = await b.receive('planner');
    await b.deadLetter('planner', message!.receiptHandle, 'refused');
    const announcement = await nextAnnouncement(b);
    await b.deadLetter('reporting', announcement.receiptHandle, 'the notifier failed');
    // Closing waits for every write under way, announcements included: whatever was published is on disk.
    await b.close();
    const reopened = await openBus();
    expect(reopened.stats('reporting')).toMatchObject({ visible: 0, inFlight: 0, deadLetters: 1 });
    expect(reopened.listDeadLetters('reporting').map((d) => d.event['detail-type'])).toEqual([MessageDeadLettered.detailType]);
  });

  it('announces nothing unless asked to', async () => {
    const b = await openBus(false);
    await b.putEvents([aRunSucceeded('evt-ok-4')]);
    const [message] = await b.receive('planner');
    await b.deadLetter('planner', message!.receiptHandle, 'refused');
    const reportingCopy = await b.receive('reporting');
    await b.ack('reporting', reportingCopy[0]!.receiptHandle);
    await b.close();
    const reopened = await openBus(false);
    expect(reopened.stats('reporting')).toMatchObject({ visible: 0, inFlight: 0 });
    expect(reopened.stats('planner')).toMatchObject({ deadLetters: 1 });
  });
});
