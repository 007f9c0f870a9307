import { describe, expect, it } from 'vitest';
import { CliUsageError } from './errors.js';
import { classify, newLandingId, planLanding, type LandingRequest } from './landing-plan.js';

const request = (operands: string[], more: Partial<LandingRequest> = {}): LandingRequest => ({
  dataset: 'executions',
  businessDate: '2026-11-20',
  operands,
  landingId: '20261121T060000Z-abc123',
  producer: 'nightshift-cli',
  ...more,
});

describe('classify', () => {
  it('takes the table from the file name, table=FILE, or a <table>/ directory; --desk only for per-desk tables', () => {
    expect(classify('data/fills.csv', 'cash')).toEqual({ path: 'data/fills.csv', table: 'fills', desk: 'cash' });
    expect(classify('quotes.parquet', 'cash')).toEqual({ path: 'quotes.parquet', table: 'quotes' });
    expect(classify('orders=today/export.csv', undefined)).toEqual({ path: 'today/export.csv', table: 'orders' });
    // nightshift generate's layout: table and desk from the directories.
    expect(classify('out/fills/business_date=2026-11-20/desk=program/part-0.csv', 'cash')).toEqual({
      path: 'out/fills/business_date=2026-11-20/desk=program/part-0.csv',
      table: 'fills',
      desk: 'program',
    });
    expect(() => classify('positions.csv', undefined)).toThrow(CliUsageError);
    expect(() => classify('positions.csv', undefined)).toThrow(/say it as table=positions.csv/);
  });
});

describe('planLanding', () => {
  it("puts every file under the landing's own id and builds the Dataset Landed detail", () => {
    const { files, detail } = planLanding(request(['fills.csv', 'quotes.csv'], { desk: 'cash', tenant: 'acme', force: true }));
    expect(files.map((f) => f.key)).toEqual([
      'landing/executions/fills/business_date=2026-11-20/desk=cash/20261121T060000Z-abc123/fills.csv',
      'landing/executions/quotes/business_date=2026-11-20/20261121T060000Z-abc123/quotes.csv',
    ]);
    expect(detail).toEqual({
      dataset: 'executions',
      businessDate: '2026-11-20',
      files: [
        { table: 'fills', key: files[0]!.key, desk: 'cash' },
        { table: 'quotes', key: files[1]!.key },
      ],
      producer: 'nightshift-cli',
      tenant: 'acme',
      force: true,
    });
  });

  it('refuses two files that would land as one object, and names every field the contract refuses by its flag or file', () => {
    expect(() => planLanding(request(['a/fills.csv', 'b/fills.csv'], { desk: 'cash' }))).toThrow(/a\/fills.csv and b\/fills.csv would land as the same object/);
    expect(() => planLanding(request([]))).toThrow(/missing FILE/);
    let error: unknown;
    try {
      planLanding(request(['fills.csv'], { dataset: 'Executions!', businessDate: '2026-02-30', desk: '../x' }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliUsageError);
    expect((error as Error).message).toMatch(/--dataset: /);
    expect((error as Error).message).toMatch(/--date: /);
    expect((error as Error).message).toMatch(/fills.csv \((key|desk)\): /);
  });

  it('landing ids sort by time and differ within a second', () => {
    const now = new Date('2026-11-21T06:00:00.123Z');
    expect(newLandingId(now)).toMatch(/^20261121T060000Z-[0-9a-f]{6}$/);
    expect(newLandingId(now)).not.toBe(newLandingId(now));
  });
});
