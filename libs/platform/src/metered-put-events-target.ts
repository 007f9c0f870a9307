import type { PutEventsRequestEntry, PutEventsResult, PutEventsTarget } from '@nightshift/events-domain';
import { platformMetrics } from '@nightshift/observability';

/**
 * A {@link PutEventsTarget} that counts each entry the bus accepted (`nightshift.events.published`,
 * by detail-type and source): a service's publishing path, the same in both modes. An entry
 * refused and retried by the publisher is counted once, when it is accepted.
 */
export class MeteredPutEventsTarget implements PutEventsTarget {
  constructor(private readonly target: PutEventsTarget) {}

  async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResult> {
    const result = await this.target.putEvents(entries);
    const metrics = platformMetrics();
    result.Entries.forEach((r, i) => {
      const entry = entries[i];
      if ('EventId' in r && entry) metrics.eventPublished(entry.DetailType ?? '', entry.Source ?? '');
    });
    return result;
  }
}
