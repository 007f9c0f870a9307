import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backfillDates, finishBackfillIfDone, moveBackfillDate, newBackfill, type Backfill } from '../backfill/backfill.js';
import { BackfillOverlapError, InvalidPageTokenError, NotFoundError, StaleStateError } from '../errors.js';
import type { BackfillStore } from '../ports/backfill-store.port.js';

/*
 * Conformance suite for the BackfillStore port, run by every adapter's spec with a factory that
 * returns an empty store. Test-only: not exported from the package index; adapter specs import it
 * by relative path.
 */

/** What a contract run needs from an adapter: an empty store and a way to release it. */
export interface BackfillStoreUnderTest {
  store: BackfillStore;
  close(): Promise<void>;
}

const T0 = new Date('2026-03-02T08:00:00.000Z');

/** A backfill of the WEEKDAYS dates in [from, to], created `minutes` after T0. */
export function aBackfill(overrides: { backfillId?: string; tenant?: string; pipeline?: string; from?: string; to?: string; concurrency?: number; minutes?: number } = {}): Backfill {
  const { backfillId = 'bf-1', tenant = 'acme', pipeline = 'nightly-tca', from = '2026-01-05', to = '2026-01-09', concurrency = 2, minutes = 0 } = overrides;
  return newBackfill({ backfillId, tenant, pipeline, from, to, concurrency, requestedBy: 'ops', dates: backfillDates('WEEKDAYS', from, to), now: new Date(T0.getTime() + minutes * 60_000) });
}

/** `b` with every date ended as `status` and finished. */
function finished(b: Backfill, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): Backfill {
  const dates = b.dates.map((d, i) => moveBackfillDate(moveBackfillDate(d, { status: 'RUNNING', runId: `run-${i}` }), { status, runId: `run-${i}`, ...(status === 'FAILED' ? { reason: 'it broke' } : {}) }));
  return finishBackfillIfDone({ ...b, dates }, new Date(T0.getTime() + 3_600_000));
}

