import { Controller, Inject, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { BackfillCancelRequested, BackfillRequested, ContractViolationError, parseDetail, traceparentOf, type EventBridgeEvent } from '@nightshift/contracts';
import { tenantOf } from '@nightshift/jobs-domain';
import { PreserveHandlerErrorFilter } from '@nightshift/events-nest';
import { withSpan } from '@nightshift/observability';
import { BackfillRunner, describeAdvance } from './backfills.js';

/**
 * Transport seam of backfills: Backfill Requested and Backfill Cancel Requested, each parsed with
 * its contract and handed to {@link BackfillRunner}. (A backfill's finished runs reach it through
 * PlannerHandlers, which takes Run Succeeded and Run Failed: one handler per detail-type.) Both
 * are idempotent by nature: the record is the state, and advancing it twice is advancing it once.
 */
@UseFilters(PreserveHandlerErrorFilter)
@Controller()
export class BackfillHandlers {
  private readonly log = new Logger('planner');

  constructor(@Inject(BackfillRunner) private readonly runner: BackfillRunner) {}

  @EventPattern(BackfillRequested.detailType)
  async onBackfillRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(BackfillRequested, event);
    await this.span('planner: Backfill Requested', event, async (traceparent) => {
      const { backfillId } = detail.data;
      const outcome = await this.runner.advance(backfillId, traceparent);
      // The API records the backfill before it publishes: an event without one, or of another tenant, is not one of ours.
      if (!outcome.backfill || tenantOf(outcome.backfill) !== tenantOf(detail.metadata)) {
        throw new ContractViolationError(event['detail-type'], event.id, `backfill ${backfillId} is not recorded for tenant ${tenantOf(detail.metadata)}`);
      }
      this.log.log(`backfill ${backfillId} (${outcome.backfill.pipeline} ${outcome.backfill.from} to ${outcome.backfill.to}): ${describeAdvance(outcome)}`);
    });
  }

  @EventPattern(BackfillCancelRequested.detailType)
  async onBackfillCancelRequested(@Payload() event: EventBridgeEvent): Promise<void> {
    const detail = parseDetail(BackfillCancelRequested, event);
    await this.span('planner: Backfill Cancel Requested', event, async (traceparent) => {
      const { backfillId, reason, requestedBy } = detail.data;
      const outcome = await this.runner.cancel(backfillId, `${reason} (by ${requestedBy})`, traceparent);
      if (!outcome.backfill) this.log.warn(`cancel of backfill ${backfillId} ignored: no such backfill`);
      else this.log.log(`backfill ${backfillId} cancelled by ${requestedBy}: ${describeAdvance(outcome)}`);
    });
  }

  private span(name: string, event: EventBridgeEvent, fn: (traceparent: string) => Promise<void>): Promise<void> {
    return withSpan(name, { traceparent: traceparentOf(event), service: 'nightshift-planner', kind: 'consumer', attributes: { 'messaging.message.id': event.id, 'nightshift.service': 'planner' } }, (span) =>
      fn(span.traceparent()),
    );
  }
}
