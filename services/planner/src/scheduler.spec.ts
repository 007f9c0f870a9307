import { RunRequested } from '@nightshift/contracts';
import type { EventPublisher, OutgoingEvent } from '@nightshift/events-domain';
import { noopPipeline, scheduleDefinitionSchema, type Clock, type PipelineDefinition, type ScheduleDefinition, type ScheduleState } from '@nightshift/jobs-domain';
import { DynamoDbScheduleState } from '@nightshift/jobs-dynamodb';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the store lib's test fixture (one embedded server per spec file)
import { embeddedTables } from '../../../libs/jobs/dynamodb/src/testing/embedded-tables.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_FIRES_PER_TICK, PENDING_TAKEOVER_MS, planTick, Scheduler, scheduledRunRequest } from './scheduler.js';

const T0 = '2026-11-23T06:30:00.000Z';
const at = (iso: string) => new Date(iso);
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

function schedule(overrides: Record<string, unknown> = {}): ScheduleDefinition {
  return scheduleDefinitionSchema.parse({ name: 'hourly', expression: 'cron(0 * * * ? *)', ...overrides });
}

describe('planTick: which fires are due', () => {
  it('publishes a fire that just passed, once: the cursor moves past it', () => {
    const plan = planTick(schedule(), { createdAt: T0 }, at('2026-11-23T07:00:20Z'));
    expect(plan).toEqual({ lastFireTime: '2026-11-23T07:00:00.000Z', publish: ['2026-11-23T07:00:00.000Z'], dropped: 0 });
    expect(planTick(schedule(), { createdAt: T0, lastFireTime: plan.lastFireTime }, at('2026-11-23T07:00:40Z'))).toEqual({ publish: [], dropped: 0 });
  });

  it('fires nothing from history on a cursor just created', () => {
    expect(planTick(schedule(), { createdAt: '2026-11-23T07:00:00.000Z' }, at('2026-11-23T07:00:00Z'))).toEqual({ publish: [], dropped: 0 });
  });

  it('applies the catch-up policy to fires missed while nothing ran: none, latest, all', () => {
    const cursor = { createdAt: T0, lastFireTime: '2026-11-23T07:00:00.000Z' };
    const now = at('2026-11-23T10:30:00Z'); // 08:00, 09:00, 10:00 missed
    expect(planTick(schedule({ catchUp: { policy: 'none' } }), cursor, now)).toEqual({ lastFireTime: '2026-11-23T10:00:00.000Z', publish: [], dropped: 3 });
    expect(planTick(schedule({ catchUp: { policy: 'latest' } }), cursor, now)).toEqual({ lastFireTime: '2026-11-23T10:00:00.000Z', publish: ['2026-11-23T10:00:00.000Z'], dropped: 2 });
    expect(planTick(schedule({ catchUp: { policy: 'all' } }), cursor, now)).toEqual({
      lastFireTime: '2026-11-23T10:00:00.000Z',
      publish: ['2026-11-23T08:00:00.000Z', '2026-11-23T09:00:00.000Z', '2026-11-23T10:00:00.000Z'],
      dropped: 0,
    });
  });

  it('catches up only within windowMinutes, and keeps an on-time fire whatever the policy', () => {
    const cursor = { createdAt: T0, lastFireTime: '2026-11-23T07:00:00.000Z' };
    const now = at('2026-11-23T11:00:30Z');
    expect(planTick(schedule({ catchUp: { policy: 'all', windowMinutes: 90 } }), cursor, now).publish).toEqual(['2026-11-23T10:00:00.000Z', '2026-11-23T11:00:00.000Z']);
    expect(planTick(schedule({ catchUp: { policy: 'none' } }), cursor, now).publish).toEqual(['2026-11-23T11:00:00.000Z']);
    expect(planTick(schedule({ catchUp: { policy: 'latest' } }), cursor, now).publish).toEqual(['2026-11-23T10:00:00.000Z', '2026-11-23T11:00:00.000Z']);
  });

  it('counts a fire within the flexible time window as on time', () => {
    const cursor = { createdAt: T0, lastFireTime: '2026-11-23T06:00:00.000Z' };
    const now = at('2026-11-23T07:10:00Z');
    expect(planTick(schedule({ catchUp: { policy: 'none' } }), cursor, now).publish).toEqual([]);
    expect(planTick(schedule({ catchUp: { policy: 'none' }, flexibleTimeWindowMinutes: 15 }), cursor, now).publish).toEqual(['2026-11-23T07:00:00.000Z']);
  });

  it(`publishes at most ${MAX_FIRES_PER_TICK} fires a tick, and the next tick goes on where it stopped`, () => {
    const everyMinute = schedule({ expression: 'rate(1 minute)', catchUp: { policy: 'all', windowMinutes: 2880 } });
    const cursor = { createdAt: '2026-11-22T00:00:00.000Z', lastFireTime: '2026-11-22T00:00:00.000Z' };
    const now = at('2026-11-23T06:00:00Z'); // 1,800 missed minutes
    const first = planTick(everyMinute, cursor, now);
    expect(first.publish).toHaveLength(MAX_FIRES_PER_TICK);
    expect(first.lastFireTime).toBe(first.publish.at(-1));
    const second = planTick(everyMinute, { ...cursor, lastFireTime: first.lastFireTime }, now);
    expect(second.publish).toHaveLength(800);
    expect(second.publish[0]).toBe(plus(first.lastFireTime!, 60_000));
  });

  it('counts a rate from the cursor\'s creation', () => {
    const plan = planTick(schedule({ expression: 'rate(2 hours)' }), { createdAt: '2026-11-23T06:17:00.000Z' }, at('2026-11-23T08:17:30Z'));
    expect(plan.publish).toEqual(['2026-11-23T08:17:00.000Z']);
  });

  it('follows the time zone through a daylight-saving change (no fire in the skipped hour)', () => {
    // 02:30 in New York does not exist on 2026-03-08.
    const ny = schedule({ expression: 'cron(30 2 * * ? *)', timezone: 'America/New_York', catchUp: { policy: 'all', windowMinutes: 4320 } });
    const plan = planTick(ny, { createdAt: '2026-03-07T00:00:00.000Z' }, at('2026-03-09T12:00:00Z'));
    expect(plan.publish).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it('moves a disabled schedule\'s cursor along without publishing, so enabling it later catches nothing up', () => {
    const plan = planTick(schedule({ enabled: false }), { createdAt: T0, lastFireTime: '2026-11-23T06:00:00.000Z' }, at('2026-11-23T07:00:10Z'));
    expect(plan).toEqual({ lastFireTime: '2026-11-23T07:00:00.000Z', publish: [], dropped: 1 });
  });
});

describe('scheduledRunRequest', () => {
  it('is a Run Requested from nightshift.scheduler, its event id and fire from the schedule and the time, with no business date', () => {
    const event = scheduledRunRequest('nightly-tca', 'nightly', '2026-12-24T07:00:00.000Z');
    expect(event).toMatchObject({ source: 'nightshift.scheduler', detailType: 'Run Requested' });
    const detail = RunRequested.detail.parse(event.detail);
    expect(detail.metadata).toEqual({ eventId: `schedule-nightly-tca-nightly-${Date.UTC(2026, 11, 24, 7)}`, correlationId: `schedule-nightly-tca-nightly-${Date.UTC(2026, 11, 24, 7)}`, occurredAt: '2026-12-24T07:00:00.000Z' });
    expect(detail.data).toEqual({ pipeline: 'nightly-tca', requestedBy: 'nightshift.scheduler (nightly-tca/nightly)', schedule: { name: 'nightly', scheduledTime: '2026-12-24T07:00:00.000Z' } });
  });
});

/** Keeps what is published. */
class RecordingPublisher implements EventPublisher {
  readonly events: OutgoingEvent[] = [];
  async publish(entries: OutgoingEvent[]): Promise<void> {
    this.events.push(...entries);
  }
  fires(): string[] {
    return this.events.map((e) => (e.detail as { data: { schedule: { scheduledTime: string } } }).data.schedule.scheduledTime);
  }
}

/** A clock tests set. */
class FakeClock implements Clock {
  constructor(private at: Date) {}
  now(): Date {
    return new Date(this.at);
  }
  set(iso: string): void {
    this.at = new Date(iso);
  }
}

describe('Scheduler on the embedded DynamoDB', () => {
  const dynamo = embeddedTables('scheduler');
  let state: ScheduleState;
  let pipeline: PipelineDefinition;
  let clock: FakeClock;

  beforeEach(async () => {
    state = new DynamoDbScheduleState(dynamo.client, { tableName: await dynamo.freshTable() });
    pipeline = { ...noopPipeline('hourly-noop', 1), schedules: [schedule()] };
    clock = new FakeClock(at(T0));
  });

  it('creates the cursor on the first tick and fires nothing then; fires each hour once as time passes', async () => {
    const publisher = new RecordingPublisher();
    const scheduler = new Scheduler({ schedules: state, publisher, clock }, [pipeline]);
    await scheduler.tick();
    expect(await state.getCursor('hourly-noop', 'hourly')).toMatchObject({ createdAt: T0, version: 1 });
    clock.set('2026-11-23T07:00:05Z');
    await scheduler.tick();
    await scheduler.tick();
    clock.set('2026-11-23T08:00:01Z');
    await scheduler.tick();
    expect(publisher.fires()).toEqual(['2026-11-23T07:00:00.000Z', '2026-11-23T08:00:00.000Z']);
    expect(await state.getCursor('hourly-noop', 'hourly')).toMatchObject({ lastFireTime: '2026-11-23T08:00:00.000Z' });
    expect((await state.getCursor('hourly-noop', 'hourly'))?.pending).toBeUndefined();
  });

  it('lets one of several schedulers on one store publish a fire: the others lose the claim', async () => {
    const publisher = new RecordingPublisher();
    const schedulers = [0, 1, 2, 3].map(() => new Scheduler({ schedules: state, publisher, clock }, [pipeline]));
    await Promise.all(schedulers.map((s) => s.tick()));
    clock.set('2026-11-23T07:00:05Z');
    await Promise.all(schedulers.map((s) => s.tick()));
    await Promise.all(schedulers.map((s) => s.tick()));
    expect(publisher.fires()).toEqual(['2026-11-23T07:00:00.000Z']);
  });

  it('publishes again what a claimant that died left pending, once the claim is old, and only then', async () => {
    const publisher = new RecordingPublisher();
    const scheduler = new Scheduler({ schedules: state, publisher, clock }, [pipeline]);
    await scheduler.tick();
    // A process claimed the 07:00 fire and died before publishing it.
    const cursor = (await state.getCursor('hourly-noop', 'hourly'))!;
    await state.moveCursor(cursor, { lastFireTime: '2026-11-23T07:00:00.000Z', pending: ['2026-11-23T07:00:00.000Z'], claimedAt: '2026-11-23T07:00:01.000Z' });
    clock.set('2026-11-23T07:00:10Z');
    await scheduler.tick();
    expect(publisher.fires()).toEqual([]);
    clock.set(plus('2026-11-23T07:00:01.000Z', PENDING_TAKEOVER_MS));
    await scheduler.tick();
    await scheduler.tick();
    expect(publisher.fires()).toEqual(['2026-11-23T07:00:00.000Z']);
    expect(await state.getCursor('hourly-noop', 'hourly')).toMatchObject({ lastFireTime: '2026-11-23T07:00:00.000Z' });
    expect((await state.getCursor('hourly-noop', 'hourly'))?.pending).toBeUndefined();
  });

  it('keeps a schedule whose publishing fails pending for the next tick, and goes on with the others', async () => {
    const failing: EventPublisher = { publish: async () => Promise.reject(new Error('bus down')) };
    const other = { ...noopPipeline('other-noop', 1), schedules: [schedule({ name: 'other' })] };
    const errors: string[] = [];
    const scheduler = new Scheduler({ schedules: state, publisher: failing, clock }, [pipeline, other], { log: () => undefined, warn: () => undefined, error: (m: string) => errors.push(m) });
    await scheduler.tick();
    clock.set('2026-11-23T07:00:05Z');
    await scheduler.tick();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('bus down');
    expect(await state.getCursor('hourly-noop', 'hourly')).toMatchObject({ pending: ['2026-11-23T07:00:00.000Z'] });
    // The bus is back: the claim is taken over once old, and published.
    const publisher = new RecordingPublisher();
    const recovered = new Scheduler({ schedules: state, publisher, clock }, [pipeline, other]);
    clock.set(plus('2026-11-23T07:00:05Z', PENDING_TAKEOVER_MS));
    await recovered.tick();
    expect(publisher.fires().sort()).toEqual(['2026-11-23T07:00:00.000Z', '2026-11-23T07:00:00.000Z']);
    expect(publisher.events.map((e) => (e.detail as { data: { pipeline: string } }).data.pipeline).sort()).toEqual(['hourly-noop', 'other-noop']);
  });
});
