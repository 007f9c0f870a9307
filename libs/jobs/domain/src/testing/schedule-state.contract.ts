import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ScheduleFireRecord, ScheduleState } from '../ports/schedule-state.port.js';

/*
 * Conformance suite for the ScheduleState port, run by every adapter's spec with a factory that
 * returns an empty store. Test-only: not exported from the package index; adapter specs import it
 * by relative path. Expiry of fire records is the adapter's (its spec reads its TTL attribute).
 */

/** What a contract run needs from an adapter: an empty store and a way to release it. */
export interface ScheduleStateUnderTest {
  state: ScheduleState;
  close(): Promise<void>;
}

const T0 = new Date('2026-12-24T07:00:00.000Z');
const at = (minutes: number): string => new Date(T0.getTime() + minutes * 60_000).toISOString();

/** A fire record of the `nightly` schedule of `nightly-tca`, `minutes` after T0. */
export function aFire(minutes: number, overrides: Partial<ScheduleFireRecord> = {}): ScheduleFireRecord {
  return {
    pipeline: 'nightly-tca',
    schedule: 'nightly',
    scheduledTime: at(minutes),
    outcome: 'RUN_REQUESTED',
    runId: `run-${minutes}`,
    businessDate: '2026-12-23',
    at: at(minutes + 1),
    ...overrides,
  };
}

/** Registers the ScheduleState conformance tests under `describe(name)`. */
export function describeScheduleStateContract(name: string, make: () => Promise<ScheduleStateUnderTest>): void {
  describe(`ScheduleState contract: ${name}`, () => {
    let subject: ScheduleStateUnderTest;
    let state: ScheduleState;
    beforeEach(async () => {
      subject = await make();
      state = subject.state;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('has no cursor for a schedule no scheduler started, and creates one once', async () => {
      expect(await state.getCursor('nightly-tca', 'nightly')).toBeUndefined();
      const created = await state.createCursor('nightly-tca', 'nightly', T0);
      expect(created).toEqual({ pipeline: 'nightly-tca', schedule: 'nightly', createdAt: T0.toISOString(), version: 1 });
      expect(await state.createCursor('nightly-tca', 'nightly', new Date(T0.getTime() + 60_000))).toBeUndefined();
      expect(await state.getCursor('nightly-tca', 'nightly')).toEqual(created);
    });

    it('lets exactly one of racing creators create the cursor', async () => {
      const results = await Promise.all([0, 1, 2, 3].map((i) => state.createCursor('nightly-tca', 'nightly', new Date(T0.getTime() + i))));
      expect(results.filter((c) => c !== undefined)).toHaveLength(1);
    });

    it('moves a cursor from the version read, and refuses a writer that read an older one', async () => {
      const created = (await state.createCursor('nightly-tca', 'nightly', T0))!;
      const claimed = await state.moveCursor(created, { lastFireTime: at(60), pending: [at(60)], claimedAt: at(61) });
      expect(claimed).toEqual({ ...created, lastFireTime: at(60), pending: [at(60)], claimedAt: at(61), version: 2 });
      // A second writer that read version 1 changes nothing.
      expect(await state.moveCursor(created, { lastFireTime: at(120), pending: [at(120)], claimedAt: at(121) })).toBeUndefined();
      expect(await state.getCursor('nightly-tca', 'nightly')).toEqual(claimed);
      // Clearing the claim removes pending and claimedAt, and keeps lastFireTime as given.
      const cleared = await state.moveCursor(claimed!, { lastFireTime: at(60) });
      expect(cleared).toEqual({ ...created, lastFireTime: at(60), version: 3 });
      expect(await state.getCursor('nightly-tca', 'nightly')).toEqual(cleared);
    });

    it('lets exactly one of two writers that read the same cursor win, whatever they write', async () => {
      const created = (await state.createCursor('nightly-tca', 'nightly', T0))!;
      const results = await Promise.all([
        state.moveCursor(created, { lastFireTime: at(60), pending: [at(60)], claimedAt: at(60) }),
        state.moveCursor(created, { lastFireTime: at(60), pending: [at(60)], claimedAt: at(60) }),
        state.moveCursor(created, { lastFireTime: at(120), pending: [at(60), at(120)], claimedAt: at(120) }),
      ]);
      const winners = results.filter((c) => c !== undefined);
      expect(winners).toHaveLength(1);
      expect(await state.getCursor('nightly-tca', 'nightly')).toEqual(winners[0]);
    });

    it('refuses to move a cursor that does not exist', async () => {
      expect(await state.moveCursor({ pipeline: 'nightly-tca', schedule: 'nightly', createdAt: T0.toISOString(), version: 1 }, { lastFireTime: at(1) })).toBeUndefined();
      expect(await state.getCursor('nightly-tca', 'nightly')).toBeUndefined();
    });

    it('keeps cursors of schedules and pipelines apart', async () => {
      await state.createCursor('nightly-tca', 'nightly', T0);
      expect(await state.getCursor('nightly-tca', 'morning')).toBeUndefined();
      expect(await state.getCursor('desk-risk', 'nightly')).toBeUndefined();
      expect(await state.createCursor('nightly-tca', 'morning', T0)).toBeDefined();
    });

    it('records a fire once, keeping the first record, and lists a schedule\'s fires newest first', async () => {
      expect(await state.recordFire(aFire(0))).toBe(true);
      expect(await state.recordFire(aFire(0, { outcome: 'SKIPPED', runId: undefined, reason: 'again' }))).toBe(false);
      expect(await state.recordFire(aFire(1440, { outcome: 'SKIPPED', runId: undefined, businessDate: undefined, reason: '2026-12-25 is a holiday of XNYS (Christmas Day)' }))).toBe(true);
      expect(await state.recordFire(aFire(2880))).toBe(true);
      await state.recordFire(aFire(60, { schedule: 'morning' }));
      await state.recordFire(aFire(60, { pipeline: 'desk-risk' }));

      const fires = await state.listFires('nightly-tca', 'nightly', 10);
      expect(fires.map((f) => f.scheduledTime)).toEqual([at(2880), at(1440), at(0)]);
      expect(fires[2]).toEqual(aFire(0));
      const { runId: _runId, businessDate: _businessDate, ...skipped } = aFire(1440);
      expect(fires[1]).toEqual({ ...skipped, outcome: 'SKIPPED', reason: '2026-12-25 is a holiday of XNYS (Christmas Day)' });
      expect(await state.listFires('nightly-tca', 'nightly', 2)).toEqual(fires.slice(0, 2));
      expect(await state.listFires('nightly-tca', 'never-fired', 10)).toEqual([]);
    });

    it('records racing deliveries of one fire once', async () => {
      const results = await Promise.all([aFire(0), aFire(0, { at: at(2) }), aFire(0, { at: at(3) })].map((f) => state.recordFire(f)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await state.listFires('nightly-tca', 'nightly', 10)).toHaveLength(1);
    });
  });
}
