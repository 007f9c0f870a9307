import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { RunFailed, RunSucceeded, traceparentOf, type EventBridgeEvent } from '@nightshift/contracts';
import { withSpan } from '@nightshift/observability';
import { PublishReport } from './publish-report.js';

/** Our own events failing their contract are bugs: not retryable, straight to the DLQ. */
export class MalformedEventError extends Error {
  readonly retryable = false;
  constructor(readonly eventId: string, readonly issues: string) {
    super(`event ${eventId} does not match its contract: ${issues}`);
    this.name = 'MalformedEventError';
  }
}

/** Transport seam of reporting. */
@Controller()
export class ReportingHandlers {
  private readonly log = new Logger('reporting');

  constructor(@Inject(PublishReport) private readonly publishReport: PublishReport) {}

  @EventPattern(RunSucceeded.detailType)
  async onRunSucceeded(@Payload() event: EventBridgeEvent): Promise<void> {
    const parsed = RunSucceeded.detail.safeParse(event.detail);
    if (!parsed.success) throw new MalformedEventError(event.id, parsed.error.message);
    await withSpan('reporting: Run Succeeded', { traceparent: traceparentOf(event), kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'reporting' } }, async (span) => {
      const report = await this.publishReport.execute(parsed.data.metadata.eventId, parsed.data, span.traceparent());
      if (report) this.log.log(`published ${report.reportId} for ${report.runId} at ${report.key}`);
    });
  }

  @EventPattern(RunFailed.detailType)
  async onRunFailed(@Payload() event: EventBridgeEvent): Promise<void> {
    const parsed = RunFailed.detail.safeParse(event.detail);
    if (!parsed.success) throw new MalformedEventError(event.id, parsed.error.message);
    this.log.warn(`run ${parsed.data.data.runId} failed: ${parsed.data.data.reason}`);
  }
}
