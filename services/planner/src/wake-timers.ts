/**
 * Wake-ups at given times (a wait's end, an approval's timeout), in this process: a timer per run
 * and time, so the run moves on when it is due rather than at the next reconciliation sweep. Not
 * durable and not needed to be: the sweep advances every open run, so a wake-up lost with its
 * process only comes later. Timers do not keep the process alive, and `stop` clears them all.
 */
export class WakeTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  /** Calls `wake` at `when` (at once if past); errors are handed to `onError` (the sweep tries again). */
  at(runId: string, when: Date, wake: () => Promise<unknown>, onError: (e: unknown) => void = () => undefined): void {
    const key = `${runId}@${when.toISOString()}`;
    if (this.stopped || this.timers.has(key)) return;
    // setTimeout takes at most 2^31-1 ms (~24.8 days): a later wake-up is left to the sweep.
    const delay = Math.max(0, when.getTime() - Date.now());
    if (delay > 2 ** 31 - 1) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (!this.stopped) wake().catch(onError);
    }, delay);
    timer.unref();
    this.timers.set(key, timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
