import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PID_FILE } from './home-lock.js';
import { waitFor } from './testing/wait.js';

/*
 * `npm start` as a person runs it: the compiled host as a child process (build first), its exit code
 * and what it printed. The newcomer's rough edges: a port or a home another process holds, and what
 * --once prints and leaves behind.
 */

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let home: string;
const children: ChildProcess[] = [];
const servers: Server[] = [];
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'ns-host-main-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await rm(home, { recursive: true, force: true });
});

interface Host {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startHost(args: string[], env: Record<string, string> = {}): Host {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NIGHTSHIFT_HOME: home, NIGHTSHIFT_VCPUS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** A port another process holds, as a person's other server would. */
async function aBusyPort(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('npm start refuses what another process holds, with one line saying what to change (exit 2)', () => {
  it.each([
    ['NIGHTSHIFT_EVENTS_PORT', 'the AWS APIs gateway'],
    ['NIGHTSHIFT_API_PORT', 'the REST API'],
  ])('a busy %s', async (variable, what) => {
    const port = await aBusyPort();
    const host = startHost(['--once', '--no-sample'], { [variable]: String(port) });
    expect(await host.exited).toBe(2);
    expect(host.stderr()).toBe(`port ${port} on 127.0.0.1 (${what}) is already in use by another process: stop it, or set ${variable} to a free port (0 picks one)\n`);
    // Refused before anything started: no DynamoDB opened, no home held.
    expect(existsSync(join(home, 'dynamodb'))).toBe(false);
    expect(existsSync(join(home, PID_FILE))).toBe(false);
  });

  it('a home another nightshift is serving; the home is free again once that one stops', async () => {
    const first = startHost(['--no-sample'], { NIGHTSHIFT_API_PORT: '0', NIGHTSHIFT_EVENTS_PORT: '0' });
    await waitFor(() => first.stdout(), (out) => out.includes('serving; Ctrl-C to stop'), { what: 'the first host to serve', timeoutMs: 120_000 });

    const second = startHost(['--once', '--no-sample']);
    expect(await second.exited).toBe(2);
    const pidFile = join(home, PID_FILE);
    expect(second.stderr()).toBe(
      `${home} is in use by another nightshift (pid ${first.child.pid}, see ${pidFile}): stop that one, or give this one another home ` +
        `with NIGHTSHIFT_HOME (if pid ${first.child.pid} is not nightshift, delete ${pidFile})\n`,
    );
    expect(second.stdout()).toBe('');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(143);
    expect(existsSync(pidFile)).toBe(false);
  }, 180_000);
});

describe('npm start -- --once', () => {
  it('takes over the pid file a killed host left; prints no links it will not serve, each report with its units and its file, then one summary line', async () => {
    const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((resolve) => dead.once('exit', resolve));
    await writeFile(join(home, PID_FILE), `${dead.pid}\n`);

    const host = startHost(['--once', '--desks', 'equities-cash', '--date', '2026-11-27']);
    expect(await host.exited).toBe(0);
    const out = host.stdout();
    expect(host.stderr()).toBe('');
    expect(out).toContain('API           not served with --once: `npm start` (without --once) serves REST, GraphQL, /docs, the /ui dashboard and /metrics until Ctrl-C\n');
    expect(out).not.toContain('http://');
    // Units on the headline figures.
    const figure = (name: string, value: string) => new RegExp(`\\n  ${name.padEnd(30)} ${value}\\n`);
    expect(out).toMatch(figure('arrival_slippage_bps', '-?[\\d,]+\\.\\d\\d bps'));
    expect(out).toMatch(figure('fill_rate_qty', '\\d+\\.\\d\\d %'));
    expect(out).toMatch(figure('var_99_historical', '[\\d,]+ USD'));
    expect(out).toMatch(figure('orders', '[\\d,]+ orders'));
    // Each report's document, on disk after the host has gone.
    const files = [...out.matchAll(/^ {2}file: {3}(\S+)$/gm)].map((m) => m[1]!);
    expect(files).toHaveLength(3);
    for (const file of files) {
      expect(file.startsWith(join(home, 'objects', 'reports', '2026-11-27') + '/')).toBe(true);
      const doc = JSON.parse(await readFile(file, 'utf8')) as { businessDate: string; headline: Record<string, unknown> };
      expect(doc.businessDate).toBe('2026-11-27');
      expect(Object.keys(doc.headline).length).toBeGreaterThan(0);
    }
    // The last line, and the only summary.
    expect(out).toMatch(/\ndone: 3 runs \(3 succeeded, 0 failed\), 3 reports, 0 rejected in \d+\.\d s\n$/);
    expect(out.match(/^done: /gm)).toHaveLength(1);
    expect(existsSync(join(home, PID_FILE))).toBe(false);
  }, 180_000);
});