/** Registers the BackfillStore conformance tests under `describe(name)`. */
export function describeBackfillStoreContract(name: string, make: () => Promise<BackfillStoreUnderTest>): void {
  describe(`BackfillStore contract: ${name}`, () => {
    let subject: BackfillStoreUnderTest;
    let store: BackfillStore;
    beforeEach(async () => {
      subject = await make();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.close();
    });

    it('creates a backfill once: a replay of its id answers the stored one, unchanged', async () => {
      const b = aBackfill();
      expect(await store.create(b)).toEqual({ created: true, backfill: b });
      expect(await store.get(b.backfillId)).toEqual(b);
      const replay = await store.create({ ...b, createdAt: new Date(T0.getTime() + 60_000).toISOString(), concurrency: 5 });
      expect(replay).toEqual({ created: false, backfill: b });
      expect(await store.get('bf-never')).toBeUndefined();
    });

    it('refuses a second open backfill of the same tenant and pipeline over any of the same dates, naming the first', async () => {
      await store.create(aBackfill({ backfillId: 'bf-1', from: '2026-01-05', to: '2026-01-09' }));
      for (const [from, to] of [
        ['2026-01-09', '2026-01-16'],
        ['2026-01-01', '2026-01-05'],
        ['2026-01-06', '2026-01-07'],
        ['2026-01-01', '2026-01-30'],
      ] as const) {
        const refused = await store.create(aBackfill({ backfillId: 'bf-2', from, to, minutes: 1 })).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(BackfillOverlapError);
        expect(refused).toMatchObject({ retryable: false, existing: { backfillId: 'bf-1', from: '2026-01-05', to: '2026-01-09' } });
      }
      expect(await store.get('bf-2')).toBeUndefined();
      // Another range, another pipeline, another tenant: no overlap.
      await expect(store.create(aBackfill({ backfillId: 'bf-3', from: '2026-01-12', to: '2026-01-16', minutes: 1 }))).resolves.toMatchObject({ created: true });
      await expect(store.create(aBackfill({ backfillId: 'bf-4', pipeline: 'desk-risk', minutes: 1 }))).resolves.toMatchObject({ created: true });
      await expect(store.create(aBackfill({ backfillId: 'bf-5', tenant: 'globex', minutes: 1 }))).resolves.toMatchObject({ created: true });
    });

    it('frees the range once the backfill has finished', async () => {
      const first = aBackfill({ backfillId: 'bf-1' });
      await store.create(first);
      await store.update(0, finished(first));
      await expect(store.create(aBackfill({ backfillId: 'bf-2', minutes: 1 }))).resolves.toMatchObject({ created: true });
    });

    it('lets exactly one of concurrent overlapping creates win', async () => {
      const outcomes = await Promise.allSettled(['a', 'b', 'c', 'd'].map((id, i) => store.create(aBackfill({ backfillId: `bf-${id}`, from: '2026-01-05', to: `2026-01-0${6 + i}` }))));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(BackfillOverlapError);
    });

    it('answers every one of concurrent creates of the same backfill, one of them created', async () => {
      const b = aBackfill();
      const outcomes = await Promise.all([1, 2, 3].map(() => store.create(b)));
      expect(outcomes.filter((o) => o.created)).toHaveLength(1);
      for (const o of outcomes) expect(o.backfill).toEqual(b);
    });

    it('updates conditioned on the version: the stored version moves on by one, a stale or unknown one is refused', async () => {
      const b = aBackfill();
      await store.create(b);
      const started = { ...b, dates: [moveBackfillDate(b.dates[0]!, { status: 'RUNNING', runId: 'run-1' }), ...b.dates.slice(1)], updatedAt: T0.toISOString() };
      const stored = await store.update(0, { ...started, version: 99 });
      expect(stored.version).toBe(1);
      expect(stored.dates[0]).toEqual({ date: '2026-01-05', status: 'RUNNING', runId: 'run-1' });
      expect(await store.get(b.backfillId)).toEqual(stored);
      await expect(store.update(0, started)).rejects.toBeInstanceOf(StaleStateError);
      await expect(store.update(0, { ...started, backfillId: 'bf-never' })).rejects.toBeInstanceOf(NotFoundError);
      // What identifies the backfill is kept as created.
      const kept = await store.update(1, { ...stored, pipeline: 'other', from: '2020-01-01', concurrency: 9 });
      expect(kept).toMatchObject({ pipeline: 'nightly-tca', from: '2026-01-05', concurrency: 2, version: 2 });
    });

    it("lists a tenant's backfills newest first without their dates, filtered, page by page; another tenant's token is refused", async () => {
      for (let i = 0; i < 5; i++) await store.create(aBackfill({ backfillId: `bf-${i}`, pipeline: i % 2 === 0 ? 'nightly-tca' : 'desk-risk', from: `2026-0${i + 1}-05`, to: `2026-0${i + 1}-09`, minutes: i }));
      await store.create(aBackfill({ backfillId: 'bf-globex', tenant: 'globex', minutes: 9 }));
      await store.update(0, finished((await store.get('bf-0'))!, 'FAILED'));

      const all = await store.list({ tenant: 'acme' });
      expect(all.items.map((b) => b.backfillId)).toEqual(['bf-4', 'bf-3', 'bf-2', 'bf-1', 'bf-0']);
      expect(all.nextToken).toBeUndefined();
      expect(all.items[4]).toMatchObject({ status: 'FAILED', counts: { FAILED: 5, PENDING: 0 } });
      expect(all.items[0]).toMatchObject({ status: 'RUNNING', counts: { PENDING: (await store.get('bf-4'))!.dates.length, RUNNING: 0 } });
      expect(all.items[0]).not.toHaveProperty('dates');
      expect((await store.list({ tenant: 'acme', pipeline: 'desk-risk' })).items.map((b) => b.backfillId)).toEqual(['bf-3', 'bf-1']);
      expect((await store.list({ tenant: 'acme', status: ['FAILED', 'SUCCEEDED'] })).items.map((b) => b.backfillId)).toEqual(['bf-0']);
      expect((await store.list()).items.map((b) => b.backfillId)).toEqual(['bf-globex', 'bf-4', 'bf-3', 'bf-2', 'bf-1', 'bf-0']);

      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await store.list({ tenant: 'acme', limit: 2, ...(nextToken ? { nextToken } : {}) });
        seen.push(...page.items.map((b) => b.backfillId));
        nextToken = page.nextToken;
      } while (nextToken);
      expect(seen).toEqual(['bf-4', 'bf-3', 'bf-2', 'bf-1', 'bf-0']);
      const first = await store.list({ tenant: 'acme', limit: 1 });
      await expect(store.list({ tenant: 'globex', nextToken: first.nextToken! })).rejects.toBeInstanceOf(InvalidPageTokenError);
    });

    it('lists the open backfills of every tenant for the sweep, and not the finished ones', async () => {
      await store.create(aBackfill({ backfillId: 'bf-open' }));
      await store.create(aBackfill({ backfillId: 'bf-theirs', tenant: 'globex' }));
      const done = aBackfill({ backfillId: 'bf-done', pipeline: 'desk-risk' });
      await store.create(done);
      await store.update(0, finished(done));
      const open: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await store.listOpen({ limit: 1, ...(nextToken ? { nextToken } : {}) });
        open.push(...page.items.map((b) => b.backfillId));
        nextToken = page.nextToken;
      } while (nextToken);
      expect(open.sort()).toEqual(['bf-open', 'bf-theirs']);
    });

    it('keeps ten years of dates in one backfill, each with its run and its reason (a long one shortened, its start kept)', async () => {
      const b = aBackfill({ from: '2016-01-04', to: '2025-12-31', concurrency: 50 });
      expect(b.dates.length).toBeGreaterThan(2_600);
      await store.create(b);
      const reason = `task noop#0 failed after 3 attempts: ${'exit code 1; '.repeat(60)}`.slice(0, 500);
      const failed = finished(b, 'FAILED');
      const all = { ...failed, dates: failed.dates.map((d) => ({ ...d, runId: `run-${d.date.replaceAll('-', '')}-nightly-tca-0123456789ab`, reason })) };
      const stored = await store.update(0, all);
      expect(stored.dates).toHaveLength(b.dates.length);
      expect(stored.dates.map((d) => [d.date, d.status, d.runId])).toEqual(all.dates.map((d) => [d.date, d.status, d.runId]));
      for (const d of stored.dates) expect(reason.startsWith((d.reason ?? '').replace(/…$/, ''))).toBe(true);
      expect(stored.dates.every((d) => (d.reason ?? '').length >= 40)).toBe(true);
      expect(await store.get(b.backfillId)).toEqual(stored);
    });
  });
}
