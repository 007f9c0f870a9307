import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireHomeLock, HomeInUseError, PID_FILE } from './home-lock.js';

/** The pid of a process that has exited: what a host killed -9 leaves in its pid file. */
async function aDeadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  return pid;
}

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'ns-home-lock-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('acquireHomeLock', () => {
  it('holds the home with this pid, refuses it to the next taker naming the pid, and frees it on release', async () => {
    const lock = await acquireHomeLock(home);
    expect(await readFile(join(home, PID_FILE), 'utf8')).toBe(`${process.pid}\n`);
    // Another nightshift would find the file with a live pid (this one) that is not its own.
    await writeFile(join(home, PID_FILE), `${process.ppid}\n`);
    const refused = await acquireHomeLock(home).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HomeInUseError);
    expect((refused as HomeInUseError).message).toContain(`${home} is in use by another nightshift (pid ${process.ppid}, see ${join(home, PID_FILE)})`);
    // Release leaves a file that is not this process's alone.
    await lock.release();
    expect(await readFile(join(home, PID_FILE), 'utf8')).toBe(`${process.ppid}\n`);

    await writeFile(join(home, PID_FILE), `${process.pid}\n`);
    await (await acquireHomeLock(home)).release();
    expect(existsSync(join(home, PID_FILE))).toBe(false);
  });

  it.each([
    ['a dead process', async () => `${await aDeadPid()}\n`],
    ['this process (a previous life in a container, with the same pid)', () => Promise.resolve(`${process.pid}\n`)],
    ['no pid at all', () => Promise.resolve('garbage')],
  ])('takes over a stale pid file holding %s', async (_what, content) => {
    await writeFile(join(home, PID_FILE), await content());
    const lock = await acquireHomeLock(home);
    expect(await readFile(join(home, PID_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    // Nothing left behind: no pid file, no file written aside.
    expect(await readdir(home)).toEqual([]);
  });
});
