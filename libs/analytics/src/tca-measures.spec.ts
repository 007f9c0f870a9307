import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDb } from './duckdb.js';
import { InvalidAnalyticsOptionsError, mergeTcaPartials, runTca, type TcaGroupReport, type TcaInput } from './index.js';

/*
 * Worked example for RPM, price improvement and reversion at several horizons: one symbol XYZ.
 *
 * Quotes (bid/ask -> mid): 10:00 9.99/10.01 -> 10.00, 10:02 10.01/10.04 -> 10.025,
 *   10:04 9.97/10.00 -> 9.985, 10:06 10.05/10.07 -> 10.06, 10:10 10.10/10.12 -> 10.11.
 * Tape: 09:59 100@10.00 | 10:00 200@10.00 | 10:01 300@10.05 | 10:02 100@10.02 | 10:03 400@9.98 and 50@10.02
 *   (two prices at one instant) | 10:05 500@10.10 | 10:06 1000@10.20.
 *
 * B1 BUY 300 (broker BK1), interval [10:00, 10:05]:
 *   F1 10:00:30 100 @ 10.01, F2 10:02:30 100 @ 10.03, F3 10:04:30 100 @ 10.02 -> average (10.01+10.03+10.02)/3 = 10.02.
 * S1 SELL 200 (broker BK2), interval [10:01, 10:04]: G1 10:01:30 200 @ 10.02 -> average 10.02.
 */
const QUOTES = `ts,symbol,bid,ask,bid_size,ask_size
2024-03-15 10:00:00,XYZ,9.99,10.01,100,100
2024-03-15 10:02:00,XYZ,10.01,10.04,100,100
2024-03-15 10:04:00,XYZ,9.97,10.00,100,100
2024-03-15 10:06:00,XYZ,10.05,10.07,100,100
2024-03-15 10:10:00,XYZ,10.10,10.12,100,100
`;
const TRADES = `ts,symbol,price,qty
2024-03-15 09:59:00,XYZ,10.00,100
2024-03-15 10:00:00,XYZ,10.00,200
2024-03-15 10:01:00,XYZ,10.05,300
2024-03-15 10:02:00,XYZ,10.02,100
2024-03-15 10:03:00,XYZ,9.98,400
2024-03-15 10:03:00,XYZ,10.02,50
2024-03-15 10:05:00,XYZ,10.10,500
2024-03-15 10:06:00,XYZ,10.20,1000
`;
const ORDERS = `order_id,desk,trader,symbol,side,order_qty,limit_px,decision_ts,decision_px,arrival_ts,arrival_px,broker,algo,status,end_ts,cum_qty,avg_px
B1,D1,T1,XYZ,BUY,300,,2024-03-15 10:00:00,10.00,2024-03-15 10:00:00,10.00,BK1,VWAP,FILLED,2024-03-15 10:05:00,300,10.02
S1,D1,T2,XYZ,SELL,200,,2024-03-15 10:01:00,10.00,2024-03-15 10:01:00,10.00,BK2,TWAP,FILLED,2024-03-15 10:04:00,200,10.02
`;
const FILLS = `fill_id,order_id,exec_type,ref_fill_id,ts,venue,last_qty,last_px,commission,fees
F1,B1,FILL,,2024-03-15 10:00:30,XNYS,100,10.01,0,0
F2,B1,FILL,,2024-03-15 10:02:30,XNAS,100,10.03,0,0
F3,B1,FILL,,2024-03-15 10:04:30,XNYS,100,10.02,0,0
G1,S1,FILL,,2024-03-15 10:01:30,XNYS,200,10.02,0,0
`;

