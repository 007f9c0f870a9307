/**
 * The port's key rule, shared by every adapter so that a key valid in one mode is valid in all:
 * relative, `/`-separated, at most 1024 characters, no empty, `.` or `..` segment, no `\` or NUL.
 * Stricter than S3 on purpose: the directory store maps keys to paths, and a key that would escape
 * or alias a path there must not be accepted in AWS either.
 * Returns the reason the key is invalid, or undefined when it is valid.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty';
  if (key.length > 1024) return 'longer than 1024 characters';
  if (key.startsWith('/')) return 'starts with "/"';
  if (key.includes('\\')) return 'contains "\\"';
  if (key.includes('\0')) return 'contains a NUL byte';
  if (key.split('/').some((s) => s === '..' || s === '.' || s === '')) return 'has an empty, "." or ".." segment';
  return undefined;
}

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
