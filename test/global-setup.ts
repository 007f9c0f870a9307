import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Tests start the real worker as a child process, so its compiled entrypoint must be current.
 * `tsc -b` is incremental: a no-op when nothing changed. A build error does not stop the run
 * (`npm test` builds, and fails, before Vitest starts); the tests that need the worker then fail.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)), '-b', 'tsconfig.build.json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? String(e);
    process.stderr.write(`warning: the build failed; tests that start the worker will fail:\n${out}\n`);
  }
}
