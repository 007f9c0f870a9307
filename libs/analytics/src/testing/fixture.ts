import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Hand-computed TCA/execution fixture shared by the specs (see the comment for every number). */
/*
 * Hand-computed fixture (one symbol ABC, markout 60 s). Sign s = +1 buy, -1 sell; positive = cost.
 *
 * Quotes (bid/ask -> mid): 10:00 99.90/100.10 -> 100.00, 10:01 100.00/100.20 -> 100.10,
 *   10:02 100.10/100.30 -> 100.20, 10:03 100.20/100.40 -> 100.30, 10:10 100.30/100.50 -> 100.40.
 * Market trades: 09:59:00 1000@100.00, 10:00:30 1000@100.10, 10:01:30 3000@100.20,
 *   10:02:30 1000@100.30, 10:05:00 5000@100.40.
 *   Day VWAP = (100000+100100+300600+100300+502000)/11000 = 1103000/11000 = 100.272727...; close = 100.40.
 *
 * O1 BUY 2000, decision 09:59:30 @ 99.95, arrival 10:00:00 @ 100.00, end 10:03:00, broker B1.
 *   F1 10:00:30 XNYS 1000 @ 100.10 (comm 1.00, fees 0.30); F2 10:01:30 XNAS 1000 @ 100.20 (comm 1.00, fees 0.30).
 *   Interval [10:00, 10:03] trades: 10:00:30, 10:01:30, 10:02:30 -> V=5000, PV=501000, IVWAP=100.20.
 *   TWAP of mid = (100.00+100.10+100.20)/3 = 100.10 (each mid held 60 s).
 * O2 SELL 1000, decision 10:01:00 @ 100.10, arrival 10:01:00 @ 100.10, end 10:03:00, broker B2, cum 700.
 *   F3 10:02:00 XNYS 500 @ 100.10 (comm 0.50, fees 0.15);
 *   F4 10:02:30 XNAS 300 @ 100.30, then busted by F4-X (excluded);
 *   F5 10:02:45 XNYS 200 @ 100.30, corrected by F5-C to 200 @ 100.20 (comm 0.20, fees 0.06).
 *   Interval [10:01, 10:03]: 10:01:30, 10:02:30 -> V=4000, PV=400900, IVWAP=100.225. TWAP = 100.15.
 */
export const QUOTES = `ts,symbol,bid,ask,bid_size,ask_size
2024-03-15 10:00:00,ABC,99.90,100.10,100,100
2024-03-15 10:01:00,ABC,100.00,100.20,100,100
2024-03-15 10:02:00,ABC,100.10,100.30,100,100
2024-03-15 10:03:00,ABC,100.20,100.40,100,100
2024-03-15 10:10:00,ABC,100.30,100.50,100,100
`;
export const TRADES = `ts,symbol,price,qty
2024-03-15 09:59:00,ABC,100.00,1000
2024-03-15 10:00:30,ABC,100.10,1000
2024-03-15 10:01:30,ABC,100.20,3000
2024-03-15 10:02:30,ABC,100.30,1000
2024-03-15 10:05:00,ABC,100.40,5000
`;
export const ORDERS = `order_id,desk,trader,symbol,side,order_qty,limit_px,decision_ts,decision_px,arrival_ts,arrival_px,broker,algo,status,end_ts,cum_qty,avg_px
O1,D1,T1,ABC,BUY,2000,,2024-03-15 09:59:30,99.95,2024-03-15 10:00:00,100.00,B1,VWAP,FILLED,2024-03-15 10:03:00,2000,100.15
O2,D1,T2,ABC,SELL,1000,,2024-03-15 10:01:00,100.10,2024-03-15 10:01:00,100.10,B2,TWAP,CANCELLED,2024-03-15 10:03:00,700,100.128571
`;
export const FILLS = `fill_id,order_id,exec_type,ref_fill_id,ts,venue,last_qty,last_px,commission,fees
F1,O1,FILL,,2024-03-15 10:00:30,XNYS,1000,100.10,1.00,0.30
F2,O1,FILL,,2024-03-15 10:01:30,XNAS,1000,100.20,1.00,0.30
F3,O2,FILL,,2024-03-15 10:02:00,XNYS,500,100.10,0.50,0.15
F4,O2,FILL,,2024-03-15 10:02:30,XNAS,300,100.30,0.30,0.09
F4-X,O2,BUST,F4,2024-03-15 10:03:15,XNAS,300,100.30,0,0
F5,O2,FILL,,2024-03-15 10:02:45,XNYS,200,100.30,0.20,0.06
F5-C,O2,CORRECT,F5,2024-03-15 10:02:45,XNYS,200,100.20,0.20,0.06
`;


/** Writes the fixture CSVs into `dir` and returns their paths. */
export async function writeFixture(dir: string): Promise<{ orders: string; fills: string; quotes: string; trades: string }> {
  const files = { quotes: QUOTES, trades: TRADES, orders: ORDERS, fills: FILLS };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, `${name}.csv`), text);
  return { orders: join(dir, 'orders.csv'), fills: join(dir, 'fills.csv'), quotes: join(dir, 'quotes.csv'), trades: join(dir, 'trades.csv') };
}
