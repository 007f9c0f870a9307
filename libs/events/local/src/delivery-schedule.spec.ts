import { describe, expect, it } from 'vitest';
import { DeliverySchedule, type Schedulable } from './delivery-schedule.js';

interface Entry extends Schedulable {
  id: number;
}

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('DeliverySchedule', () => {
  it('hands out visible entries oldest first and the others once their time comes', () => {
    const schedule = new DeliverySchedule<Entry>();
    const [a, b, c] = [1, 2, 3].map((id): Entry => ({ id, order: id, ticket: 0 }));
    schedule.schedule(c, 0);
    schedule.schedule(b, 100);
    schedule.schedule(a, 50);
    expect(schedule.nextVisibleAt()).toBe(0);
    expect(schedule.next(10)).toBe(c);
    expect(schedule.next(10)).toBeUndefined();
    expect(schedule.nextVisibleAt()).toBe(50);
    expect([schedule.next(200), schedule.next(200), schedule.next(200)]).toEqual([a, b, undefined]);
    expect(schedule.nextVisibleAt()).toBe(Infinity);
  });

  it('drops the old time of a rescheduled entry and never hands out an unscheduled one', () => {
    const schedule = new DeliverySchedule<Entry>();
    const a: Entry = { id: 1, order: 1, ticket: 0 };
    const b: Entry = { id: 2, order: 2, ticket: 0 };
    schedule.schedule(a, 10);
    schedule.schedule(a, 1_000);
    schedule.schedule(b, 10);
    schedule.unschedule(b);
    expect(schedule.next(500)).toBeUndefined();
    expect(schedule.nextVisibleAt()).toBe(1_000);
    expect(schedule.next(1_000)).toBe(a);
    expect(schedule.next(1_000)).toBeUndefined();
  });

  it('agrees with a full scan under random operations, across heap rebuilds', () => {
    const rnd = random(42);
    const schedule = new DeliverySchedule<Entry>();
    const entries: Entry[] = Array.from({ length: 200 }, (_, i) => ({ id: i, order: i, ticket: 0 }));
    /** The model: when each scheduled entry is visible. */
    const model = new Map<Entry, number>();
    const mismatches: string[] = [];
    let now = 0;
    for (let step = 0; step < 30_000 && mismatches.length === 0; step++) {
      const entry = entries[Math.floor(rnd() * entries.length)];
      const op = rnd();
      if (op < 0.45) {
        // Some far in the future: their nodes go stale when rescheduled and pile up until a rebuild.
        const r = rnd();
        const at = r < 0.2 ? 0 : r < 0.4 ? now + 1_000_000 : now + Math.floor(rnd() * 100);
        schedule.schedule(entry, at);
        model.set(entry, at);
      } else if (op < 0.55) {
        schedule.unschedule(entry);
        model.delete(entry);
      } else if (op < 0.9) {
        let expected: Entry | undefined;
        for (const [e, at] of model) if (at <= now && (expected === undefined || e.order < expected.order)) expected = e;
        const got = schedule.next(now);
        if (got !== expected) mismatches.push(`step ${step}: next gave ${got?.id}, expected ${expected?.id}`);
        if (expected) model.delete(expected);
      } else {
        now += Math.floor(rnd() * 20);
      }
      let expectedNext = Infinity;
      for (const at of model.values()) expectedNext = Math.min(expectedNext, at);
      // A visible entry may be reported by its own past time rather than 0: both mean "now".
      const next = schedule.nextVisibleAt();
      if ((next <= now ? 0 : next) !== (expectedNext <= now ? 0 : expectedNext)) {
        mismatches.push(`step ${step}: nextVisibleAt ${next}, expected ${expectedNext} (now ${now})`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
