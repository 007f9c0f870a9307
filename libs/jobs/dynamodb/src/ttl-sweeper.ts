import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '@nightshift/jobs-domain';
import { DynamoTable, type Item } from './dynamo-table.js';
import { TTL_ATTRIBUTE } from './keys.js';

/** How a TtlSweeper is wired. */
export interface TtlSweeperOptions {
  tableName: string;
  /** What "now" is when deciding what expired. Defaults to the system clock. */
  clock?: Clock;
  /** Time between the end of one sweep and the start of the next, once `start`ed. Default 10 minutes. */
  intervalMs?: number;
  /** Items read per Scan request. Default 1 000. */
  pageSize?: number;
  /**
   * Told about a periodic sweep that failed (the next one tries again). Default: a process
   * warning. A `sweepOnce` called directly rejects instead.
   */
  onError?: (error: unknown) => void;
}

/** What one sweep did. */
export interface SweepOutcome {
  /** Items deleted: their TTL attribute was below now (epoch seconds) when the sweep began. */
  deleted: number;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * DynamoDB's Time to Live for a server that has none (dynalite, the embedded mode's): deletes the
 * items whose TTL attribute (`TTL_ATTRIBUTE`, epoch seconds) is below now, by a Scan of the table
 * filtered on it and BatchWriteItem deletes of what it finds, 25 at a time. In AWS, enable TTL on
 * that attribute instead and run no sweeper.
 *
 * Deletes are unconditional: the store never moves a record's TTL later (a processed record is
 * written once; an Idempotency-Key retry keeps the first TTL), so what was expired when read is
 * still expired when deleted. A sweep reads the whole table, which at the embedded mode's size is
 * milliseconds to seconds every `intervalMs`. One sweep at a time; the timer does not keep the
 * process alive.
 */
export class TtlSweeper {
  private readonly table: DynamoTable;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly onError: (error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepOutcome> | undefined;
  private stopped = false;

  /** @param client the process's one DocumentClient; never destroyed here. */
  constructor(client: DynamoDBDocumentClient, options: TtlSweeperOptions) {
    this.table = new DynamoTable(client, options.tableName);
    this.clock = options.clock ?? systemClock;
    this.intervalMs = Math.max(1, options.intervalMs ?? 10 * 60_000);
    this.pageSize = Math.max(1, options.pageSize ?? 1_000);
    this.onError =
      options.onError ?? ((error) => process.emitWarning(`TTL sweep of ${options.tableName} failed: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Sweeps every `intervalMs` from now on (the first sweep one interval from now) until `stop`. */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.schedule();
  }

  /** One sweep now, or the one under way. */
  sweepOnce(): Promise<SweepOutcome> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No sweep starts after this; resolves once the one under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sweepOnce()
        .catch((error: unknown) => this.onError(error))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async sweep(): Promise<SweepOutcome> {
    const op = 'ttlSweep';
    const now = Math.floor(this.clock.now().getTime() / 1000);
    let deleted = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.table.scanPage(
        { filter: '#ttl < :now', names: { '#ttl': TTL_ATTRIBUTE }, values: { ':now': now }, attributes: ['PK', 'SK'], limit: this.pageSize, startKey },
        op,
      );
      await this.table.batchDelete(
        page.items.map((item) => ({ PK: String(item.PK), SK: String(item.SK) })),
        op,
      );
      deleted += page.items.length;
      startKey = page.lastKey;
    } while (startKey !== undefined && !this.stopped);
    return { deleted };
  }
}
