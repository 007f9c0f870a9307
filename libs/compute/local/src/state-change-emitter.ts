import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchJobStateChange, BatchJobStateChangeDetail } from '@nightshift/contracts';

/** One "Batch Job State Change" event, in the shape the event bus publishes (`resources` = the job ARN). */
export interface BatchJobStateChangeEmission {
  source: typeof BatchJobStateChange.source;
  detailType: typeof BatchJobStateChange.detailType;
  detail: BatchJobStateChangeDetail;
  resources: string[];
}

export interface StateChangeEmitterOptions<K> {
  emit: (events: BatchJobStateChangeEmission[]) => Promise<void>;
  /** The job's event as of now: a full snapshot, attempts included. */
  snapshot: (job: K) => BatchJobStateChangeEmission;
  /** Whether the job's current state is SUCCEEDED or FAILED. */
  isTerminal: (job: K) => boolean;
  /** Called whenever `pending` may have dropped, so waiters can look again. */
  onProgress: () => void;
  /** Events per `emit` call; default 10, EventBridge PutEvents' limit. */
  batchSize?: number;
  /** Tries per batch; default 5. */
  tries?: number;
  /** Backoff before the second try, doubling after; default 50 ms. */
  baseDelayMs?: number;
  /** Undelivered events kept (the newest); default 1000. */
  undeliveredLimit?: number;
  /**
   * How long a batch that is not full waits for more changes before it goes out; default 0. A few
   * milliseconds let a short job's RUNNING be merged into its SUCCEEDED (one event instead of two,
   * and one store write for whoever consumes them); a long job's RUNNING goes out that much later.
   */
  lingerMs?: number;
}

interface Queued<K> {
  job: K;
  /** Superseded by the job's terminal state, queued later. */
  dropped: boolean;
}

/**
 * Hands job state changes to `emit` in batches, in the order the changes happened, merging the
 * intermediate states of a job whose older state has not been handed over yet.
 *
 * A change queues the job, not a copy of it: while the job waits in the queue, later changes only
 * make the snapshot taken at hand-off newer (SUBMITTED, PENDING and RUNNABLE in one turn go out as
 * one RUNNABLE event). A job that reaches SUCCEEDED or FAILED is queued again at the end, after
 * everything that happened before it, so a terminal state is always emitted and an array parent's
 * end always follows its children's. The port allows skipped states: the detail is a full
 * snapshot, attempts included.
 *
 * A rejected `emit` is retried with backoff; after the last try the batch is written to stderr and
 * kept in a bounded list (`undelivered`), and the next batch goes on. Nothing is lost for good:
 * the job's state is still answered by `describeJobs`, which is what a reconciliation uses to
 * repair what the bus never saw.
 */
export class StateChangeEmitter<K> {
  private queue: Queued<K>[] = [];
  /** Entries before it have been handed over or dropped. */
  private head = 0;
  private waiting = 0;
  private readonly queued = new Map<K, Queued<K>>();
  private inFlight = 0;
  private draining = false;
  private readonly lost: BatchJobStateChangeEmission[] = [];
  private readonly batchSize: number;
  private readonly tries: number;
  private readonly baseDelayMs: number;
  private readonly undeliveredLimit: number;
  private readonly lingerMs: number;

  constructor(private readonly options: StateChangeEmitterOptions<K>) {
    this.batchSize = options.batchSize ?? 10;
    this.tries = options.tries ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.undeliveredLimit = options.undeliveredLimit ?? 1000;
    this.lingerMs = options.lingerMs ?? 0;
  }

  /** The job's state changed; its event goes out with the next batches. */
  changed(job: K): void {
    const earlier = this.queued.get(job);
    if (earlier) {
      if (!this.options.isTerminal(job)) return;
      earlier.dropped = true;
      this.waiting -= 1;
    }
    const entry: Queued<K> = { job, dropped: false };
    this.queue.push(entry);
    this.queued.set(job, entry);
    this.waiting += 1;
    if (!this.draining) {
      this.draining = true;
      // The next turn, so the changes of one synchronous burst (a submit, a scheduling pass) merge.
      setImmediate(() => {
        this.drain().catch((error: unknown) => {
          // Only a bug gets here (deliver never rejects); say so rather than stall idle() forever.
          process.stderr.write(`compute-local: event emission stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        });
      });
    }
  }

  /** Events queued or being emitted. */
  get pending(): number {
    return this.waiting + this.inFlight;
  }

  /** Events that could not be emitted after every try, oldest first (at most the newest `undeliveredLimit`). */
  undelivered(): BatchJobStateChangeEmission[] {
    return this.lost.map((event) => structuredClone(event));
  }

  private async drain(): Promise<void> {
    while (this.waiting > 0) {
      if (this.lingerMs > 0 && this.waiting < this.batchSize) await sleep(this.lingerMs);
      const batch: K[] = [];
      while (batch.length < this.batchSize && this.head < this.queue.length) {
        const entry = this.queue[this.head];
        this.head += 1;
        if (entry.dropped) continue;
        this.queued.delete(entry.job);
        batch.push(entry.job);
      }
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.waiting -= batch.length;
      this.inFlight = batch.length;
      await this.deliver(batch.map((job) => this.options.snapshot(job)));
      this.inFlight = 0;
      this.options.onProgress();
    }
    this.draining = false;
    this.options.onProgress();
  }

  /** Never rejects: a batch that cannot be delivered is kept and written to stderr rather than lost silently. */
  private async deliver(events: BatchJobStateChangeEmission[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.options.emit(events);
        return;
      } catch (error) {
        if (attempt >= this.tries) {
          this.keep(events, error, attempt);
          return;
        }
        await sleep(this.baseDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  private keep(events: BatchJobStateChangeEmission[], error: unknown, tries: number): void {
    this.lost.push(...events);
    if (this.lost.length > this.undeliveredLimit) this.lost.splice(0, this.lost.length - this.undeliveredLimit);
    const what = events.map((e) => `${e.detail.status} of job ${e.detail.jobId}`).join(', ');
    process.stderr.write(
      `compute-local: could not emit ${what} after ${tries} tries: ${error instanceof Error ? error.message : String(error)} ` +
        `(kept in undeliveredEvents(); describeJobs answers the current state)\n` +
        events.map((e) => `${JSON.stringify(e)}\n`).join(''),
    );
  }
}
