import { weightFactorOf, type FairShareOptions } from './job-queues.js';

/** What one runnable unit (a job, or one array child) reserves while it runs. */
export interface Demand {
  /** Thousandths of a vCPU, so fractional vCPUs add up without floating-point drift. */
  milliVcpus: number;
  memoryMiB: number;
}

/** A job queue as the scheduler sees it. */
export interface QueueDefinition {
  name: string;
  /** Higher first. */
  priority: number;
  /** Present for a fair-share queue. */
  fairShare?: FairShareOptions;
}

/** Where a unit waits: its queue and, in a fair-share queue, its share and its priority within the share. */
export interface Placement {
  queue: string;
  /** Required in a fair-share queue, ignored in a FIFO one. */
  share?: string;
  /** 0..9999, higher first among the units of one share; ignored in a FIFO queue. Default 0. */
  schedulingPriority?: number;
}

/** Why a queued unit is still waiting, as far as placement order tells. */
export interface Waiting {
  queue: string;
  /** Units placed before this one if nothing else changed, across all queues. */
  ahead: number;
  /** In a fair-share queue: the unit's share, its weight and the vCPUs its running units hold. */
  share?: { id: string; weightFactor: number; milliVcpus: number };
}

interface Entry<T> {
  item: T;
  demand: Demand;
  queue: QueueState<T>;
  share?: ShareState<T>;
  lane: Lane<T>;
  priority: number;
  seq: number;
  /** How many later units started while this one, the first waiting unit that did not fit, could not. */
  overtaken: number;
  removed: boolean;
}

interface QueueState<T> {
  name: string;
  priority: number;
  order: number;
  fairShare?: FairShareOptions;
  /** The queue's order when it is FIFO. */
  fifo: Lane<T>;
  shares: Map<string, ShareState<T>>;
  /** vCPUs (milli) and units its running units hold. */
  usage: number;
  running: number;
}

interface ShareState<T> {
  id: string;
  weight: number;
  lane: Lane<T>;
  usage: number;
  running: number;
}

/**
 * The placement decision of the local compute environment, kept free of processes and timers so
 * its rules can be tested on their own.
 *
 * Placement order: queues by priority, higher first (AWS: "job queues with a higher priority are
 * evaluated first when associated with the same compute environment"), equal priorities in the
 * order they were defined. Within a FIFO queue, units in the order they became RUNNABLE. Within a
 * fair-share queue, next the share with the lowest current usage x weightFactor (usage = the vCPUs
 * its running units hold; ties: the share whose next unit is older), and within a share higher
 * `schedulingPriority` first, then FIFO.
 *
 * A unit starts when it fits in the free budget. When the first unit in placement order does not
 * fit, later units that fit may start ahead of it (backfill, so small jobs keep the machine busy),
 * but at most `maxOvertakes` times; after that it holds a reservation: nothing else starts until
 * running units have freed enough for it. Every unit fits the whole budget (larger ones are
 * refused before they are queued) and every running unit ends (it has a timeout), so the first
 * waiting unit always starts eventually: a big job is never starved by a stream of small ones.
 * `maxOvertakes: 0` is strict order.
 *
 * A fair-share queue's `computeReservation` keeps `capacity x (computeReservation/100)^activeShares`
 * vCPUs away from it (active: a share with units waiting or running); a queue with nothing running
 * may always start one unit, so a small budget never idles on a reservation. Units held back by
 * it do not take the reservation of the machine described above.
 */
export class ResourceScheduler<T> {
  private readonly queues = new Map<string, QueueState<T>>();
  private ordered: QueueState<T>[] = [];
  private readonly waiting = new Map<T, Entry<T>>();
  private readonly placed = new Map<T, Entry<T>>();
  private free: Demand;
  private seq = 0;

  constructor(
    private readonly capacity: Demand,
    private readonly maxOvertakes: number,
  ) {
    this.free = { ...capacity };
  }

