import { it } from 'vitest';
import { generateBusinessDay, runTca, mergeTcaPartials } from './index.js';
it('scale', async () => {
  let t0 = Date.now();
  const r = await generateBusinessDay({ outDir: '/tmp/ddx/big', businessDate: '2024-03-15', seed: 1, desks: ['D1', 'D2', 'D3', 'D4'], symbols: 50, ordersPerDesk: 31250, quotesPerSymbol: 200000, historyDays: 260, format: 'parquet' });
  console.log('gen ms', Date.now() - t0, r.files.map((f) => `${f.table}:${f.desk ?? ''}:${f.rows}`).join(' '));
  const q = r.files.find((f) => f.table === 'quotes')!.path, t = r.files.find((f) => f.table === 'trades')!.path;
  t0 = Date.now();
  const parts = [];
  for (const d of ['D1', 'D2', 'D3', 'D4']) {
    const o = r.files.find((f) => f.table === 'orders' && f.desk === d)!.path, fl = r.files.find((f) => f.table === 'fills' && f.desk === d)!.path;
    const t1 = Date.now();
    parts.push(await runTca({ orders: o, fills: fl, quotes: q, trades: t, by: ['broker', 'venue'] }));
    console.log('tca', d, Date.now() - t1);
  }
  console.log('tca total ms', Date.now() - t0, JSON.stringify(mergeTcaPartials(parts).total));
}, 600000);
