import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetRejected, NightshiftSource } from '@nightshift/contracts';
import { LocalEventBus } from '@nightshift/events-local';
import { CONSOLE_QUEUE, CONSOLE_RULES, purgeConsoleQueue } from './console.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nightshift-console-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function aRejection(i: number) {
  return {
    Source: NightshiftSource.ingestion,
    DetailType: DatasetRejected.detailType,
    Detail: JSON.stringify({ metadata: { eventId: `e-${i}`, correlationId: `c-${i}`, occurredAt: '2024-05-02T01:00:00.000Z' }, data: {} }),
  };
}

describe('purgeConsoleQueue', () => {
  it("drops what an earlier life left in the console's queue, so it is not reloaded at every start", async () => {
    const rules = { [CONSOLE_QUEUE]: CONSOLE_RULES };
    let bus = await LocalEventBus.open({ dir, rules });
    // Outcomes published while the host served with nobody following them.
    for (let i = 0; i < 5; i++) expect((await bus.putEvents([aRejection(i)])).FailedEntryCount).toBe(0);
    expect(bus.stats(CONSOLE_QUEUE).visible).toBe(5);
    await bus.close();

    bus = await LocalEventBus.open({ dir, rules });
    try {
      expect(await purgeConsoleQueue(bus)).toBe(5);
      expect(bus.stats(CONSOLE_QUEUE)).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
      expect(await readdir(join(dir, 'queues', CONSOLE_QUEUE))).toEqual([]);
      // What this life publishes is shown as before.
      await bus.putEvents([aRejection(9)]);
      expect(await bus.receive(CONSOLE_QUEUE, 10)).toHaveLength(1);
    } finally {
      await bus.close();
    }
  });
});