  /** Adds a job queue; throws if one of that name exists. */
  defineQueue(definition: QueueDefinition): void {
    if (this.queues.has(definition.name)) throw new Error(`job queue ${definition.name} is already defined`);
    const queue: QueueState<T> = {
      name: definition.name,
      priority: definition.priority,
      order: this.queues.size,
      ...(definition.fairShare && { fairShare: definition.fairShare }),
      fifo: new Lane<T>(),
      shares: new Map(),
      usage: 0,
      running: 0,
    };
    this.queues.set(queue.name, queue);
    this.ordered = [...this.queues.values()].sort((a, b) => b.priority - a.priority || a.order - b.order);
  }

  /** The queue called `name`, if defined. */
  queue(name: string): { name: string; priority: number; fairShare: boolean } | undefined {
    const queue = this.queues.get(name);
    return queue && { name: queue.name, priority: queue.priority, fairShare: queue.fairShare !== undefined };
  }

  /** Whether `demand` could ever run here: it fits in the whole, empty budget. */
  fitsCapacity(demand: Demand): boolean {
    return demand.milliVcpus <= this.capacity.milliVcpus && demand.memoryMiB <= this.capacity.memoryMiB;
  }

  /** Queues a unit behind every unit already queued in its queue (or share, at its priority). */
  enqueue(item: T, demand: Demand, placement: Placement): void {
    const queue = this.queues.get(placement.queue);
    if (!queue) throw new Error(`job queue ${placement.queue} is not defined`);
    let share: ShareState<T> | undefined;
    if (queue.fairShare) {
      if (placement.share === undefined) throw new Error(`job queue ${queue.name} is a fair-share queue: a unit needs a share`);
      share = queue.shares.get(placement.share);
      if (!share) {
        share = { id: placement.share, weight: weightFactorOf(queue.fairShare, placement.share), lane: new Lane<T>(), usage: 0, running: 0 };
        queue.shares.set(share.id, share);
      }
    }
    const lane = share?.lane ?? queue.fifo;
    const entry: Entry<T> = {
      item,
      demand,
      queue,
      ...(share && { share }),
      lane,
      priority: share ? (placement.schedulingPriority ?? 0) : 0,
      seq: (this.seq += 1),
      overtaken: 0,
      removed: false,
    };
    lane.insert(entry);
    this.waiting.set(item, entry);
  }

  /** Takes a queued unit out without starting it; false if it was not queued. */
  remove(item: T): boolean {
    const entry = this.waiting.get(item);
    if (!entry) return false;
    this.waiting.delete(item);
    entry.lane.remove(entry);
    entry.lane.compactIfSparse();
    return true;
  }

  /** The units to start now, in start order; their demand is reserved until `release`. */
  take(): T[] {
    for (const queue of this.queues.values()) {
      queue.fifo.compactIfSparse();
      for (const share of queue.shares.values()) share.lane.compactIfSparse();
    }
    const started: T[] = [];
    const pass: Pass<T> = { cursors: new Map(), closed: new Set() };
    let firstWaiting: Entry<T> | undefined;
    while (this.free.milliVcpus > 0 && this.free.memoryMiB > 0) {
      const entry = this.next(pass);
      if (!entry) break;
      const held = this.heldByReservation(entry);
      if (held === 'queue') {
        pass.closed.add(entry.queue);
        continue;
      }
      if (held === 'unit') {
        pass.cursors.set(entry.lane, (pass.cursors.get(entry.lane) ?? 0) + 1);
        continue;
      }
      if (this.fitsFree(entry.demand)) {
        this.place(entry);
        started.push(entry.item);
        if (firstWaiting) {
          firstWaiting.overtaken += 1;
          if (firstWaiting.overtaken >= this.maxOvertakes) break;
        }
        continue;
      }
      pass.cursors.set(entry.lane, (pass.cursors.get(entry.lane) ?? 0) + 1);
      if (!firstWaiting) {
        firstWaiting = entry;
        if (entry.overtaken >= this.maxOvertakes) break;
      }
    }
    return started;
  }

