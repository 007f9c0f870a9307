import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '@nightshift/storage-local';
import { dayOverDay, ReportIndex } from './day-over-day.js';
import type { HeadlineUnit } from './headline-units.js';

const previous = { reportId: 'report-19', runId: 'run-19', businessDate: '2026-11-19', publishedAt: '2026-11-20T06:00:00.000Z' };
const units: Record<string, HeadlineUnit> = {
  orders: { kind: 'count', of: 'order' },
  notional: { kind: 'currency', currency: 'USD' },
  commission_bps: { kind: 'bps' },
  best_parameters: { kind: 'text' },
  var_99_historical: { kind: 'currency', currency: 'USD' },
};

describe('dayOverDay', () => {
  it('changes only the figures that are numbers in both reports; a change from 0 has no relative change', () => {
    const block = dayOverDay(
      { headline: { orders: 5, commission_bps: -0.5, best_parameters: 'fast=5', var_99_historical: null, new_figure: 1 }, units, currency: 'USD' },
      { ...previous, headline: { orders: 0, commission_bps: -0.25, best_parameters: 'fast=3', var_99_historical: 1000 } },
    );
    // By hand: 0 -> 5 orders is +5, no relative change; -0.25 -> -0.5 bps is -0.25, relative to |-0.25|: -100 %.
    expect(block.changes).toEqual({
      orders: { previous: 0, current: 5, absolute: 5, relative: null, text: '+5 orders' },
      commission_bps: { previous: -0.25, current: -0.5, absolute: -0.25, relative: -1, text: '-0.25 bps (-100.0 %)' },
    });
    expect(block).toMatchObject({ ...previous, headline: { orders: 0 } });
  });

  it('does not subtract money of two currencies', () => {
    const block = dayOverDay({ headline: { notional: 900, orders: 2 }, units, currency: 'USD' }, { ...previous, headline: { notional: 1000, orders: 1 }, currency: 'EUR' });
    expect(Object.keys(block.changes)).toEqual(['orders']);
  });
});

describe('ReportIndex on a directory object store', () => {
  it('finds the latest earlier business date of a tenant and pipeline, and of that date the report published last', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-report-index-'));
    try {
      const index = new ReportIndex(new DirectoryObjectStore(dir));
      const entry = (reportId: string, businessDate: string, publishedAt: string) => ({ reportId, runId: `run-of-${reportId}`, businessDate, publishedAt, key: `reports/${businessDate}/${reportId}.json` });
      await index.add('default', 'tca', entry('a', '2026-11-17', '2026-11-18T06:00:00.000Z'));
      await index.add('default', 'tca', entry('b-late', '2026-11-18', '2026-11-19T09:00:00.000Z'));
      await index.add('default', 'tca', entry('b-early', '2026-11-18', '2026-11-19T06:00:00.000Z'));
      await index.add('default', 'tca', entry('c', '2026-11-20', '2026-11-21T06:00:00.000Z'));
      await index.add('acme', 'tca', entry('acme-19', '2026-11-19', '2026-11-20T06:00:00.000Z'));
      await index.add('default', 'tca-eu', entry('eu-19', '2026-11-19', '2026-11-20T06:00:00.000Z'));

      expect((await index.previous('default', 'tca', '2026-11-20'))?.reportId).toBe('b-late');
      expect((await index.previous('default', 'tca', '2026-11-18'))?.reportId).toBe('a');
      expect((await index.previous('default', 'tca', '2026-11-30'))?.reportId).toBe('c');
      expect(await index.previous('default', 'tca', '2026-11-17')).toBeUndefined();
      expect((await index.previous('acme', 'tca', '2026-11-20'))?.reportId).toBe('acme-19');
      expect(await index.previous('acme', 'tca-eu', '2026-11-20')).toBeUndefined();
      // A pipeline whose name starts like another's is not confused with it.
      expect((await index.previous('default', 'tca-eu', '2026-11-20'))?.reportId).toBe('eu-19');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
