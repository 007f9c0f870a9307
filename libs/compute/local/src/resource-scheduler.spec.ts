import { describe, expect, it } from 'vitest';
import { ResourceScheduler, type Demand } from './resource-scheduler.js';

const cpu = (vcpus: number, memoryMiB = 1): Demand => ({ milliVcpus: vcpus * 1000, memoryMiB });
/** A budget with memory to spare, so that only vCPUs decide. */
const budget = (vcpus: number): Demand => cpu(vcpus, 1024);

function schedulerWith(capacity: Demand, maxOvertakes: number, jobs: [string, Demand][]) {
  const scheduler = new ResourceScheduler<string>(capacity, maxOvertakes);
  const demands = new Map(jobs);
  for (const [name, demand] of jobs) scheduler.enqueue(name, demand);
  return { scheduler, finish: (name: string) => scheduler.release(demands.get(name)!) };
}

describe('ResourceScheduler', () => {
  it('starts jobs in FIFO order while they fit, and more as resources are released', () => {
    const { scheduler, finish } = schedulerWith(cpu(2, 1024), 8, [
      ['a', cpu(1)],
      ['b', cpu(1)],
      ['c', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['a', 'b']);
    expect(scheduler.take()).toEqual([]);
    finish('b');
    expect(scheduler.take()).toEqual(['c']);
    expect(scheduler.queued).toBe(0);
  });

  it('counts memory as well as vCPUs', () => {
    const { scheduler, finish } = schedulerWith(cpu(4, 1000), 8, [
      ['a', cpu(1, 600)],
      ['b', cpu(1, 600)],
    ]);
    expect(scheduler.take()).toEqual(['a']);
    finish('a');
    expect(scheduler.take()).toEqual(['b']);
  });

  it('adds fractional vCPUs without drift', () => {
    const tenth: Demand = { milliVcpus: 100, memoryMiB: 1 };
    const scheduler = new ResourceScheduler<number>(cpu(1, 100), 8);
    for (let i = 0; i < 11; i += 1) scheduler.enqueue(i, tenth);
    expect(scheduler.take()).toHaveLength(10);
  });

  it('lets smaller jobs backfill past a job that does not fit yet', () => {
    const { scheduler } = schedulerWith(budget(2), 8, [
      ['small-running', cpu(1)],
      ['big', cpu(2)],
      ['small', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['small-running', 'small']);
  });

  it('reserves the machine for the oldest waiting job once it has been overtaken maxOvertakes times', () => {
    const { scheduler, finish } = schedulerWith(budget(2), 2, [
      ['long', cpu(1)],
      ['big', cpu(2)],
      ['s1', cpu(1)],
      ['s2', cpu(1)],
      ['s3', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['long', 's1']);
    finish('s1');
    // big has been overtaken once; s2 overtakes it a second time, the limit.
    expect(scheduler.take()).toEqual(['s2']);
    finish('s2');
    // Now one vCPU is free and s3 would fit, but big holds the reservation.
    expect(scheduler.take()).toEqual([]);
    finish('long');
    expect(scheduler.take()).toEqual(['big']);
    finish('big');
    expect(scheduler.take()).toEqual(['s3']);
  });

  it('is strict FIFO with maxOvertakes 0', () => {
    const { scheduler, finish } = schedulerWith(budget(2), 0, [
      ['a', cpu(1)],
      ['big', cpu(2)],
      ['b', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['a']);
    finish('a');
    expect(scheduler.take()).toEqual(['big']);
  });

  it('forgets a removed job', () => {
    const { scheduler } = schedulerWith(budget(1), 8, [
      ['a', cpu(1)],
      ['b', cpu(1)],
    ]);
    expect(scheduler.remove('a')).toBe(true);
    expect(scheduler.remove('a')).toBe(false);
    expect(scheduler.take()).toEqual(['b']);
  });

  it('tells whether a demand could ever fit', () => {
    const scheduler = new ResourceScheduler<string>(cpu(2, 1024), 8);
    expect(scheduler.fitsCapacity(cpu(2, 1024))).toBe(true);
    expect(scheduler.fitsCapacity(cpu(3, 1))).toBe(false);
    expect(scheduler.fitsCapacity(cpu(1, 2048))).toBe(false);
  });
});