  /** Returns the reservation of a unit that stopped running; false if it was not running. */
  release(item: T): boolean {
    const entry = this.placed.get(item);
    if (!entry) return false;
    this.placed.delete(item);
    this.free.milliVcpus = Math.min(this.capacity.milliVcpus, this.free.milliVcpus + entry.demand.milliVcpus);
    this.free.memoryMiB = Math.min(this.capacity.memoryMiB, this.free.memoryMiB + entry.demand.memoryMiB);
    entry.queue.usage -= entry.demand.milliVcpus;
    entry.queue.running -= 1;
    if (entry.share) {
      entry.share.usage -= entry.demand.milliVcpus;
      entry.share.running -= 1;
    }
    return true;
  }

  /**
   * Where each of `items` that is queued stands: its queue, how many units are ahead of it in
   * placement order (simulated as if nothing ended meanwhile) and, in a fair-share queue, its
   * share's usage. One walk over the queued units, however many items are asked about.
   */
  explain(items: Iterable<T>): Map<T, Waiting> {
    const wanted = new Set<T>();
    for (const item of items) if (this.waiting.has(item)) wanted.add(item);
    const found = new Map<T, Waiting>();
    let ahead = 0;
    for (const queue of this.ordered) {
      if (found.size === wanted.size) break;
      for (const entry of placementOrder(queue)) {
        if (wanted.has(entry.item)) {
          found.set(entry.item, {
            queue: queue.name,
            ahead,
            ...(entry.share && { share: { id: entry.share.id, weightFactor: entry.share.weight, milliVcpus: entry.share.usage } }),
          });
          if (found.size === wanted.size) break;
        }
        ahead += 1;
      }
    }
    return found;
  }

  /** What running units hold now. */
  get inUse(): { milliVcpus: number; memoryMiB: number; units: number } {
    return { milliVcpus: this.capacity.milliVcpus - this.free.milliVcpus, memoryMiB: this.capacity.memoryMiB - this.free.memoryMiB, units: this.placed.size };
  }

  /** The whole budget. */
  get budget(): Demand {
    return { ...this.capacity };
  }

  get queued(): number {
    return this.waiting.size;
  }

  get running(): number {
    return this.placed.size;
  }

  /** The next unit in placement order this pass has not passed over. */
  private next(pass: Pass<T>): Entry<T> | undefined {
    for (const queue of this.ordered) {
      if (pass.closed.has(queue)) continue;
      if (!queue.fairShare) {
        const entry = atCursor(pass, queue.fifo);
        if (entry) return entry;
        continue;
      }
      let best: Entry<T> | undefined;
      let bestRank = 0;
      for (const share of queue.shares.values()) {
        const entry = atCursor(pass, share.lane);
        if (!entry) continue;
        const rank = share.usage * share.weight;
        if (!best || rank < bestRank || (rank === bestRank && entry.seq < best.seq)) {
          best = entry;
          bestRank = rank;
        }
      }
      if (best) return best;
    }
    return undefined;
  }

  /** 'queue' when the entry's fair-share queue is at its computeReservation limit, 'unit' when this unit would pass it. */
  private heldByReservation(entry: Entry<T>): 'queue' | 'unit' | undefined {
    const queue = entry.queue;
    const reservation = queue.fairShare?.computeReservation ?? 0;
    if (reservation === 0 || queue.running === 0) return undefined;
    let active = 0;
    for (const share of queue.shares.values()) if (share.lane.size > 0 || share.running > 0) active += 1;
    const limit = this.capacity.milliVcpus - Math.floor(this.capacity.milliVcpus * (reservation / 100) ** active);
    if (queue.usage >= limit) return 'queue';
    return queue.usage + entry.demand.milliVcpus > limit ? 'unit' : undefined;
  }

