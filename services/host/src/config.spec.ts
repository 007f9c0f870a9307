import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBusinessDate, HostHelpRequested, HostUsageError, loadHostConfig, previousBusinessDay } from './config.js';

describe('host configuration', () => {
  it('defaults the business day to the previous weekday', () => {
    expect(previousBusinessDay(new Date('2026-11-23T09:00:00Z'))).toBe('2026-11-20'); // Monday -> Friday
    expect(previousBusinessDay(new Date('2026-11-25T09:00:00Z'))).toBe('2026-11-24');
  });

  it("gives a pipeline's default business day in its own calendar: exchange holidays are skipped", () => {
    // Friday 2026-11-27: the day after Thanksgiving, when NYSE was closed on the Thursday.
    expect(previousBusinessDay(new Date('2026-11-27T09:00:00Z'))).toBe('2026-11-26');
    expect(previousBusinessDay(new Date('2026-11-27T09:00:00Z'), 'XNYS')).toBe('2026-11-25');
    expect(defaultBusinessDate({ calendar: 'XNYS' }, new Date('2026-12-28T06:00:00Z'))).toBe('2026-12-24');
    expect(defaultBusinessDate({ calendar: 'XLON' }, new Date('2026-12-29T06:00:00Z'))).toBe('2026-12-24');
  });

  it('reads flags and environment', () => {
    const c = loadHostConfig(['--once', '--date', '2026-11-19', '--desks', 'a, b', '--seed', '9'], { NIGHTSHIFT_HOME: '/tmp/h', NIGHTSHIFT_VCPUS: '3', NIGHTSHIFT_API_PORT: '3001' });
    expect(c).toMatchObject({ home: '/tmp/h', once: true, split: false, businessDate: '2026-11-19', desks: ['a', 'b'], seed: 9, vcpus: 3, apiPort: 3001, eventsPort: 0 });
    expect(loadHostConfig(['--split'], {}).split).toBe(true);
  });

  it('serves on 3000 and 4010 by default, but takes any free ports with --once unless they were set', () => {
    expect(loadHostConfig([], {})).toMatchObject({ apiPort: 3000, eventsPort: 4010 });
    expect(loadHostConfig(['--once'], {})).toMatchObject({ apiPort: 0, eventsPort: 0 });
    expect(loadHostConfig(['--once'], { NIGHTSHIFT_API_PORT: '3100', NIGHTSHIFT_EVENTS_PORT: '4110' })).toMatchObject({ apiPort: 3100, eventsPort: 4110 });
  });

  it.each([
    [['--frobnicate'], 'unknown argument --frobnicate'],
    [['--date'], '--date needs a value'],
    [['--date', '20261119'], '--date: must be YYYY-MM-DD'],
    [['--date', '2026-13-01'], '--date: is not a calendar date'],
    [['--date', '2026-02-30'], '--date: is not a calendar date'],
    [['--date', '2026-11-28'], '--date: 2026-11-28 is a Saturday: the sample day is a weekday (or pass --no-sample)'],
  ])('rejects %j naming what is wrong', (argv, message) => {
    expect(() => loadHostConfig(argv, {})).toThrow(HostUsageError);
    expect(() => loadHostConfig(argv, {})).toThrow(message);
  });

  it('rejects a bad port from the environment, naming the variable', () => {
    expect(() => loadHostConfig([], { NIGHTSHIFT_API_PORT: 'http' })).toThrow(/^NIGHTSHIFT_API_PORT: /);
  });

  it('takes a weekend date without the sample day, and answers --help with the usage, not an error', () => {
    expect(loadHostConfig(['--no-sample', '--date', '2026-11-28'], {}).businessDate).toBe('2026-11-28');
    for (const flag of ['--help', '-h']) {
      expect(() => loadHostConfig([flag], {})).toThrow(HostHelpRequested);
      expect(() => loadHostConfig([flag], {})).toThrow(/^usage: npm start -- /);
    }
  });

  it('reads the pipelines directory from NIGHTSHIFT_PIPELINES_DIR, else <home>/pipelines when it exists', () => {
    const home = mkdtempSync(join(tmpdir(), 'ns-host-config-'));
    try {
      expect(loadHostConfig([], { NIGHTSHIFT_HOME: home }).pipelinesDir).toBeUndefined();
      mkdirSync(join(home, 'pipelines'));
      expect(loadHostConfig([], { NIGHTSHIFT_HOME: home }).pipelinesDir).toBe(join(home, 'pipelines'));
      // Set explicitly it is taken as given (resolved), whether it exists or not: the start says if not.
      expect(loadHostConfig([], { NIGHTSHIFT_HOME: home, NIGHTSHIFT_PIPELINES_DIR: 'site/pipelines' }).pipelinesDir).toBe(resolve('site/pipelines'));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
