import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** reporting's package folder: package.json sits beside both src/ and dist/. */
const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

let resolved: string | undefined;

/**
 * The code version a report names in its provenance: `configured` (NIGHTSHIFT_CODE_VERSION, which
 * a build sets, e.g. `0.1.0+9f2c1e4a7b3d`) when given; otherwise the package version and, where the
 * code runs from a git checkout, its commit (`0.1.0+<12 hex>`: the commit checked out, not whether
 * the work tree has changes); the bare version where git or the checkout is absent (a container
 * image). Worked out once per process: git is asked at most once, and its absence is never an error.
 */
export function resolveCodeVersion(configured?: string): string {
  if (configured !== undefined) return configured;
  return (resolved ??= codeVersionOf(PACKAGE_DIR));
}

/** `<version of dir's package.json>[+<commit>]`, the commit when `dir` is in a git checkout and git runs. */
export function codeVersionOf(dir: string): string {
  const { version } = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version: string };
  const commit = gitCommit(dir);
  return commit === undefined ? version : `${version}+${commit}`;
}

function gitCommit(dir: string): string | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    return /^[0-9a-f]{7,40}$/.test(commit) ? commit : undefined;
  } catch {
    // No git, or not a checkout (an image's /app): the package version alone says what runs.
    return undefined;
  }
}
