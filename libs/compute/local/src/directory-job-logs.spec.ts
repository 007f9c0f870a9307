import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the conformance suite is test-only, not in jobs-domain's index
import { describeJobLogsContract } from '../../../jobs/domain/src/testing/job-logs.contract.js';
import { DirectoryJobLogs } from './directory-job-logs.js';
import { InvalidLogStreamError } from '@nightshift/jobs-domain';
import { InvalidComputeRequestError } from './errors.js';

let tmp: string;
let logDir: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'job-logs-'));
  logDir = join(tmp, 'logs');
  await mkdir(join(logDir, 'nightshift-worker', 'default'), { recursive: true });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('DirectoryJobLogs', () => {
  it('reads a stream by its logStreamName', async () => {
    await writeFile(join(logDir, 'nightshift-worker', 'default', 'abc123'), 'line 1\nline 2\n');
    const log = await new DirectoryJobLogs(logDir).read('nightshift-worker/default/abc123');
    expect(log).toEqual({ text: 'line 1\nline 2\n', truncated: false, bytes: 14 });
  });

  it('keeps the last maxBytes, cut at a character boundary', async () => {
    // "é" is two bytes in UTF-8: a cut at maxBytes 5 lands inside it.
    await writeFile(join(logDir, 'nightshift-worker', 'default', 'utf8'), 'abcé1234');
    const log = await new DirectoryJobLogs(logDir).read('nightshift-worker/default/utf8', { maxBytes: 5 });
    expect(log).toEqual({ text: '1234', truncated: true, bytes: 4 });
    const whole = await new DirectoryJobLogs(logDir).read('nightshift-worker/default/utf8', { maxBytes: 6 });
    expect(whole).toEqual({ text: 'é1234', truncated: true, bytes: 6 });
  });

  it('answers undefined for a stream that does not exist (or is a directory)', async () => {
    const logs = new DirectoryJobLogs(logDir);
    expect(await logs.read('nightshift-worker/default/missing')).toBeUndefined();
    expect(await logs.read('nightshift-worker/default')).toBeUndefined();
    expect(await new DirectoryJobLogs(join(tmp, 'no-such-dir')).read('a/b')).toBeUndefined();
  });

  it('refuses names that could leave the log directory', async () => {
    await writeFile(join(tmp, 'secret'), 'not a log');
    const logs = new DirectoryJobLogs(logDir);
    for (const name of ['../secret', 'a/../../secret', '/etc/passwd', 'a//b', 'a/', '', 'a\\b', 'a/b.txt', 'x'.repeat(513)]) {
      await expect(logs.read(name), name).rejects.toBeInstanceOf(InvalidLogStreamError);
    }
    const error = await logs.read('../secret').catch((e: unknown) => e);
    expect((error as InvalidLogStreamError).retryable).toBe(false);
  });

  it('refuses a maxBytes that is not a positive integer', async () => {
    await expect(new DirectoryJobLogs(logDir).read('a/b', { maxBytes: 0 })).rejects.toBeInstanceOf(InvalidComputeRequestError);
  });
});

describeJobLogsContract('DirectoryJobLogs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'job-logs-contract-'));
  return {
    logs: new DirectoryJobLogs(dir),
    async write(logStreamName, lines) {
      const file = join(dir, ...logStreamName.split('/'));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, lines.map((line) => `${line}\n`).join(''));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('DirectoryJobLogs.readAll', () => {
  it('reads the whole stream and when it was last written', async () => {
    const file = join(logDir, 'nightshift-worker', 'default', 'whole');
    await writeFile(file, 'a\nb\n');
    const modifiedAt = new Date('2024-05-02T22:30:00.000Z');
    await utimes(file, modifiedAt, modifiedAt);
    const logs = new DirectoryJobLogs(logDir);
    expect(await logs.readAll('nightshift-worker/default/whole')).toEqual({ text: 'a\nb\n', modifiedAt });
    expect(await logs.readAll('nightshift-worker/default/missing')).toBeUndefined();
    expect(await logs.readAll('nightshift-worker/default')).toBeUndefined();
    await expect(logs.readAll('../secret')).rejects.toBeInstanceOf(InvalidLogStreamError);
  });
});