let dir: string;
let input: TcaInput;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tca-measures-'));
  const files = { quotes: QUOTES, trades: TRADES, orders: ORDERS, fills: FILLS };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, `${name}.csv`), text);
  input = { orders: join(dir, 'orders.csv'), fills: join(dir, 'fills.csv'), quotes: join(dir, 'quotes.csv'), trades: join(dir, 'trades.csv') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const group = (groups: TcaGroupReport[] | undefined, key: string | null): TcaGroupReport => {
  const g = groups?.find((x) => x.key === key);
  if (!g) throw new Error(`group ${key} missing`);
  return g;
};

describe("Kissell's relative performance measure", () => {
  it('is the share of interval volume traded worse than the average price, half of it at that price', async () => {
    const report = mergeTcaPartials([await runTca({ ...input, includeOrders: true, by: ['broker'] })]);
    const [b1, s1] = report.orders ?? [];
    // B1 buy at 10.02 over [10:00, 10:05]: prints 200@10.00, 300@10.05, 100@10.02, 400@9.98, 50@10.02, 500@10.10
    // (09:59 and 10:06 are outside) -> V = 1550; worse = above 10.02: 300 + 500 = 800; at 10.02: 100 + 50 = 150.
    // RPM = (800 + 150/2) / 1550 = 875 / 1550
    expect(b1?.order_id).toBe('B1');
    expect(b1?.rpm).toBeCloseTo(875 / 1550, 12);
    // S1 sell at 10.02 over [10:01, 10:04]: 300@10.05, 100@10.02, 400@9.98, 50@10.02 -> V = 850;
    // worse = below 10.02: 400; at 10.02: 150. RPM = (400 + 75) / 850
    expect(s1?.rpm).toBeCloseTo(475 / 850, 12);
    // Roll-up: weighted by interval market volume, (875 + 475) / (1550 + 850) = 1350 / 2400 = 0.5625
    expect(report.total.rpm).toBeCloseTo(0.5625, 12);
    expect(group(report.by.broker, 'BK1').rpm).toBeCloseTo(875 / 1550, 12);
    expect(group(report.by.broker, 'BK2').rpm).toBeCloseTo(475 / 850, 12);
    // Same interval volume as participation: B1 executed 300 of 1550.
    expect(b1?.participation_rate).toBeCloseTo(300 / 1550, 12);
  });

  it('is null without market prints', async () => {
    const { trades: _omitted, ...withoutTrades } = input;
    const report = mergeTcaPartials([await runTca(withoutTrades)]);
    expect(report.total.rpm).toBeNull();
  });

  it('agrees with a plain count over every print of the interval on a longer tape', async () => {
    // 400 prints 10 s apart from 10:00:00 (every 7th instant has a second print), prices on a cent grid;
    // orders with short and long intervals so that the look-up crosses many blocks of prints.
    const t0 = Date.UTC(2024, 2, 15, 10, 0, 0);
    const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '').slice(0, 19);
    const prints: Array<{ ts: number; price: number; qty: number }> = [];
    for (let i = 0; i < 400; i++) {
      prints.push({ ts: t0 + i * 10_000, price: 50 + ((i * 37) % 23) / 100, qty: 100 + ((i * 13) % 7) * 10 });
      if (i % 7 === 0) prints.push({ ts: t0 + i * 10_000, price: 50 + ((i * 11) % 23) / 100, qty: 30 });
    }
    // [side, first print index, last print index, fill price]: fill prices sit on the grid, so ties occur.
    const specs: Array<[string, number, number, number]> = [
      ['BUY', 0, 399, 50.11], ['SELL', 3, 20, 50.07], ['BUY', 31, 33, 50.2], ['SELL', 40, 250, 50.15], ['BUY', 100, 101, 50.0], ['SELL', 64, 128, 50.11],
    ];
    const orders = specs.map(([side, a, e], k) => `O${k},D1,T1,XYZ,${side},100,,${iso(t0 + a * 10_000)},50,${iso(t0 + a * 10_000)},50,BK,ALGO,FILLED,${iso(t0 + e * 10_000)},100,`);
    const fills = specs.map(([, a, , p], k) => `F${k},O${k},FILL,,${iso(t0 + a * 10_000)},XNYS,100,${p},0,0`);
    const sub = await mkdtemp(join(dir, 'long-'));
    const paths = { orders: join(sub, 'orders.csv'), fills: join(sub, 'fills.csv'), quotes: join(sub, 'quotes.csv'), trades: join(sub, 'trades.csv') };
    await writeFile(paths.orders, [ORDERS.split('\n')[0], ...orders].join('\n') + '\n');
    await writeFile(paths.fills, [FILLS.split('\n')[0], ...fills].join('\n') + '\n');
    await writeFile(paths.quotes, 'ts,symbol,bid,ask,bid_size,ask_size\n2024-03-15 09:00:00,XYZ,49.99,50.01,1,1\n');
    await writeFile(paths.trades, ['ts,symbol,price,qty', ...prints.map((p) => `${iso(p.ts)},XYZ,${p.price.toFixed(2)},${p.qty}`)].join('\n') + '\n');

    const report = mergeTcaPartials([await runTca({ ...paths, includeOrders: true })]);
    specs.forEach(([side, a, e, p], k) => {
      const inside = prints.filter((x) => x.ts >= t0 + a * 10_000 && x.ts <= t0 + e * 10_000);
      const cents = (x: number): number => Math.round(x * 100);
      const worse = inside.filter((x) => (side === 'BUY' ? cents(x.price) > cents(p) : cents(x.price) < cents(p))).reduce((s, x) => s + x.qty, 0);
      const at = inside.filter((x) => cents(x.price) === cents(p)).reduce((s, x) => s + x.qty, 0);
      const total = inside.reduce((s, x) => s + x.qty, 0);
      expect(report.orders?.[k]?.rpm, `O${k}`).toBeCloseTo((worse + at / 2) / total, 12);
    });
  });
});

