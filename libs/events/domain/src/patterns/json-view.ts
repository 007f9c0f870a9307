/**
 * One value as JSON.stringify would see it: `toJSON()` applied, non-finite numbers as null, bigints
 * as numbers, and undefined for what JSON cannot hold (undefined, functions, symbols). Objects and
 * arrays are returned as they are; callers walk into them.
 */
export function jsonView(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'object':
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    default:
      return undefined; // undefined, functions and symbols are not JSON
  }
}
