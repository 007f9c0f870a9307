import { z } from 'zod';
import { businessDateSchema, pipelineNameSchema } from '../common.js';
import { detailEnvelope, NightshiftSource } from '../envelope.js';

/**
 * The fire of a pipeline's schedule that asks for the run: the schedule's name in the pipeline and
 * the fire time (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`, or the embedded
 * scheduler's). The run is idempotent by the two: every delivery of one fire, from either
 * scheduler, asks for the same run.
 */
export const scheduledFireSchema = z
  .object({
    name: pipelineNameSchema,
    scheduledTime: z.string().datetime({ offset: true }),
  })
  .strict();
export type ScheduledFire = z.infer<typeof scheduledFireSchema>;

/**
 * Run Requested's data fields without the rule that ties them together: the base of schemas that
 * take a request in another form (the REST API's `POST /runs` body). Parse events with
 * `RunRequested.detail`.
 */
export const runRequestFieldsSchema = z.object({
  pipeline: pipelineNameSchema,
  /** The business date to run; absent only on a schedule's fire, whose date the planner derives from the fire time. */
  businessDate: businessDateSchema.optional(),
  /** The dataset version to run on; the latest registered one for the date when absent. */
  datasetId: z.string().min(1).optional(),
  requestedBy: z.string().min(1),
  /**
   * Set when a schedule fired: EventBridge Scheduler cannot compute a business date, so the planner
   * derives it from the fire time, the schedule's time zone and the pipeline's calendar (and skips a
   * fire on a non-business day of a `businessDaysOnly` schedule).
   */
  schedule: scheduledFireSchema.optional(),
});

/** Run Requested: someone (API, schedule) asks for a pipeline run over a registered dataset. */
export const RunRequested = {
  source: NightshiftSource.api,
  detailType: 'Run Requested',
  version: '1',
  detail: detailEnvelope(
    runRequestFieldsSchema.refine((data) => data.businessDate !== undefined || data.schedule !== undefined, {
      message: 'businessDate is required unless the request is a schedule\'s fire (schedule), whose business date the planner derives',
      path: ['businessDate'],
    }),
  ),
} as const;
export type RunRequestedDetail = z.infer<typeof RunRequested.detail>;