describe('price improvement vs the NBBO at fill time', () => {
  it('measures each fill against the far side of the prevailing quote', async () => {
    const report = mergeTcaPartials([await runTca({ ...input, by: ['broker', 'venue'] })]);
    // F1 buy 100 @ 10.01, ask 10.01 (10:00 quote): at the quote, 0.
    // F2 buy 100 @ 10.03, ask 10.04 (10:02 quote): improved, ask - p = +0.01.
    // F3 buy 100 @ 10.02, ask 10.00 (10:04 quote): outside, -0.02.
    // G1 sell 200 @ 10.02, bid 9.99 (10:00 quote): improved, p - bid = +0.03.
    // BK1: 100 * (0 + 0.01 - 0.02) = -1 over 100 * (10.01 + 10.04 + 10.00) = 3005
    expect(group(report.by.broker, 'BK1').price_improvement_bps).toBeCloseTo((-1 / 3005) * 1e4, 9);
    // BK2: 200 * 0.03 = 6 over 200 * 9.99 = 1998
    expect(group(report.by.broker, 'BK2').price_improvement_bps).toBeCloseTo((6 / 1998) * 1e4, 9);
    expect(report.total.price_improvement_bps).toBeCloseTo(((-1 + 6) / (3005 + 1998)) * 1e4, 9);
    // Of 4 quoted fills: improved F2, G1; at the quote F1; outside F3.
    expect(report.total.improved_fill_share).toBe(0.5);
    expect(report.total.at_quote_fill_share).toBe(0.25);
    expect(report.total.outside_quote_fill_share).toBe(0.25);
    // XNAS has F2 alone: improved by 0.01 on 10.04.
    expect(group(report.by.venue, 'XNAS').price_improvement_bps).toBeCloseTo((0.01 / 10.04) * 1e4, 9);
    expect(group(report.by.venue, 'XNAS').improved_fill_share).toBe(1);
  });
});