  private place(entry: Entry<T>): void {
    this.waiting.delete(entry.item);
    this.placed.set(entry.item, entry);
    entry.lane.remove(entry);
    this.free.milliVcpus -= entry.demand.milliVcpus;
    this.free.memoryMiB -= entry.demand.memoryMiB;
    entry.queue.usage += entry.demand.milliVcpus;
    entry.queue.running += 1;
    if (entry.share) {
      entry.share.usage += entry.demand.milliVcpus;
      entry.share.running += 1;
    }
  }

  private fitsFree(demand: Demand): boolean {
    return demand.milliVcpus <= this.free.milliVcpus && demand.memoryMiB <= this.free.memoryMiB;
  }
}

/** Per-pass state of `take`: how far each lane has been passed over, and queues held back entirely. */
interface Pass<T> {
  cursors: Map<Lane<T>, number>;
  closed: Set<QueueState<T>>;
}

function atCursor<T>(pass: Pass<T>, lane: Lane<T>): Entry<T> | undefined {
  const at = lane.firstLiveFrom(pass.cursors.get(lane) ?? 0);
  pass.cursors.set(lane, at);
  return lane.entryAt(at);
}

/** A queue's waiting units in placement order, simulating the fair-share choice as units would start. */
function* placementOrder<T>(queue: QueueState<T>): Generator<Entry<T>> {
  if (!queue.fairShare) {
    yield* queue.fifo.inOrder();
    return;
  }
  const shares = [...queue.shares.values()].map((share) => ({ share, usage: share.usage, rest: share.lane.inOrder() }));
  const heads = new Map(shares.map((s) => [s, s.rest.next()]));
  for (;;) {
    let best: (typeof shares)[number] | undefined;
    let bestHead: Entry<T> | undefined;
    for (const s of shares) {
      const head = heads.get(s);
      if (!head || head.done) continue;
      const rank = s.usage * s.share.weight;
      const bestRank = best ? best.usage * best.share.weight : 0;
      if (!best || !bestHead || rank < bestRank || (rank === bestRank && head.value.seq < bestHead.seq)) {
        best = s;
        bestHead = head.value;
      }
    }
    if (!best || !bestHead) return;
    yield bestHead;
    best.usage += bestHead.demand.milliVcpus;
    heads.set(best, best.rest.next());
  }
}

/**
 * Waiting entries in order (priority desc, then seq), removed ones marked and skipped until the
 * lane is compacted. Appending is O(1); most inserts append (FIFO, or equal priorities).
 */
class Lane<T> {
  private entries: Entry<T>[] = [];
  /** Entries before it are all removed. */
  private head = 0;
  private removedCount = 0;
  /** Entries not removed. */
  size = 0;

  insert(entry: Entry<T>): void {
    const last = this.entries.at(-1);
    if (!last || !before(entry, last)) {
      this.entries.push(entry);
    } else {
      let lo = this.head;
      let hi = this.entries.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (before(entry, this.entries[mid])) hi = mid;
        else lo = mid + 1;
      }
      this.entries.splice(lo, 0, entry);
    }
    this.size += 1;
  }

  /** Marks an entry removed; indices stay valid until `compactIfSparse`. */
  remove(entry: Entry<T>): void {
    entry.removed = true;
    this.size -= 1;
    this.removedCount += 1;
    while (this.head < this.entries.length && this.entries[this.head].removed) this.head += 1;
  }

  /** Drops removed entries once they outnumber the live ones; never during a pass (it moves indices). */
  compactIfSparse(): void {
    if (this.removedCount < 1024 || this.removedCount < this.size) return;
    this.entries = this.entries.filter((e) => !e.removed);
    this.head = 0;
    this.removedCount = 0;
  }

  firstLiveFrom(from: number): number {
    let at = Math.max(from, this.head);
    while (at < this.entries.length && this.entries[at].removed) at += 1;
    return at;
  }

  entryAt(at: number): Entry<T> | undefined {
    return this.entries[at];
  }

  *inOrder(): Generator<Entry<T>> {
    for (let at = this.head; at < this.entries.length; at += 1) if (!this.entries[at].removed) yield this.entries[at];
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}
