/**
 * The port's key rule (`objectKeyProblem`) is defined once, in the contracts, so that an event
 * schema accepts exactly the keys every adapter accepts; re-exported here for the adapters.
 */
export { objectKeyProblem } from '@nightshift/contracts';

/**
 * The order `list` returns keys in: S3's, which is by UTF-8 bytes. Comparing code points gives the
 * same order (UTF-8 preserves it); JavaScript's default string order (UTF-16 code units) does not
 * for characters above U+FFFF.
 */
export function compareObjectKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}
