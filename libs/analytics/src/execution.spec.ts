import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeExecutionPartials, runExecutionReport } from './index.js';
import { FILLS, ORDERS, writeFixture } from './testing/fixture.js';

let dir: string;
let paths: { orders: string; fills: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exec-'));
  paths = await writeFixture(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runExecutionReport on the hand-computed fixture', () => {
  it('re-derives CumQty/AvgPx from effective fills and reports per order', async () => {
    const report = mergeExecutionPartials([await runExecutionReport({ ...paths, includeOrders: true })]);
    const [o1, o2] = report.orders ?? [];
    // O1: 1000@100.10 + 1000@100.20; arrival 10:00:00, last fill 10:01:30 -> 90 s
    expect(o1).toMatchObject({ order_id: 'O1', executed_qty: 2000, avg_px: 100.15, fills: 2, busts: 0, time_to_fill_seconds: 90, cum_qty_ok: true, avg_px_ok: true });
    // O2: F4 busted, F5 corrected to 100.20: 500@100.10 + 200@100.20 = 70090/700; reported 100.128571 (6 dp)
    expect(o2).toMatchObject({ order_id: 'O2', executed_qty: 700, fills: 2, busts: 1, corrections: 1, time_to_fill_seconds: null, cum_qty_ok: true, avg_px_ok: true });
    expect(o2.avg_px).toBeCloseTo(70090 / 700, 12);
    expect(report.total).toMatchObject({ orders: 2, filled_orders: 1, cancelled_orders: 1, rejected_orders: 0, busts: 1, corrections: 1, fills: 4, cum_qty_mismatches: 0, avg_px_mismatches: 0 });
    expect(report.total.fill_rate_qty).toBeCloseTo(2700 / 3000, 12);
    expect(report.total.fill_rate_count).toBe(0.5);
    expect(report.total.avg_time_to_fill_seconds).toBe(90);
  });

  it('rolls up by broker and venue; busts and corrections land on their venue', async () => {
    const report = mergeExecutionPartials([await runExecutionReport(paths)]);
    const venue = (k: string | null) => report.by.venue?.find((g) => g.key === k);
    expect(venue('XNYS')).toMatchObject({ fills: 3, executed_qty: 1700, corrections: 1, busts: 0 });
    expect(venue('XNAS')).toMatchObject({ fills: 1, executed_qty: 1000, busts: 1 });
    expect(venue(null)).toMatchObject({ orders: 2, order_qty: 3000 });
    expect(report.by.broker?.map((g) => [g.key, g.fill_rate_qty])).toEqual([
      ['B1', 1],
      ['B2', 0.7],
    ]);
  });

  it('flags broken invariants and orphan fills', async () => {
    const orders = join(dir, 'orders-bad.csv');
    const fills = join(dir, 'fills-orphan.csv');
    // O1 reports cum 1900 and a wrong avg price; one fill references an unknown order.
    await writeFile(orders, ORDERS.replace('FILLED,2024-03-15 10:03:00,2000,100.15', 'FILLED,2024-03-15 10:03:00,1900,100.16'));
    await writeFile(fills, FILLS + 'F9,O9,FILL,,2024-03-15 10:02:00,XNYS,10,100.10,0,0\n');
    const report = mergeExecutionPartials([await runExecutionReport({ orders, fills })]);
    expect(report.total).toMatchObject({ cum_qty_mismatches: 1, avg_px_mismatches: 1, orphan_fills: 1 });
  });
});
