import { it } from 'vitest';
import { runTca } from './index.js';
it('scale', async () => {
  (globalThis as any).__ddbTrace = true;
  const b = '/tmp/ddx/big/', d = 'business_date=2024-03-15/';
  const t1 = Date.now();
  await runTca({ orders: b + 'orders/' + d + 'desk=D1/part-0.parquet', fills: b + 'fills/' + d + 'desk=D1/part-0.parquet', quotes: b + 'quotes/' + d + 'part-0.parquet', trades: b + 'trades/' + d + 'part-0.parquet', by: ['broker', 'venue'] });
  console.log('tca', Date.now() - t1);
}, 600000);
