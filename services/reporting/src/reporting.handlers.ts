import { Controller, Inject, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { parseDetail, RunFailed, RunSucceeded, traceparentOf, type EventBridgeEvent } from '@nightshift/contracts';
import { PreserveHandlerErrorFilter } from '@nightshift/events-nest';
import { withSpan } from '@nightshift/observability';
import { PublishReport } from './publish-report.js';

/** Transport seam of reporting. */
// Errors reach the transport as thrown, so one marked `retryable: false` is dead-lettered at once.
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class ReportingHandlers {
  private readonly log = new Logger('reporting');

  constructor(@Inject(PublishReport) private readonly publishReport: PublishReport) {}

  @EventPattern(RunSucceeded.detailType)
  async onRunSucceeded(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunSucceeded, event);
    await withSpan('reporting: Run Succeeded', { traceparent: traceparentOf(event), kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'reporting' } }, async (span) => {
      const report = await this.publishReport.execute(detail.metadata.eventId, detail, span.traceparent());
      if (report) this.log.log(`published ${report.reportId} for ${report.runId} at ${report.key}`);
    });
  }

  @EventPattern(RunFailed.detailType)
  async onRunFailed(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunFailed, event);
    this.log.warn(`run ${detail.data.runId} failed: ${detail.data.reason}`);
  }
}
