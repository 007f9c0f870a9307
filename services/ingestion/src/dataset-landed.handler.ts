import { Controller, Inject, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DatasetLanded, traceparentOf, type EventBridgeEvent } from '@nightshift/contracts';
import { PreserveHandlerErrorFilter } from '@nightshift/events-nest';
import { withSpan } from '@nightshift/observability';
import { RegisterLandedDataset } from './register-landed-dataset.js';

/** Thin transport seam: one span per event, then the use case. */
// Errors reach the transport as thrown, so one marked `retryable: false` is dead-lettered at once.
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class DatasetLandedHandler {
  private readonly log = new Logger('ingestion');

  constructor(@Inject(RegisterLandedDataset) private readonly registerDataset: RegisterLandedDataset) {}

  @EventPattern(DatasetLanded.detailType)
  async onDatasetLanded(@Payload() event: EventBridgeEvent): Promise<void> {
    await withSpan(
      'ingestion: Dataset Landed',
      { traceparent: traceparentOf(event), kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'ingestion' } },
      async (span) => {
        const outcome = await this.registerDataset.execute(event, span.traceparent());
        span.setAttributes({ 'nightshift.outcome': outcome.kind });
        if (outcome.kind === 'registered') this.log.log(`registered ${outcome.dataset.datasetId} (${outcome.dataset.rowCount} rows, ${outcome.dataset.partitions.length} partitions)`);
        if (outcome.kind === 'already-registered') this.log.log(`landed event ${event.id}: already registered as ${outcome.dataset.datasetId}, nothing started (force: true registers anew)`);
        if (outcome.kind === 'rejected') this.log.warn(`rejected landed event ${event.id}: ${outcome.reasons.length} problem(s), first: ${JSON.stringify(outcome.reasons[0])}`);
      },
    );
  }
}
