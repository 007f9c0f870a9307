import { describe, expect, it } from 'vitest';
import { InvalidDeadLetterCursorError } from '../errors.js';
import type { DeadLetterView } from '../ports/dead-letter-queues.port.js';
import { deadLetterEventOf, decodeDeadLetterCursor, encodeDeadLetterCursor, pageOfDeadLetters } from './dead-letter-pages.js';

describe('dead-letter cursors', () => {
  it('round-trip a position, also with a message id outside ASCII, and only for their queue', () => {
    const position = { atMs: 1_714_611_600_123, messageId: 'é-☃-1' };
    const cursor = encodeDeadLetterCursor('planner', position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeDeadLetterCursor('planner', cursor)).toEqual(position);
    expect(() => decodeDeadLetterCursor('reporting', cursor)).toThrow(InvalidDeadLetterCursorError);
  });

  it('refuse what they did not make', () => {
    for (const cursor of ['', 'a', '!!', 'bnVsbA', 'eyJxIjoicGxhbm5lciIsInQiOiIxIiwibSI6IngifQ']) {
      expect(() => decodeDeadLetterCursor('planner', cursor)).toThrow(InvalidDeadLetterCursorError);
    }
  });
});

describe('deadLetterEventOf', () => {
  const event = { version: '0', id: 'e1', 'detail-type': 'Run Failed', source: 'nightshift.planner', time: '2024-05-02T01:00:00Z', detail: {} };

  it('reads the envelope, and tenant and correlation id from the metadata when they are strings', () => {
    expect(deadLetterEventOf({ ...event, detail: { metadata: { tenant: 'acme', correlationId: 'c1', eventId: 'x' }, data: {} } })).toEqual({
      id: 'e1',
      source: 'nightshift.planner',
      detailType: 'Run Failed',
      time: '2024-05-02T01:00:00Z',
      tenant: 'acme',
      correlationId: 'c1',
    });
    expect(deadLetterEventOf({ ...event, detail: { metadata: { tenant: 7 } } })).toEqual({ id: 'e1', source: 'nightshift.planner', detailType: 'Run Failed', time: '2024-05-02T01:00:00Z' });
  });

  it('is undefined for what is not an event', () => {
    for (const body of [undefined, 'text', [], { id: 'e1' }, { ...event, time: 5 }]) expect(deadLetterEventOf(body)).toBeUndefined();
  });
});

describe('pageOfDeadLetters', () => {
  const view = (messageId: string, tenant?: string): DeadLetterView => ({
    messageId,
    queue: 'planner',
    ...(tenant !== undefined ? { event: { id: messageId, source: 's', detailType: 'd', time: 't', tenant } } : {}),
  });
  const all = [
    { view: view('b', 'acme'), position: { atMs: 2, messageId: 'b' } },
    { view: view('c'), position: { atMs: 1, messageId: 'c' } },
    { view: view('a', 'acme'), position: { atMs: 2, messageId: 'a' } },
  ];

  it('orders by time then message id, and pages after the cursor', () => {
    const first = pageOfDeadLetters('planner', all, { limit: 2 });
    expect(first.items.map((v) => v.messageId)).toEqual(['c', 'a']);
    const second = pageOfDeadLetters('planner', all, { limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [all[0]!.view] });
  });

  it('filters by tenant before paging', () => {
    const first = pageOfDeadLetters('planner', all, { limit: 1, tenant: 'acme' });
    expect(first.items.map((v) => v.messageId)).toEqual(['a']);
    expect(pageOfDeadLetters('planner', all, { limit: 1, tenant: 'acme', cursor: first.nextCursor! }).items.map((v) => v.messageId)).toEqual(['b']);
  });
});
