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
    // The event carries the run's span, which has ended: the report follows it in the run's trace.
    const options = {
      follows: traceparentOf(event),
      service: 'nightshift-reporting',
      kind: 'consumer' as const,
      attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'reporting', 'nightshift.run_id': detail.data.runId, 'nightshift.pipeline': detail.data.pipeline },
    };
    await withSpan('reporting: Run Succeeded', options, async (span) => {
      const report = await this.publishReport.execute(detail.metadata.eventId, detail, span.traceparent());
      if (report) {
        this.log.log({
          msg: `published report ${report.reportId} of run ${report.runId} (${report.pipeline}, ${report.businessDate}) at ${report.key}`,
          run_id: report.runId,
          report_id: report.reportId,
          pipeline: report.pipeline,
          business_date: report.businessDate,
          key: report.key,
        });
      }
    });
  }

  @EventPattern(RunFailed.detailType)
  async onRunFailed(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(RunFailed, event);
    this.log.warn({ msg: `run ${detail.data.runId} failed, no report: ${detail.data.reason}`, run_id: detail.data.runId, pipeline: detail.data.pipeline, reason: detail.data.reason });
  }
}
