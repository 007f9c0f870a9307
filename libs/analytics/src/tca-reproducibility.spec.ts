import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBusinessDay, mergeTcaPartials, runTca, type GeneratedTable, type TcaInput } from './index.js';

/*
 * The TCA partial and report are the same bytes whatever DuckDB's thread count and however the
 * orders are split into partitions. The day (two desks, 400k quotes, ~44k fills) spans several of
 * DuckDB's row groups, so its scans run on several threads; at this size the float sums (fsum) the
 * analytic used before did not give the same bytes twice.
 */

let dir: string;
let files: GeneratedTable[];
const BY = ['broker', 'venue', 'desk', 'symbol'] as const;

const file = (table: GeneratedTable['table'], desk?: string): string => {
  const found = files.find((f) => f.table === table && f.desk === desk);
  if (!found) throw new Error(`no ${table} file${desk ? ` for ${desk}` : ''}`);
  return found.path;
};
const market = (): Pick<TcaInput, 'quotes' | 'trades'> => ({ quotes: file('quotes'), trades: file('trades') });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tca-repro-'));
  ({ files } = await generateBusinessDay({
    outDir: join(dir, 'day'), businessDate: '2024-03-15', seed: 5, desks: ['D1', 'D2'], symbols: 20, quotesPerSymbol: 20_000,
    ordersPerDesk: 3000, historyDays: 5, format: 'parquet',
  }));
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TCA reproducibility', () => {
  it('gives byte-identical partials and reports at 1, 2 and 4 threads, and twice at 4', async () => {
    const whole: TcaInput = { orders: [file('orders', 'D1'), file('orders', 'D2')], fills: [file('fills', 'D1'), file('fills', 'D2')], ...market(), by: [...BY] };
    const partials: string[] = [];
    const reports: string[] = [];
    for (const threads of [1, 2, 4, 4]) {
      const partial = await runTca({ ...whole, threads });
      partials.push(JSON.stringify(partial));
      reports.push(JSON.stringify(mergeTcaPartials([partial])));
    }
    expect(JSON.parse(reports[0]!).total.fills).toBeGreaterThan(40_000);
    expect(new Set(partials).size).toBe(1);
    expect(new Set(reports).size).toBe(1);
  }, 300_000);

  it('merges desk partitions into exactly the whole-day report, in any order', async () => {
    const whole = mergeTcaPartials([
      await runTca({ orders: [file('orders', 'D1'), file('orders', 'D2')], fills: [file('fills', 'D1'), file('fills', 'D2')], ...market(), by: [...BY], threads: 4 }),
    ]);
    // Per-desk runs with per-order sums (which make `lines` a table, the other code path).
    const parts = [];
    for (const desk of ['D1', 'D2']) parts.push(await runTca({ orders: file('orders', desk), fills: file('fills', desk), ...market(), by: [...BY], includeOrders: true, threads: 4 }));
    const merged = mergeTcaPartials(parts);
    const reversed = mergeTcaPartials([...parts].reverse());
    expect(merged.orders).toHaveLength(6000);
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(merged));
    const { orders: _perOrder, ...mergedGroups } = merged;
    expect(JSON.stringify(mergedGroups)).toBe(JSON.stringify(whole));
  }, 300_000);
});
