import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { platformMetrics, type QueueSample } from '@nightshift/observability';

/**
 * The service queues' gauges (depth, in flight, DLQ depth) while reporting runs in aws mode, read
 * from SQS at each scrape or OTLP export. Reporting serves /metrics, so its process reports them;
 * the embedded host observes its own bus instead (the oldest message's age included).
 */
export class QueueGauges implements OnModuleInit, OnModuleDestroy {
  private stop: (() => void) | undefined;

  constructor(private readonly sample: () => Promise<QueueSample[]>) {}

  onModuleInit(): void {
    this.stop = platformMetrics().observeQueues(this.sample);
  }

  onModuleDestroy(): void {
    this.stop?.();
    this.stop = undefined;
  }
}
