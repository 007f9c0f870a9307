import { describe, expect, it } from 'vitest';
import { ResourceScheduler, type Demand, type Placement, type QueueDefinition } from './resource-scheduler.js';

const cpu = (vcpus: number, memoryMiB = 1): Demand => ({ milliVcpus: vcpus * 1000, memoryMiB });
/** A budget with memory to spare, so that only vCPUs decide. */
const budget = (vcpus: number): Demand => cpu(vcpus, 100_000);
const FIFO: Placement = { queue: 'q' };

function schedulerWith(capacity: Demand, maxOvertakes: number, jobs: [string, Demand][], queues: QueueDefinition[] = [{ name: 'q', priority: 1 }]) {
  const scheduler = new ResourceScheduler<string>(capacity, maxOvertakes);
  for (const queue of queues) scheduler.defineQueue(queue);
  for (const [name, demand] of jobs) scheduler.enqueue(name, demand, FIFO);
  return scheduler;
}

/** Takes until nothing more starts, releasing nothing: what is running once the machine is full. */
function fill<T>(scheduler: ResourceScheduler<T>): T[] {
  return scheduler.take();
}

describe('ResourceScheduler: one FIFO queue', () => {
  it('starts jobs in FIFO order while they fit, and more as resources are released', () => {
    const scheduler = schedulerWith(cpu(2, 1024), 8, [
      ['a', cpu(1)],
      ['b', cpu(1)],
      ['c', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['a', 'b']);
    expect(scheduler.take()).toEqual([]);
    scheduler.release('b');
    expect(scheduler.take()).toEqual(['c']);
    expect(scheduler.queued).toBe(0);
    expect(scheduler.running).toBe(2);
  });

  it('counts memory as well as vCPUs', () => {
    const scheduler = schedulerWith(cpu(4, 1000), 8, [
      ['a', cpu(1, 600)],
      ['b', cpu(1, 600)],
    ]);
    expect(scheduler.take()).toEqual(['a']);
    scheduler.release('a');
    expect(scheduler.take()).toEqual(['b']);
  });

  it('adds fractional vCPUs without drift', () => {
    const scheduler = new ResourceScheduler<number>(cpu(1, 100), 8);
    scheduler.defineQueue({ name: 'q', priority: 1 });
    for (let i = 0; i < 11; i += 1) scheduler.enqueue(i, { milliVcpus: 100, memoryMiB: 1 }, FIFO);
    expect(scheduler.take()).toHaveLength(10);
  });

  it('lets smaller jobs backfill past a job that does not fit yet', () => {
    const scheduler = schedulerWith(budget(2), 8, [
      ['small-running', cpu(1)],
      ['big', cpu(2)],
      ['small', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['small-running', 'small']);
  });

  it('reserves the machine for the first waiting job once it has been overtaken maxOvertakes times', () => {
    const scheduler = schedulerWith(budget(2), 2, [
      ['long', cpu(1)],
      ['big', cpu(2)],
      ['s1', cpu(1)],
      ['s2', cpu(1)],
      ['s3', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['long', 's1']);
    scheduler.release('s1');
    // big has been overtaken once; s2 overtakes it a second time, the limit.
    expect(scheduler.take()).toEqual(['s2']);
    scheduler.release('s2');
    // Now one vCPU is free and s3 would fit, but big holds the reservation.
    expect(scheduler.take()).toEqual([]);
    scheduler.release('long');
    expect(scheduler.take()).toEqual(['big']);
    scheduler.release('big');
    expect(scheduler.take()).toEqual(['s3']);
  });

  it('is strict FIFO with maxOvertakes 0', () => {
    const scheduler = schedulerWith(budget(2), 0, [
      ['a', cpu(1)],
      ['big', cpu(2)],
      ['b', cpu(1)],
    ]);
    expect(scheduler.take()).toEqual(['a']);
    scheduler.release('a');
    expect(scheduler.take()).toEqual(['big']);
  });

  it('forgets a removed job, and releases only what runs', () => {
    const scheduler = schedulerWith(budget(1), 8, [
      ['a', cpu(1)],
      ['b', cpu(1)],
    ]);
    expect(scheduler.remove('a')).toBe(true);
    expect(scheduler.remove('a')).toBe(false);
    expect(scheduler.release('a')).toBe(false);
    expect(scheduler.take()).toEqual(['b']);
    expect(scheduler.remove('b')).toBe(false);
  });

  it('tells whether a demand could ever fit', () => {
    const scheduler = new ResourceScheduler<string>(cpu(2, 1024), 8);
    expect(scheduler.fitsCapacity(cpu(2, 1024))).toBe(true);
    expect(scheduler.fitsCapacity(cpu(3, 1))).toBe(false);
    expect(scheduler.fitsCapacity(cpu(1, 2048))).toBe(false);
  });

  it('keeps FIFO order through thousands of removals (lanes compact without reordering)', () => {
    const scheduler = schedulerWith(budget(1), 8, []);
    for (let i = 0; i < 5000; i += 1) scheduler.enqueue(`j${i}`, cpu(1), FIFO);
    for (let i = 0; i < 4000; i += 1) scheduler.remove(`j${i}`);
    expect(scheduler.take()).toEqual(['j4000']);
    scheduler.release('j4000');
    expect(scheduler.take()).toEqual(['j4001']);
  });
});

describe('ResourceScheduler: job queue priority', () => {
  // https://docs.aws.amazon.com/batch/latest/userguide/job_queue_parameters.html: queues with a
  // higher priority are evaluated first for the compute environment they share.
  it("starts a high-priority queue's RUNNABLE job before an earlier low-priority one", () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue({ name: 'low', priority: 1 });
    scheduler.defineQueue({ name: 'high', priority: 10 });
    scheduler.enqueue('running', cpu(1), { queue: 'low' });
    expect(scheduler.take()).toEqual(['running']);
    scheduler.enqueue('low-1', cpu(1), { queue: 'low' });
    scheduler.enqueue('high-1', cpu(1), { queue: 'high' });
    scheduler.release('running');
    expect(scheduler.take()).toEqual(['high-1']);
    scheduler.release('high-1');
    expect(scheduler.take()).toEqual(['low-1']);
  });

  it('lets a lower-priority job use what the higher-priority queue cannot, within maxOvertakes', () => {
    const scheduler = new ResourceScheduler<string>(budget(2), 8);
    scheduler.defineQueue({ name: 'high', priority: 10 });
    scheduler.defineQueue({ name: 'low', priority: 1 });
    scheduler.enqueue('running', cpu(1), { queue: 'low' });
    expect(scheduler.take()).toEqual(['running']);
    scheduler.enqueue('high-big', cpu(2), { queue: 'high' });
    scheduler.enqueue('low-small', cpu(1), { queue: 'low' });
    expect(scheduler.take()).toEqual(['low-small']);
  });

  it('places equal priorities in the order the queues were defined', () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue({ name: 'a', priority: 5 });
    scheduler.defineQueue({ name: 'b', priority: 5 });
    scheduler.enqueue('in-b', cpu(1), { queue: 'b' });
    scheduler.enqueue('in-a', cpu(1), { queue: 'a' });
    expect(scheduler.take()).toEqual(['in-a']);
  });
});

describe('ResourceScheduler: fair share', () => {
  // https://docs.aws.amazon.com/batch/latest/userguide/fair-share-scheduling.html
  const fairQueue = (shares: Record<string, { weightFactor: number }> = {}, computeReservation?: number): QueueDefinition => ({
    name: 'fair',
    priority: 1,
    fairShare: { shareDecaySeconds: 0, shares, ...(computeReservation !== undefined && { computeReservation }) },
  });

  it("does not let one share's 500-child array starve another share's job: it starts as soon as one slot frees", () => {
    const scheduler = new ResourceScheduler<string>(budget(2), 8);
    scheduler.defineQueue(fairQueue());
    for (let i = 0; i < 500; i += 1) scheduler.enqueue(`a:${i}`, cpu(1), { queue: 'fair', share: 'deskA' });
    expect(scheduler.take()).toEqual(['a:0', 'a:1']);
    scheduler.enqueue('b', cpu(1), { queue: 'fair', share: 'deskB' });
    expect(scheduler.explain(['b']).get('b')).toMatchObject({ queue: 'fair', ahead: 0, share: { id: 'deskB', milliVcpus: 0 } });
    scheduler.release('a:0');
    expect(scheduler.take()).toEqual(['b']);
    scheduler.release('a:1');
    expect(scheduler.take()).toEqual(['a:2']);
  });

  it('gives weightFactor 0.5 about twice the running slots of weightFactor 1', () => {
    const scheduler = new ResourceScheduler<string>(budget(12), 8);
    scheduler.defineQueue(fairQueue({ light: { weightFactor: 0.5 }, heavy: { weightFactor: 1 } }));
    for (let i = 0; i < 100; i += 1) {
      scheduler.enqueue(`heavy:${i}`, cpu(1), { queue: 'fair', share: 'heavy' });
      scheduler.enqueue(`light:${i}`, cpu(1), { queue: 'fair', share: 'light' });
    }
    const running = new Set(fill(scheduler));
    const count = (share: string) => [...running].filter((id) => id.startsWith(share)).length;
    expect(count('light') + count('heavy')).toBe(12);
    expect(count('light') / count('heavy')).toBeGreaterThanOrEqual(1.6);
    expect(count('light') / count('heavy')).toBeLessThanOrEqual(2.5);

    // In steady state too: each freed slot goes to the share with the lower usage x weight.
    for (let round = 0; round < 50; round += 1) {
      const done = [...running][round % running.size];
      running.delete(done);
      scheduler.release(done);
      for (const id of scheduler.take()) running.add(id);
    }
    expect(count('light') + count('heavy')).toBe(12);
    expect(count('light') / count('heavy')).toBeGreaterThanOrEqual(1.6);
    expect(count('light') / count('heavy')).toBeLessThanOrEqual(2.5);
  });

  it('matches share keys ending in * by prefix, the longest prefix winning', () => {
    const scheduler = new ResourceScheduler<string>(budget(9), 8);
    scheduler.defineQueue(fairQueue({ 'desk*': { weightFactor: 1 }, 'deskFx*': { weightFactor: 0.5 } }));
    for (let i = 0; i < 20; i += 1) {
      scheduler.enqueue(`fx:${i}`, cpu(1), { queue: 'fair', share: 'deskFxSpot' });
      scheduler.enqueue(`eq:${i}`, cpu(1), { queue: 'fair', share: 'deskEquity' });
    }
    const running = fill(scheduler);
    expect(running.filter((id) => id.startsWith('fx')).length).toBe(6);
    expect(running.filter((id) => id.startsWith('eq')).length).toBe(3);
  });

  it('starts higher schedulingPriority first within a share, then FIFO', () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue(fairQueue());
    scheduler.enqueue('running', cpu(1), { queue: 'fair', share: 'a' });
    expect(scheduler.take()).toEqual(['running']);
    scheduler.enqueue('p0-first', cpu(1), { queue: 'fair', share: 'a', schedulingPriority: 0 });
    scheduler.enqueue('p5', cpu(1), { queue: 'fair', share: 'a', schedulingPriority: 5 });
    scheduler.enqueue('p0-second', cpu(1), { queue: 'fair', share: 'a' });
    scheduler.enqueue('p9', cpu(1), { queue: 'fair', share: 'a', schedulingPriority: 9 });
    const order: string[] = [];
    let last = 'running';
    for (let i = 0; i < 4; i += 1) {
      scheduler.release(last);
      [last] = scheduler.take();
      order.push(last);
    }
    expect(order).toEqual(['p9', 'p5', 'p0-first', 'p0-second']);
  });

  it('holds back (computeReservation/100)^activeShares of the vCPUs for shares not active yet', () => {
    const scheduler = new ResourceScheduler<string>(budget(4), 8);
    scheduler.defineQueue(fairQueue({}, 50));
    for (let i = 0; i < 10; i += 1) scheduler.enqueue(`a:${i}`, cpu(1), { queue: 'fair', share: 'a' });
    // One active share: 50% of 4 vCPUs reserved.
    expect(scheduler.take()).toEqual(['a:0', 'a:1']);
    // Two active shares: 25% reserved, so 3 vCPUs usable, and b is the share with less usage.
    scheduler.enqueue('b:0', cpu(1), { queue: 'fair', share: 'b' });
    expect(scheduler.take()).toEqual(['b:0']);
    expect(scheduler.take()).toEqual([]);
  });

  it('always lets a fair-share queue with nothing running start one unit, whatever the reservation', () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue(fairQueue({}, 99));
    scheduler.enqueue('a', cpu(1), { queue: 'fair', share: 'x' });
    expect(scheduler.take()).toEqual(['a']);
  });

  it('refuses a unit without a share in a fair-share queue, and an unknown queue', () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue(fairQueue());
    expect(() => scheduler.enqueue('a', cpu(1), { queue: 'fair' })).toThrow(/needs a share/);
    expect(() => scheduler.enqueue('a', cpu(1), { queue: 'nope' })).toThrow(/not defined/);
    expect(() => scheduler.defineQueue(fairQueue())).toThrow(/already defined/);
  });
});

describe('ResourceScheduler.explain', () => {
  it('counts the units ahead in placement order across queues, and what is in use', () => {
    const scheduler = new ResourceScheduler<string>(cpu(2, 4096), 8);
    scheduler.defineQueue({ name: 'low', priority: 1 });
    scheduler.defineQueue({ name: 'high', priority: 10 });
    scheduler.enqueue('r1', cpu(1, 512), { queue: 'low' });
    scheduler.enqueue('r2', cpu(1, 512), { queue: 'low' });
    scheduler.take();
    scheduler.enqueue('low-1', cpu(1), { queue: 'low' });
    scheduler.enqueue('low-2', cpu(1), { queue: 'low' });
    for (let i = 0; i < 12; i += 1) scheduler.enqueue(`high-${i}`, cpu(1), { queue: 'high' });
    const waiting = scheduler.explain(['low-2', 'high-3', 'r1', 'unknown']);
    expect(waiting.get('high-3')).toEqual({ queue: 'high', ahead: 3 });
    expect(waiting.get('low-2')).toEqual({ queue: 'low', ahead: 13 });
    expect(waiting.has('r1')).toBe(false);
    expect(scheduler.inUse).toEqual({ milliVcpus: 2000, memoryMiB: 1024, units: 2 });
  });

  it('orders a fair-share queue as the shares would take turns', () => {
    const scheduler = new ResourceScheduler<string>(budget(1), 8);
    scheduler.defineQueue({ name: 'fair', priority: 1, fairShare: {} });
    for (let i = 0; i < 3; i += 1) scheduler.enqueue(`a:${i}`, cpu(1), { queue: 'fair', share: 'a' });
    scheduler.enqueue('b:0', cpu(1), { queue: 'fair', share: 'b' });
    const waiting = scheduler.explain(['a:0', 'b:0', 'a:2']);
    expect(waiting.get('a:0')?.ahead).toBe(0);
    expect(waiting.get('b:0')?.ahead).toBe(1);
    expect(waiting.get('a:2')?.ahead).toBe(3);
  });
});
