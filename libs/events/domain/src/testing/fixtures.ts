import { it } from 'vitest';
import type { EventBridgeEvent } from '@nightshift/contracts';
import type { MessageConsumer, QueueMessage } from '../ports/message-consumer.port.js';

/*
 * What the queue contract suites (MessageConsumer, DeadLetterQueues) and the adapter specs that
 * feed them share: the deadline, cases an adapter may skip, receiving with long polls, and events.
 */

/** Generous: the suites must pass on a busy 2-core machine. */
export const DEADLINE_MS = 30_000;

/** `it` for the named cases of a contract suite: a case in `skip` is skipped, its reason shown in its name. */
export function contractCases<C extends string>(skip: Partial<Record<C, string>> = {}): (c: C, title: string, fn: () => Promise<void>) => void {
  return (c, title, fn) => {
    const reason = skip[c];
    if (reason !== undefined) it.skip(`${c}: ${title} (skipped: ${reason})`, fn);
    else it(`${c}: ${title}`, fn);
  };
}

/** Receives from `consumer` until `count` messages came or the deadline passed; long polls in between. */
export async function receiveSome(consumer: MessageConsumer, count: number, deadlineMs = DEADLINE_MS): Promise<QueueMessage[]> {
  const until = Date.now() + deadlineMs;
  const out: QueueMessage[] = [];
  while (out.length < count && Date.now() < until) {
    out.push(...(await consumer.receive(Math.min(10, count - out.length), { waitTimeMs: Math.min(5_000, Math.max(1, until - Date.now())) })));
  }
  return out;
}

let sequence = 0;

/** An EventBridge event with nightshift's envelope, as a rule delivers it; `label` in its detail and correlation id. */
export function anEvent(label: string, options: { tenant?: string } = {}): EventBridgeEvent {
  sequence++;
  return {
    version: '0',
    id: globalThis.crypto.randomUUID(),
    'detail-type': 'Contract Probe',
    source: 'nightshift.contract',
    account: '000000000000',
    time: `2024-05-02T01:00:${String(sequence % 60).padStart(2, '0')}Z`,
    region: 'us-east-1',
    resources: [],
    detail: {
      metadata: {
        eventId: `evt-${label}-${sequence}`,
        correlationId: `corr-${label}`,
        occurredAt: '2024-05-02T01:00:00.000Z',
        ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
      },
      data: { label },
    },
  };
}
