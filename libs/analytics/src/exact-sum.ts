import { IncompatiblePartialsError } from './errors.js';

/** Decimal places of the exact sums (DuckDB's DECIMAL(38, 12), as `tca-lines.ts` sums them). */
export const EXACT_SCALE = 12;

/** An exact decimal: `units × 10^-EXACT_SCALE`. */
export interface Exact {
  units: bigint;
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d*))?$/;

/**
 * Parses a decimal string as DuckDB prints a DECIMAL (`-12.340000000000`). More decimal places than
 * EXACT_SCALE, or anything else, is an `IncompatiblePartialsError`: a partial whose sums are not
 * exact decimals was not written by this version.
 */
export function parseExact(text: string, what = 'sum'): Exact {
  const m = DECIMAL.exec(text);
  if (!m || (m[3] ?? '').length > EXACT_SCALE) throw new IncompatiblePartialsError(`${what} is not an exact decimal with at most ${EXACT_SCALE} places: ${JSON.stringify(text)}`);
  const units = BigInt(m[2]! + (m[3] ?? '').padEnd(EXACT_SCALE, '0'));
  return { units: m[1] === '-' ? -units : units };
}

export function addExact(a: Exact, b: Exact): Exact {
  return { units: a.units + b.units };
}

/** The decimal string of `x`, EXACT_SCALE places. */
export function formatExact(x: Exact): string {
  const negative = x.units < 0n;
  const digits = (negative ? -x.units : x.units).toString().padStart(EXACT_SCALE + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -EXACT_SCALE)}.${digits.slice(-EXACT_SCALE)}`;
}

/** The double nearest `x` (JavaScript's decimal-to-double conversion is correctly rounded). */
export function exactToNumber(x: Exact): number {
  return Number.parseFloat(formatExact(x));
}
