/**
 * A task run every `intervalMs`, one run at a time: a run asked for while one is under way joins it.
 * The planner's loops (the embedded scheduler's ticks, the reconciliation sweep) are each one.
 */
export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  private stopped = false;

  /** @param run one run; must not reject (the timer does not wait for it): log and recover inside it. */
  constructor(
    private readonly run: () => Promise<T>,
    private readonly intervalMs: number,
  ) {}

  /**
   * Runs every `intervalMs` from now on (with `runNow`, once right away too); the timer does not keep
   * the process alive. Does nothing once started, or after {@link stop}.
   */
  start({ runNow = false }: { runNow?: boolean } = {}): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
    if (runNow) void this.runOnce();
  }

  /** One run now, or the one under way. */
  runOnce(): Promise<T> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No timer run starts after this; resolves once the run under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
