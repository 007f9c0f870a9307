import { PutEventsPublisher } from '@nightshift/events-domain';
// The contract suite is test-only and deliberately not in events-domain's public index.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { describeEventPublisherContract, memoryClaimChecks } from '../../domain/src/testing/event-publisher.contract.js';
import { LocalEventBus } from './local-event-bus.js';
import { drainQueue, LANDED_ONLY, tempDir } from './testing/fixtures.js';

describeEventPublisherContract('PutEventsPublisher -> LocalEventBus', async () => {
  const { dir, cleanup } = await tempDir();
  const bus = await LocalEventBus.open({ dir, rules: LANDED_ONLY });
  const claimChecks = memoryClaimChecks();
  return {
    publisher: new PutEventsPublisher(bus, { claimChecks }),
    published: () => drainQueue(bus, 'ingestion'),
    claimChecks,
    close: async () => {
      await bus.close();
      await cleanup();
    },
  };
});
