import type { MessageRecord } from './message-file.js';
import type { Quarantine } from './quarantine.js';

/**
 * What a bus's queues share: the clock, the temp directory for atomic writes, the quarantine, where
 * warnings go, whether the bus is closed, and the writes under way that `close` waits for.
 */
export class BusRuntime {
  private isClosed = false;
  private readonly pending = new Set<Promise<unknown>>();
  /** Told of every message that entered a DLQ while the bus runs (LocalEventBus announces it, when asked to). */
  deadLettered: ((sourceQueue: string, record: MessageRecord) => void) | undefined;

  constructor(
    readonly tmpDir: string,
    readonly quarantine: Quarantine,
    private readonly clock: () => Date,
    /** Problems the bus works around rather than fails on (quarantined or vanished files, a failed sweep). */
    readonly warn: (message: string) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  nowMs(): number {
    return this.clock().getTime();
  }

  /** Registers `p` as a write under way (close waits for it); returns `p`. */
  track<T>(p: Promise<T>): Promise<T> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    return p;
  }

  /** From now on the bus refuses new calls; those under way finish. */
  markClosed(): void {
    this.isClosed = true;
  }

  /** Resolves once every write under way, including those started meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
