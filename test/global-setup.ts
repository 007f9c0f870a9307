import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Tests start the real worker as a child process, so its compiled entrypoint must be current.
 * `tsc -b` is incremental: a no-op when nothing changed.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