describe('reversion at several markout horizons', () => {
  /*
   * Mid at the fill m, at +60 s m1, at +300 s m5 (prevailing quotes):
   *   F1 10:00:30 buy 100 @ 10.01: m 10.00, m1 (10:01:30) 10.00,  m5 (10:05:30) 9.985
   *   F2 10:02:30 buy 100 @ 10.03: m 10.025, m1 (10:03:30) 10.025, m5 (10:07:30) 10.06
   *   F3 10:04:30 buy 100 @ 10.02: m 9.985, m1 (10:05:30) 9.985,  m5 (10:09:30) 10.06
   *   G1 10:01:30 sell 200 @ 10.02: m 10.00, m1 (10:02:30) 10.025, m5 (10:06:30) 10.06
   * Base Σ q·m = 1000 + 1002.5 + 998.5 + 2000 = 5001.
   * Effective 2·s·q·(p − m): 2 + 1 + 7 − 8 = 2.
   * Realized at 60 s, 2·s·q·(p − m1): 2 + 1 + 7 + 2 = 12; impact 2·s·q·(m1 − m): 0 + 0 + 0 − 10 = −10.
   * Realized at 300 s, 2·s·q·(p − m5): 5 − 6 − 8 + 16 = 7; impact: −3 + 7 + 15 − 24 = −5.
   * At 1800 s every fill sees the 10:10 quote, mid 10.11:
   *   realized 200·(10.01 − 10.11) + 200·(10.03 − 10.11) + 200·(10.02 − 10.11) − 400·(10.02 − 10.11) = −20 − 16 − 18 + 36 = −18;
   *   impact 2 − (−18) = 20.
   */
  it('reports realized spread and price impact per horizon, each adding up to the effective spread', async () => {
    const report = mergeTcaPartials([await runTca(input)]);
    const t = report.total;
    expect(report.markout_horizons_seconds).toEqual([60, 300, 1800]);
    expect(report.markout_seconds).toBe(60);
    const bps = (x: number): number => (x / 5001) * 1e4;
    expect(t.effective_spread_bps).toBeCloseTo(bps(2), 9);
    expect(t['realized_spread_60s_bps']).toBeCloseTo(bps(12), 9);
    expect(t['price_impact_60s_bps']).toBeCloseTo(bps(-10), 9);
    expect(t['realized_spread_300s_bps']).toBeCloseTo(bps(7), 9);
    expect(t['price_impact_300s_bps']).toBeCloseTo(bps(-5), 9);
    expect(t['realized_spread_1800s_bps']).toBeCloseTo(bps(-18), 9);
    expect(t['price_impact_1800s_bps']).toBeCloseTo(bps(20), 9);
    // The unsuffixed fields are the first horizon's.
    expect(t.realized_spread_bps).toBe(t['realized_spread_60s_bps']);
    expect(t.price_impact_bps).toBe(t['price_impact_60s_bps']);
  });

  it('takes the horizons as an option, the first one heading the report', async () => {
    const report = mergeTcaPartials([await runTca({ ...input, markoutHorizonsSeconds: [300, 60] })]);
    expect(report.markout_seconds).toBe(300);
    expect(report.total.realized_spread_bps).toBeCloseTo((7 / 5001) * 1e4, 9);
    expect(Object.keys(report.total).filter((k) => k.startsWith('realized_spread_'))).toEqual([
      'realized_spread_bps', 'realized_spread_300s_bps', 'realized_spread_60s_bps',
    ]);
  });

  it('refuses an empty, negative or repeated horizon list, and both options at once', async () => {
    for (const markoutHorizonsSeconds of [[], [-1], [60, 60]]) {
      await expect(runTca({ ...input, markoutHorizonsSeconds })).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
    }
    await expect(runTca({ ...input, markoutHorizonsSeconds: [60], markoutSeconds: 60 })).rejects.toThrow('not both');
  });

  it('writes every horizon and the price improvement into the per-fill detail, RPM into the per-order detail', async () => {
    const fillsOut = join(dir, 'detail-fills.parquet');
    const ordersOut = join(dir, 'detail-orders.parquet');
    await runTca({ ...input, fillsOut, ordersOut });
    const row = await withDuckDb((db) =>
      db.one(`SELECT (SELECT realized_spread_300s_bps FROM read_parquet(${sqlString(fillsOut)}) WHERE fill_id = 'G1') AS g1_real5,
                     (SELECT vs_quote FROM read_parquet(${sqlString(fillsOut)}) WHERE fill_id = 'F3') AS f3_vs_quote,
                     (SELECT price_improvement_bps FROM read_parquet(${sqlString(fillsOut)}) WHERE fill_id = 'F2') AS f2_pi,
                     (SELECT rpm FROM read_parquet(${sqlString(ordersOut)}) WHERE order_id = 'S1') AS s1_rpm`),
    );
    // G1: −2·200·(10.02 − 10.06) = 16 over 200·10.00
    expect(row['g1_real5']).toBeCloseTo((16 / 2000) * 1e4, 9);
    expect(row['f3_vs_quote']).toBe('outside_quote');
    expect(row['f2_pi']).toBeCloseTo((0.01 / 10.04) * 1e4, 9);
    expect(row['s1_rpm']).toBeCloseTo(475 / 850, 12);
  });
});
