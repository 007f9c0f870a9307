import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncompatiblePartialsError, InputDataError, InvalidAnalyticsOptionsError, mergeTcaPartials, runTca, type TcaGroupReport, type TcaInput, type TcaPartial } from './index.js';
import { FILLS, ORDERS, writeFixture } from './testing/fixture.js';
import { sqlString, withDuckDb } from './duckdb.js';

/* The fixture and its hand computation: see ./testing/fixture.ts. */

let dir: string;
let input: TcaInput;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tca-'));
  input = { ...(await writeFixture(dir)), markoutSeconds: 60 };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = (groups: TcaGroupReport[] | undefined, k: string | null): TcaGroupReport => {
  const g = groups?.find((x) => x.key === k);
  if (!g) throw new Error(`group ${k} missing`);
  return g;
};

describe('runTca on the hand-computed fixture', () => {
  it('computes per-order benchmarks and costs', async () => {
    const report = mergeTcaPartials([await runTca({ ...input, includeOrders: true, by: ['broker', 'venue'] })]);
    const [o1, o2] = report.orders ?? [];
    expect(o1.order_id).toBe('O1');
    // O1 arrival: (1000*(100.10-100) + 1000*(100.20-100)) / (2000*100) * 1e4 = 300/200000*1e4 = 15 bps
    expect(o1.arrival_slippage_bps).toBeCloseTo(15, 9);
    // Interval VWAP 100.20: (1000*(-0.10) + 1000*0) / (2000*100.20) * 1e4 = -100/200400*1e4
    expect(o1.interval_vwap_slippage_bps).toBeCloseTo((-100 / 200400) * 1e4, 9);
    // Day VWAP 1103000/11000: 2000*(100.15 - dv) / (2000*dv) * 1e4
    const dv = 1103000 / 11000;
    expect(o1.day_vwap_slippage_bps).toBeCloseTo(((100.15 - dv) / dv) * 1e4, 9);
    // TWAP 100.10: 2000*0.05/(2000*100.10)*1e4 = 4.995 bps
    expect(o1.twap_slippage_bps).toBeCloseTo((0.05 / 100.1) * 1e4, 9);
    // Commission 2.00 on notional 200300
    expect(o1.commission_bps).toBeCloseTo((2 / 200300) * 1e4, 9);
    // IS: paper 2000*99.95 = 199900; delay 2000*0.05 = 100; execution 300; opportunity 0; fees 2.60 -> 402.60
    expect(o1.implementation_shortfall).toBeCloseTo(402.6, 9);
    expect(o1.implementation_shortfall_bps).toBeCloseTo((402.6 / 199900) * 1e4, 9);
    expect(o1.is_delay_bps).toBeCloseTo((100 / 199900) * 1e4, 9);
    expect(o1.is_execution_bps).toBeCloseTo((300 / 199900) * 1e4, 9);
    expect(o1.is_opportunity_bps).toBe(0);
    // Effective spread: 2*1000*(100.10-100.00) + 2*1000*(100.20-100.10) = 400 over 1000*100+1000*100.10
    expect(o1.effective_spread_bps).toBeCloseTo((400 / 200100) * 1e4, 9);
    // Markout mids 100.10 and 100.20 equal the fill prices: realized 0, impact = effective
    expect(o1.realized_spread_bps).toBeCloseTo(0, 9);
    expect(o1.price_impact_bps).toBeCloseTo((400 / 200100) * 1e4, 9);
    expect(o1.spread_capture).toBeCloseTo(0, 12);
    // Participation 2000 / 5000
    expect(o1.participation_rate).toBeCloseTo(0.4, 12);
    expect(o1.fill_rate).toBe(1);

    expect(o2.order_id).toBe('O2');
    // Effective fills: F3 500@100.10 and F5-C 200@100.20 (F4 busted, F5 replaced)
    expect(o2.executed_qty).toBe(700);
    expect(o2.fills).toBe(2);
    // Arrival 100.10, sell: -(500*0 + 200*0.10) = -20 over 700*100.10
    expect(o2.arrival_slippage_bps).toBeCloseTo((-20 / 70070) * 1e4, 9);
    // IVWAP 100.225: -(500*(-0.125) + 200*(-0.025)) = 67.5 over 700*100.225
    expect(o2.interval_vwap_slippage_bps).toBeCloseTo((67.5 / 70157.5) * 1e4, 9);
    // TWAP 100.15: -(500*(-0.05) + 200*0.05) = 15 over 700*100.15
    expect(o2.twap_slippage_bps).toBeCloseTo((15 / 70105) * 1e4, 9);
    // IS: paper 1000*100.10; delay 0; execution -20; opportunity -(300*(100.40-100.10)) = -90; fees 0.70+0.21
    expect(o2.implementation_shortfall).toBeCloseTo(-20 - 90 + 0.91, 9);
    expect(o2.is_opportunity_bps).toBeCloseTo((-90 / 100100) * 1e4, 9);
    expect(o2.is_fees_bps).toBeCloseTo((0.91 / 100100) * 1e4, 9);
    // Mid at both fills 100.20, markout mid 100.30.
    // Effective: -2*500*(100.10-100.20) + -2*200*(0) = 100; realized: -2*500*(-0.20) - 2*200*(-0.10) = 240; impact -140
    expect(o2.effective_spread_bps).toBeCloseTo((100 / 70140) * 1e4, 9);
    expect(o2.realized_spread_bps).toBeCloseTo((240 / 70140) * 1e4, 9);
    expect(o2.price_impact_bps).toBeCloseTo((-140 / 70140) * 1e4, 9);
    // Spread capture (sell: p - bid): (500*0 + 200*0.10) / (700*0.20)
    expect(o2.spread_capture).toBeCloseTo(20 / 140, 12);
    expect(o2.participation_rate).toBeCloseTo(700 / 4000, 12);
    expect(o2.fill_rate).toBeCloseTo(0.7, 12);
  });

  it('rolls up by broker and venue, notional-weighted, with an exact total', async () => {
    const report = mergeTcaPartials([await runTca(input)]);
    // Total arrival: (300 - 20) / (200000 + 70070)
    expect(report.total.arrival_slippage_bps).toBeCloseTo((280 / 270070) * 1e4, 9);
    expect(report.total.orders).toBe(2);
    expect(report.total.fills).toBe(4);
    expect(key(report.by.broker, 'B1').arrival_slippage_bps).toBeCloseTo(15, 9);
    expect(key(report.by.broker, 'B2').arrival_slippage_bps).toBeCloseTo((-20 / 70070) * 1e4, 9);
    // XNYS: F1 +100 (base 100000), F3 0 (base 50050), F5-C -20 (base 20020)
    expect(key(report.by.venue, 'XNYS').arrival_slippage_bps).toBeCloseTo((80 / 170070) * 1e4, 9);
    expect(key(report.by.venue, 'XNAS').arrival_slippage_bps).toBeCloseTo(20, 9);
    expect(key(report.by.venue, 'XNAS').fills).toBe(1);
    // Order-level quantities have no venue: they form the venue = null group.
    expect(key(report.by.venue, null).orders).toBe(2);
    expect(key(report.by.venue, null).is_opportunity_bps).toBeCloseTo((-90 / 30030) * 1e4, 9);
    // IS decomposition sums to the total
    const t = report.total;
    expect((t.is_delay_bps ?? 0) + (t.is_execution_bps ?? 0) + (t.is_opportunity_bps ?? 0) + (t.is_fees_bps ?? 0)).toBeCloseTo(t.implementation_shortfall_bps ?? NaN, 9);
  });

  it('merges partials of disjoint partitions exactly', async () => {
    // Split the fixture into two partitions (one order each) and compare with the single run.
    const ordersLines = ORDERS.trim().split('\n');
    const fillsLines = FILLS.trim().split('\n');
    const parts = [];
    for (const id of ['O1', 'O2']) {
      const o = join(dir, `orders-${id}.csv`);
      const f = join(dir, `fills-${id}.csv`);
      await writeFile(o, [ordersLines[0], ...ordersLines.filter((l) => l.startsWith(`${id},`))].join('\n') + '\n');
      await writeFile(f, [fillsLines[0], ...fillsLines.filter((l) => l.split(',')[1] === id)].join('\n') + '\n');
      parts.push(await runTca({ ...input, orders: o, fills: f, by: ['broker', 'venue', 'symbol'] }));
    }
    const merged = mergeTcaPartials(JSON.parse(JSON.stringify(parts)));
    const whole = mergeTcaPartials([await runTca({ ...input, by: ['broker', 'venue', 'symbol'] })]);
    for (const [k, v] of Object.entries(whole.total)) {
      expect((merged.total as unknown as Record<string, number>)[k], k).toBeCloseTo(v as number, 9);
    }
    expect(merged.by.venue?.map((g) => g.key)).toEqual(['XNAS', 'XNYS', null]);
    expect(key(merged.by.venue, 'XNYS').arrival_slippage_bps).toBeCloseTo(key(whole.by.venue, 'XNYS').arrival_slippage_bps ?? NaN, 9);
  });

  it('writes per-order (CSV) and per-fill (Parquet) detail with the same formulas', async () => {
    const ordersOut = join(dir, 'tca-orders.csv');
    const fillsOut = join(dir, 'tca-fills.parquet');
    await runTca({ ...input, ordersOut, fillsOut });
    const rows = await withDuckDb((db) =>
      db.all(`SELECT (SELECT arrival_slippage_bps FROM read_csv(${sqlString(ordersOut)}) WHERE order_id = 'O1') AS o1_arrival,
                     (SELECT implementation_shortfall FROM read_csv(${sqlString(ordersOut)}) WHERE order_id = 'O2') AS o2_is,
                     (SELECT count(*) FROM read_parquet(${sqlString(fillsOut)})) AS fills,
                     (SELECT effective_spread_bps FROM read_parquet(${sqlString(fillsOut)}) WHERE fill_id = 'F3') AS f3_eff`),
    );
    expect(rows[0]['o1_arrival']).toBeCloseTo(15, 9);
    expect(rows[0]['o2_is']).toBeCloseTo(-20 - 90 + 0.91, 9);
    expect(rows[0]['fills']).toBe(4);
    // F3: sell 500 @ 100.10 against mid 100.20: 2 * 0.10 / 100.20 * 1e4
    expect(rows[0]['f3_eff']).toBeCloseTo((0.2 / 100.2) * 1e4, 9);
  });

  it('refuses markout horizons that are none, negative, not a number, repeated, or given both ways, naming the problem', async () => {
    const { markoutSeconds: _, ...noMarkout } = input;
    const refusal = (over: Partial<TcaInput>) => runTca({ ...noMarkout, ...over }).catch((e: unknown) => e);
    for (const [over, message] of [
      [{ markoutHorizonsSeconds: [] }, 'markoutHorizonsSeconds must name at least one horizon'],
      [{ markoutHorizonsSeconds: [60, -1] }, 'markout horizons must be >= 0 seconds, got -1'],
      [{ markoutHorizonsSeconds: [Number.NaN] }, 'markout horizons must be >= 0 seconds, got NaN'],
      [{ markoutHorizonsSeconds: [60, 60] }, 'markout horizons repeat: 60, 60'],
      [{ markoutHorizonsSeconds: [60], markoutSeconds: 60 }, 'give markoutHorizonsSeconds or markoutSeconds, not both'],
    ] as Array<[Partial<TcaInput>, string]>) {
      const error = await refusal(over);
      expect(error, message).toBeInstanceOf(InvalidAnalyticsOptionsError);
      expect((error as Error).message).toBe(message);
    }
  });

  it('refuses to merge partials that are not version 2, have other horizons, or carry a sum that is not an exact decimal', async () => {
    const partial = JSON.parse(JSON.stringify(await runTca({ ...input, by: ['broker'] }))) as TcaPartial;
    const merge = (parts: unknown[]) => {
      try {
        mergeTcaPartials(parts as TcaPartial[]);
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const v1 = merge([partial, { ...partial, version: 1 }]);
    expect(v1).toBeInstanceOf(IncompatiblePartialsError);
    expect((v1 as Error).message).toBe('not a version 2 TCA partial: tca-partial v1');
    const other = merge([partial, { ...partial, markout_horizons_seconds: [300] }]);
    expect((other as Error).message).toBe('markout horizons differ: 60s vs 300s');
    const [group, ...rest] = partial.groups;
    const float = merge([{ ...partial, groups: [{ ...group!, sums: { ...group!.sums, notional: '1.5e3' } }, ...rest] }]);
    expect(float).toBeInstanceOf(IncompatiblePartialsError);
    expect((float as Error).message).toMatch(/^notional is not an exact decimal with at most 12 places: "1\.5e3"$/);
  });

  it('reports bad input with file, line and column', async () => {
    const bad = join(dir, 'fills-bad.csv');
    await writeFile(bad, FILLS.replace('F3,O2,FILL,,2024-03-15 10:02:00,XNYS,500,', 'F3,O2,FILL,,2024-03-15 10:02:00,XNYS,lots,'));
    const error = await runTca({ ...input, fills: bad }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputDataError);
    expect(error).toMatchObject({ file: bad, line: 4, column: 'last_qty' });
  });
});
