import { describe, expect, it } from 'vitest';
import { detailFiles } from './report-exports.js';

describe('detailFiles', () => {
  const key = (run: string, p: string, table: string) => `runs/${run}/tca/partition=${p}/detail/tca-${table}.parquet`;

  it("lists each partition's orders and fills files, in the section's order", () => {
    const section = { detail: [{ partition: 'cash', orders: key('run-1', 'cash', 'orders'), fills: key('run-1', 'cash', 'fills') }, { partition: 'program', orders: key('run-1', 'program', 'orders'), fills: key('run-1', 'program', 'fills') }] };
    expect(detailFiles('run-1', section)).toEqual([
      { partition: 'cash', table: 'orders', key: key('run-1', 'cash', 'orders') },
      { partition: 'cash', table: 'fills', key: key('run-1', 'cash', 'fills') },
      { partition: 'program', table: 'orders', key: key('run-1', 'program', 'orders') },
      { partition: 'program', table: 'fills', key: key('run-1', 'program', 'fills') },
    ]);
  });

  it("serves no key outside the report's own run: another run's, a landing, a prefix look-alike", () => {
    const section = {
      detail: [
        { partition: 'a', orders: key('run-2', 'a', 'orders'), fills: 'landing/executions/fills.csv' },
        { partition: 'b', orders: 'runs/run-10/tca/partition=b/detail/tca-orders.parquet', fills: key('run-1', 'b', 'fills') },
      ],
    };
    expect(detailFiles('run-1', section)).toEqual([{ partition: 'b', table: 'fills', key: key('run-1', 'b', 'fills') }]);
  });

  it('reads nothing from a section without detail or with malformed entries', () => {
    expect(detailFiles('run-1', { total: {} })).toEqual([]);
    expect(detailFiles('run-1', [{ rank: 1 }])).toEqual([]);
    expect(detailFiles('run-1', { detail: [null, 'x', { orders: key('run-1', 'x', 'orders') }, { partition: 7, fills: key('run-1', 'y', 'fills') }] })).toEqual([]);
  });
});
