import { describe, expect, it } from 'vitest';
import { HostUsageError, loadHostConfig, previousBusinessDay } from './config.js';

describe('host configuration', () => {
  it('defaults the business day to the previous weekday', () => {
    expect(previousBusinessDay(new Date('2026-11-23T09:00:00Z'))).toBe('2026-11-20'); // Monday -> Friday
    expect(previousBusinessDay(new Date('2026-11-25T09:00:00Z'))).toBe('2026-11-24');
  });

  it('reads flags and environment', () => {
    const c = loadHostConfig(['--once', '--date', '2026-11-19', '--desks', 'a, b', '--seed', '9'], { NIGHTSHIFT_HOME: '/tmp/h', NIGHTSHIFT_VCPUS: '3' });
    expect(c).toMatchObject({ home: '/tmp/h', once: true, split: false, businessDate: '2026-11-19', desks: ['a', 'b'], seed: 9, vcpus: 3, apiPort: 3000, eventsPort: 4010 });
    expect(loadHostConfig(['--split'], {}).split).toBe(true);
  });

  it.each([
    [['--frobnicate'], 'unknown argument --frobnicate'],
    [['--date'], '--date needs a value'],
    [['--date', '20261119'], 'businessDate: must be YYYY-MM-DD'],
  ])('rejects %j naming what is wrong', (argv, message) => {
    expect(() => loadHostConfig(argv, {})).toThrow(HostUsageError);
    expect(() => loadHostConfig(argv, {})).toThrow(message);
  });

  it('rejects a bad port from the environment, naming the field', () => {
    expect(() => loadHostConfig([], { NIGHTSHIFT_API_PORT: 'http' })).toThrow(/apiPort/);
  });
});
