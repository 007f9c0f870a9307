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
      { traceparent: traceparentOf(event), service: 'nightshift-ingestion', kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'ingestion' } },
      async (span) => {
        const outcome = await this.registerDataset.execute(event, span.traceparent());
        span.setAttributes({ 'nightshift.outcome': outcome.kind });
        if (outcome.kind === 'registered' || outcome.kind === 'already-registered') span.setAttributes({ 'nightshift.dataset_id': outcome.dataset.datasetId });
        // A rejection is handled (the event is done with), but the landing failed: the span says why.
        if (outcome.kind === 'rejected') {
          const shown = outcome.reasons.slice(0, 5).map((r) => `${r.file ?? r.path ?? ''}${r.line ? `:${r.line}` : ''} ${r.message}`.trim());
          span.fail(`Dataset Rejected, ${outcome.reasons.length} problem(s): ${shown.join('; ')}${outcome.reasons.length > shown.length ? '; ...' : ''}`);
        }
        if (outcome.kind === 'registered') {
          const d = outcome.dataset;
          this.log.log({
            msg: `registered ${d.datasetId} (${d.rowCount} rows, ${d.files.length} files, ${d.partitions.length} partitions)`,
            event_id: event.id,
            dataset_id: d.datasetId,
            business_date: d.businessDate,
            rows: d.rowCount,
            files: d.files.map((f) => f.key),
          });
        }
        if (outcome.kind === 'already-registered') this.log.log(`landed event ${event.id}: already registered as ${outcome.dataset.datasetId}, nothing started (force: true registers anew)`);
        if (outcome.kind === 'rejected') {
          this.log.warn({
            msg: `rejected landed event ${event.id}: ${outcome.reasons.length} problem(s), first: ${JSON.stringify(outcome.reasons[0])}`,
            event_id: event.id,
            reasons: outcome.reasons,
          });
        }
      },
    );
  }
}
