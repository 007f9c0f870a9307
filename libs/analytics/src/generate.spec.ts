import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDb, sqlString } from './duckdb.js';
import { generateBusinessDay, InvalidAnalyticsOptionsError, mergeTcaPartials, runTca, validateTableFile, type GeneratedTable, type GenerateOptions } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'generate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (outDir: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  outDir,
  businessDate: '2024-03-15',
  seed: 42,
  desks: ['EQ1', 'EQ2'],
  symbols: 5,
  ordersPerDesk: 60,
  quotesPerSymbol: 500,
  historyDays: 30,
  ...extra,
});

async function checksums(files: GeneratedTable[], root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) out[f.path.slice(root.length)] = createHash('sha256').update(await readFile(f.path)).digest('hex');
  return out;
}

describe('generateBusinessDay', () => {
  it('writes the hive layout with row counts, and every file validates clean', async () => {
    const out = join(dir, 'a');
    const { files } = await generateBusinessDay(options(out));
    expect(files.map((f) => f.path.slice(out.length))).toEqual([
      '/prices/business_date=2024-03-15/part-0.csv',
      '/quotes/business_date=2024-03-15/part-0.csv',
      '/trades/business_date=2024-03-15/part-0.csv',
      '/orders/business_date=2024-03-15/desk=EQ1/part-0.csv',
      '/fills/business_date=2024-03-15/desk=EQ1/part-0.csv',
      '/orders/business_date=2024-03-15/desk=EQ2/part-0.csv',
      '/fills/business_date=2024-03-15/desk=EQ2/part-0.csv',
    ]);
    const byTable = (t: string, desk?: string) => files.find((f) => f.table === t && f.desk === desk);
    expect(byTable('prices')?.rows).toBe(5 * 30);
    expect(byTable('quotes')?.rows).toBe(5 * 500);
    expect(byTable('trades')?.rows).toBe(5 * 250);
    expect(byTable('orders', 'EQ1')?.rows).toBe(60);
    for (const f of files) {
      const v = await validateTableFile(f.table, f.path);
      expect(v.problems, f.path).toEqual([]);
      expect(v.rows, f.path).toBe(f.rows);
    }
  });

  it('is deterministic: the same seed gives byte-identical files, another seed does not', async () => {
    const a = await generateBusinessDay(options(join(dir, 'd1')));
    const b = await generateBusinessDay(options(join(dir, 'd2')));
    const c = await generateBusinessDay(options(join(dir, 'd3'), { seed: 43 }));
    const sa = await checksums(a.files, join(dir, 'd1'));
    expect(await checksums(b.files, join(dir, 'd2'))).toEqual(sa);
    const sc = await checksums(c.files, join(dir, 'd3'));
    expect(Object.keys(sc)).toEqual(Object.keys(sa));
    for (const k of Object.keys(sa)) expect(sc[k], k).not.toBe(sa[k]);
  });

  it('produces realistic orders: partial fills, cancels, rejects, busts, corrections and consistent cum/avg', async () => {
    const out = join(dir, 'r');
    const { files } = await generateBusinessDay(options(out, { ordersPerDesk: 400, desks: ['EQ1'] }));
    const orders = files.find((f) => f.table === 'orders')?.path ?? '';
    const fills = files.find((f) => f.table === 'fills')?.path ?? '';
    const stats = await withDuckDb((db) =>
      db.one(`
        WITH f AS (SELECT * FROM read_csv(${sqlString(fills)})),
        eff AS (SELECT * FROM f WHERE exec_type <> 'BUST' AND fill_id NOT IN (SELECT ref_fill_id FROM f WHERE ref_fill_id IS NOT NULL)),
        agg AS (SELECT order_id, sum(last_qty) AS q, sum(last_qty * last_px) / sum(last_qty) AS px FROM eff GROUP BY order_id),
        o AS (SELECT * FROM read_csv(${sqlString(orders)}))
        SELECT count(*) FILTER (status = 'FILLED') AS filled, count(*) FILTER (status = 'PARTIALLY_FILLED') AS partial,
               count(*) FILTER (status = 'CANCELLED') AS cancelled, count(*) FILTER (status = 'REJECTED') AS rejected,
               (SELECT count(*) FROM f WHERE exec_type = 'BUST') AS busts, (SELECT count(*) FROM f WHERE exec_type = 'CORRECT') AS corrections,
               count(*) FILTER (coalesce(agg.q, 0) <> o.cum_qty) AS cum_mismatch,
               count(*) FILTER (abs(agg.px - o.avg_px) > 1e-6) AS avg_mismatch,
               count(*) FILTER (o.decision_px IS NULL OR o.arrival_px IS NULL) AS unpriced
        FROM o LEFT JOIN agg USING (order_id)`),
    );
    expect(stats['filled']).toBeGreaterThan(250);
    for (const k of ['partial', 'cancelled', 'rejected', 'busts', 'corrections']) expect(stats[k], k).toBeGreaterThan(0);
    expect(stats['cum_mismatch']).toBe(0);
    expect(stats['avg_mismatch']).toBe(0);
    expect(stats['unpriced']).toBe(0);
    const report = mergeTcaPartials([await runTca({ orders, fills, quotes: files[1].path, trades: files[2].path, by: ['venue', 'broker', 'algo'] })]);
    expect(report.total.fills).toBeGreaterThan(1000);
    // Fills cross part of the spread on average, so effective spread is a positive cost of a few bps.
    expect(report.total.effective_spread_bps).toBeGreaterThan(0);
    expect(report.total.effective_spread_bps).toBeLessThan(30);
    expect(report.by.venue?.length).toBe(7);
    // Commission rates rise from BRKA to BRKE (0.10 to 0.30 cents per share).
    const commission = (report.by.broker ?? []).map((g) => g.commission_bps ?? 0);
    expect([...commission].sort((x, y) => x - y)).toEqual(commission);
  });

  it('writes Parquet with the same content as CSV', async () => {
    const csv = await generateBusinessDay(options(join(dir, 'c'), { desks: ['EQ1'] }));
    const pq = await generateBusinessDay(options(join(dir, 'p'), { desks: ['EQ1'], format: 'parquet' }));
    const diffs = await withDuckDb((db) =>
      db.all(
        csv.files
          .map((a, i) => `SELECT '${a.table}' AS t, (SELECT count(*) FROM (SELECT * FROM read_csv(${sqlString(a.path)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlString(pq.files[i].path)}))) AS n`)
          .join(' UNION ALL '),
      ),
    );
    expect(diffs.map((d) => d['n'])).toEqual(csv.files.map(() => 0));
    expect(pq.files.every((f) => f.path.endsWith('.parquet'))).toBe(true);
    const fills = pq.files.find((f) => f.table === 'fills');
    expect((await validateTableFile('fills', fills?.path ?? '')).problems).toEqual([]);
  });

  it('writes quotes and trades one file per symbol whose rows together are exactly the single file\'s, in its order', async () => {
    const single = await generateBusinessDay(options(join(dir, 's1')));
    const split = await generateBusinessDay(options(join(dir, 's2'), { marketFilesBySymbol: true }));
    const root = join(dir, 's2');
    for (const table of ['quotes', 'trades'] as const) {
      const whole = single.files.find((f) => f.table === table)!;
      const parts = split.files.filter((f) => f.table === table);
      expect(parts.map((f) => [f.symbol, f.path.slice(root.length)])).toEqual(
        ['SYM001', 'SYM002', 'SYM003', 'SYM004', 'SYM005'].map((sym) => [sym, `/${table}/business_date=2024-03-15/symbol=${sym}/part-0.csv`]),
      );
      expect(parts.reduce((n, f) => n + f.rows, 0)).toBe(whole.rows);
      // Row counts and a checksum of the sorted rows, read independently of the generator.
      const digest = (paths: string[]) =>
        withDuckDb((db) =>
          db.one<{ n: number; sum: string }>(
            `SELECT count(*) AS n, md5(string_agg(r, chr(10) ORDER BY r)) AS sum FROM (SELECT CAST(t AS VARCHAR) AS r FROM read_csv([${paths.map(sqlString).join(', ')}], all_varchar = true) t)`,
          ),
        );
      expect(await digest(parts.map((f) => f.path))).toEqual(await digest([whole.path]));
      // And byte for byte: the header once, then each symbol's rows in symbol order.
      const texts = await Promise.all(parts.map((f) => readFile(f.path, 'utf8')));
      const header = texts[0]!.split('\n', 1)[0]!;
      expect(texts.every((t) => t.startsWith(`${header}\n`))).toBe(true);
      expect(`${header}\n${texts.map((t) => t.slice(header.length + 1)).join('')}`).toBe(await readFile(whole.path, 'utf8'));
      for (const f of parts) {
        const v = await validateTableFile(table, f.path, { symbol: f.symbol });
        expect(v.problems, f.path).toEqual([]);
      }
    }
    // Orders, fills and prices are not affected.
    const rest = (files: GeneratedTable[], out: string) => checksums(files.filter((f) => f.table !== 'quotes' && f.table !== 'trades'), out);
    expect(await rest(split.files, root)).toEqual(await rest(single.files, join(dir, 's1')));
  });

  it('gives each desk its own book of symbolsPerDesk symbols, wrapping past the last', async () => {
    const out = join(dir, 'books');
    const { files } = await generateBusinessDay(options(out, { desks: ['EQ1', 'EQ2', 'EQ3'], symbolsPerDesk: 2 }));
    const symbolsOf = (desk: string) =>
      withDuckDb(async (db) =>
        (await db.all<{ symbol: string }>(`SELECT DISTINCT symbol FROM read_csv(${sqlString(files.find((f) => f.table === 'orders' && f.desk === desk)!.path)}) ORDER BY symbol`)).map((r) => r.symbol),
      );
    // 5 symbols, 2 per desk: desk k trades symbols 2k+1 and 2k+2 (mod 5), 1-based.
    expect(await symbolsOf('EQ1')).toEqual(['SYM001', 'SYM002']);
    expect(await symbolsOf('EQ2')).toEqual(['SYM003', 'SYM004']);
    expect(await symbolsOf('EQ3')).toEqual(['SYM001', 'SYM005']);
    await expect(generateBusinessDay(options(out, { symbolsPerDesk: 6 }))).rejects.toThrow(new InvalidAnalyticsOptionsError('symbolsPerDesk must be <= symbols (5), got 6'));
  });

  it('rejects impossible options', async () => {
    await expect(generateBusinessDay(options(dir, { businessDate: '2024-03-16' }))).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
    await expect(generateBusinessDay(options(dir, { desks: [] }))).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
    await expect(generateBusinessDay(options(dir, { desks: ['../x'] }))).rejects.toBeInstanceOf(InvalidAnalyticsOptionsError);
  });
});
