import {
  nextFireTimes,
  parseScheduleExpression,
  type PipelineDefinition,
  type ScheduleDefinition,
  type ScheduleFireRecord,
  type ScheduleState,
} from '@nightshift/jobs-domain';

/** How many upcoming fire times a schedule view lists. */
export const NEXT_FIRE_TIMES = 3;
/** How many of its last fires a schedule view lists. */
export const RECENT_FIRES = 10;

/** A schedule as the API describes it: its definition, when it fires next, and what its last fires did. */
export type ScheduleView = ScheduleDefinition & {
  nextFireTimes: string[];
  recentFires: Array<Omit<ScheduleFireRecord, 'pipeline' | 'schedule'>>;
};

/**
 * Every schedule of `pipeline`, with its next fire times from `now` and its recent fires as the
 * planner recorded them: two reads per schedule (its cursor, for where a `rate(...)` counts from,
 * and its last fire records). In AWS no cursor exists (EventBridge Scheduler keeps its own), and a
 * rate's next times count from now.
 */
export async function scheduleViews(pipeline: PipelineDefinition, state: ScheduleState, now: Date): Promise<ScheduleView[]> {
  return Promise.all(
    pipeline.schedules.map(async (schedule) => {
      const [cursor, fires] = await Promise.all([state.getCursor(pipeline.name, schedule.name), state.listFires(pipeline.name, schedule.name, RECENT_FIRES)]);
      const parsed = parseScheduleExpression(schedule.expression, { timezone: schedule.timezone });
      const anchor = cursor ? new Date(cursor.createdAt) : now;
      const next = schedule.enabled ? nextFireTimes(parsed, now, NEXT_FIRE_TIMES, { anchor }).map((d) => d.toISOString()) : [];
      return {
        ...schedule,
        catchUp: { ...schedule.catchUp },
        nextFireTimes: next,
        recentFires: fires.map(({ pipeline: _pipeline, schedule: _schedule, ...fire }) => fire),
      };
    }),
  );
}
