/** What one runnable unit (a job, or one array child) reserves while it runs. */
export interface Demand {
  /** Thousandths of a vCPU, so fractional vCPUs add up without floating-point drift. */
  milliVcpus: number;
  memoryMiB: number;
}

interface Entry<T> {
  item: T;
  demand: Demand;
  /** How many later units started while this one, the oldest waiting, could not. */
  overtaken: number;
}

/**
 * The placement decision of the local compute environment, kept free of processes and timers so
 * its fairness rule can be tested on its own.
 *
 * Rule: units start in the order they became RUNNABLE (FIFO) as long as they fit in the free
 * budget. When the oldest waiting unit does not fit, later units that do fit may start ahead of it
 * (backfill, so small jobs keep the machine busy), but at most `maxOvertakes` times. After that the
 * oldest waiting unit holds a reservation: nothing else starts until the running units have freed
 * enough for it. Because every unit fits in the whole budget (larger ones are refused before they
 * are queued) and every running unit ends (it has a timeout), the oldest waiting unit always starts
 * eventually, so a big job cannot be starved by a stream of small ones. `maxOvertakes: 0` is strict
 * FIFO.
 */
export class ResourceScheduler<T> {
  private readonly queue: Entry<T>[] = [];
  private free: Demand;

  constructor(
    private readonly capacity: Demand,
    private readonly maxOvertakes: number,
  ) {
    this.free = { ...capacity };
  }

  /** Whether `demand` could ever run here: it fits in the whole, empty budget. */
  fitsCapacity(demand: Demand): boolean {
    return demand.milliVcpus <= this.capacity.milliVcpus && demand.memoryMiB <= this.capacity.memoryMiB;
  }

  /** Queues a unit behind every unit already queued. */
  enqueue(item: T, demand: Demand): void {
    this.queue.push({ item, demand, overtaken: 0 });
  }

  /** Takes a queued unit out without starting it; false if it was not queued. */
  remove(item: T): boolean {
    const at = this.queue.findIndex((e) => e.item === item);
    if (at < 0) return false;
    this.queue.splice(at, 1);
    return true;
  }

  /** The units to start now, in start order; their demand is reserved until `release`. */
  take(): T[] {
    const started: T[] = [];
    let oldestWaiting: Entry<T> | undefined;
    let i = 0;
    while (i < this.queue.length && this.free.milliVcpus > 0 && this.free.memoryMiB > 0) {
      const entry = this.queue[i];
      if (this.fitsFree(entry.demand)) {
        this.queue.splice(i, 1);
        this.free.milliVcpus -= entry.demand.milliVcpus;
        this.free.memoryMiB -= entry.demand.memoryMiB;
        started.push(entry.item);
        if (oldestWaiting) {
          oldestWaiting.overtaken += 1;
          if (oldestWaiting.overtaken >= this.maxOvertakes) break;
        }
        continue;
      }
      if (!oldestWaiting) {
        oldestWaiting = entry;
        if (entry.overtaken >= this.maxOvertakes) break;
      }
      i += 1;
    }
    return started;
  }

  /** Returns the demand of a unit that stopped running. */
  release(demand: Demand): void {
    this.free.milliVcpus = Math.min(this.capacity.milliVcpus, this.free.milliVcpus + demand.milliVcpus);
    this.free.memoryMiB = Math.min(this.capacity.memoryMiB, this.free.memoryMiB + demand.memoryMiB);
  }

  /** The whole budget's vCPUs, for messages. */
  get capacityVcpus(): number {
    return this.capacity.milliVcpus / 1000;
  }

  /** The whole budget's memory, for messages. */
  get capacityMemoryMiB(): number {
    return this.capacity.memoryMiB;
  }

  get queued(): number {
    return this.queue.length;
  }

  private fitsFree(demand: Demand): boolean {
    return demand.milliVcpus <= this.free.milliVcpus && demand.memoryMiB <= this.free.memoryMiB;
  }
}
