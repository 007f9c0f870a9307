import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Field, ObjectType } from '@nestjs/graphql';
import { JobsError, isTerminalRunStatus, runProgress } from '@nightshift/jobs-domain';
import type { GraphQLError } from 'graphql';
import { PlatformApi } from '../api/platform-api.js';
import type { Principal } from '../auth/principal.js';
import { problemError } from './errors.js';
import { RunProgress, RunStatus } from './types/run.types.js';

/*
 * The `runProgress` subscription: the run's status and per-step progress, polled from the store
 * through PlatformApi (so it works alike in every deployment mode: there is no event to wait for in
 * this process) and sent when it changes. One poll loop per watched run and tenant scope, however
 * many subscribers: each subscriber is authorised when it subscribes (another tenant's run is
 * NOT_FOUND), gets the state now, then every change, and completes once the run is terminal. The
 * loop stops when its last subscriber leaves.
 */

/** How often a watched run is read. */
export const RUN_PROGRESS_POLL_MS = 1_000;
/** Failed reads in a row (the store unavailable) before the subscribers get the error. */
const MAX_FAILED_POLLS = 3;

@ObjectType('RunProgressUpdate', { description: "A run's status and progress, sent by runProgress when either changes." })
export class RunProgressUpdate {
  @Field()
  runId!: string;

  @Field(() => RunStatus)
  status!: string;

  @Field({ description: 'Whether the run is finished: the subscription completes after this update.' })
  terminal!: boolean;

  @Field(() => RunProgress)
  progress!: RunProgress;

  @Field()
  updatedAt!: string;

  @Field(() => String, { nullable: true })
  finishedAt?: string;

  @Field(() => String, { nullable: true })
  reason?: string;
}

/** An async iterator fed by a watch: a queue of updates, then its end or an error. */
class Subscriber implements AsyncIterableIterator<RunProgressUpdate> {
  private readonly queue: RunProgressUpdate[] = [];
  private waiting: { resolve: (r: IteratorResult<RunProgressUpdate>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private error: GraphQLError | undefined;

  constructor(private readonly leave: (s: Subscriber) => void) {}

  push(update: RunProgressUpdate): void {
    if (this.ended) return;
    if (this.waiting) this.settle({ value: update, done: false });
    else this.queue.push(update);
  }

  end(error?: GraphQLError): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (!this.waiting) return;
    if (error) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(error);
    } else this.settle({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<RunProgressUpdate>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The client stopped (or the connection closed): leave the watch. */
  return(): Promise<IteratorResult<RunProgressUpdate>> {
    this.queue.length = 0;
    this.end();
    this.leave(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RunProgressUpdate> {
    return this;
  }

  private settle(result: IteratorResult<RunProgressUpdate>): void {
    const { resolve } = this.waiting!;
    this.waiting = undefined;
    resolve(result);
  }
}

/** One run's poll loop and its subscribers. */
class Watch {
  private readonly subscribers = new Set<Subscriber>();
  private last: RunProgressUpdate | undefined;
  private lastKey: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<RunProgressUpdate>,
    private readonly intervalMs: number,
    private readonly onStop: () => void,
  ) {}

  subscribe(): Subscriber {
    const subscriber = new Subscriber((s) => this.leave(s));
    this.subscribers.add(subscriber);
    if (this.last) subscriber.push(this.last);
    if (!this.polling && this.timer === undefined) void this.poll();
    return subscriber;
  }

  stop(error?: GraphQLError): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.subscribers) s.end(error);
    this.subscribers.clear();
    this.onStop();
  }

  private leave(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.stop();
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    try {
      const update = await this.read();
      this.failures = 0;
      // What a subscriber sees change: not `updatedAt` alone.
      const key = JSON.stringify([update.status, update.progress, update.reason, update.finishedAt]);
      if (key !== this.lastKey) {
        this.lastKey = key;
        this.last = update;
        for (const s of this.subscribers) s.push(update);
      }
      if (update.terminal) return this.stop();
    } catch (error) {
      // A store that is briefly unavailable is read again; anything else (or a long outage) ends the subscriptions with its problem.
      const retryable = error instanceof JobsError && error.retryable;
      if (!retryable || ++this.failures >= MAX_FAILED_POLLS) return this.stop(problemError(error));
    } finally {
      this.polling = false;
    }
    if (!this.stopped && this.subscribers.size > 0) this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }
}

/** The subscriptions' poll loops, one per watched run (see above). */
@Injectable()
export class RunProgressWatcher implements OnModuleDestroy {
  private readonly watches = new Map<string, Watch>();

  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  /** The run's progress now, then each change until it is terminal; refused (NOT_FOUND) for a run the caller may not read. */
  async watch(caller: Principal, runId: string): Promise<AsyncIterableIterator<RunProgressUpdate>> {
    await this.api.run(caller, runId);
    // Callers of one tenant read the run alike (as do tenantless admins): they share a loop.
    const key = JSON.stringify([caller.tenant ?? null, runId]);
    let watch = this.watches.get(key);
    if (!watch) {
      const created = new Watch(() => this.read(caller, runId), RUN_PROGRESS_POLL_MS, () => {
        if (this.watches.get(key) === created) this.watches.delete(key);
      });
      this.watches.set(key, created);
      watch = created;
    }
    return watch.subscribe();
  }

  /** Runs watched now (one loop each). */
  get watched(): number {
    return this.watches.size;
  }

  onModuleDestroy(): void {
    for (const watch of [...this.watches.values()]) watch.stop();
  }

  private async read(caller: Principal, runId: string): Promise<RunProgressUpdate> {
    const run = await this.api.run(caller, runId);
    const progress = runProgress((await this.api.stepsOfRuns(caller, [run])).get(runId) ?? []);
    return {
      runId,
      status: run.status,
      terminal: isTerminalRunStatus(run.status),
      progress: { done: progress.done, failed: progress.failed, total: progress.total, steps: Object.entries(progress.steps).map(([step, p]) => ({ step, ...p })) },
      updatedAt: run.updatedAt,
      ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
      ...(run.reason ? { reason: run.reason } : {}),
    };
  }
}
