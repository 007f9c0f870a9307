import { describe, expect, it } from 'vitest';
import { EventTooLargeError } from '../errors.js';
import { assertEventFits, eventSize, MAX_EVENT_BYTES } from './event-size.js';

const event = (detail: unknown, resources?: string[]) => ({ source: 'nightshift.planner', detailType: 'Run Succeeded', detail, ...(resources ? { resources } : {}) });

describe('eventSize', () => {
  it('counts UTF-8 bytes of source, detail-type, the JSON detail and each resource, as EventBridge does', () => {
    const detail = { note: 'é€😀' };
    const expected = ['nightshift.planner', 'Run Succeeded', JSON.stringify(detail), 'run-1'].reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
    expect(eventSize(event(detail, ['run-1']))).toBe(expected);
  });
});

describe('assertEventFits', () => {
  const fill = (bytes: number) => 'x'.repeat(bytes);
  const overhead = eventSize(event({ pad: '' }));

  it('lets an event of exactly 256 KiB through', () => {
    expect(() => assertEventFits(event({ pad: fill(MAX_EVENT_BYTES - overhead) }))).not.toThrow();
  });

  it('refuses one byte more, naming the event and its size, as not retryable', () => {
    let error: unknown;
    try {
      assertEventFits(event({ pad: fill(MAX_EVENT_BYTES - overhead + 1) }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EventTooLargeError);
    expect((error as EventTooLargeError).retryable).toBe(false);
    expect((error as Error).message).toBe(
      `event "Run Succeeded" is ${MAX_EVENT_BYTES + 1} bytes, over the ${MAX_EVENT_BYTES}-byte limit of one event: lists that grow with a run belong in the object store, referenced from the event`,
    );
  });
});
