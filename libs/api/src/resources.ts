import { batchJobStatusSchema, businessDateSchema, dataProblemSchema, pipelineNameSchema, registeredFileSchema } from '@nightshift/contracts';
import { CATCH_UP_POLICIES, PIPELINE_CALENDARS, RUN_STATUSES, STEP_STATUSES } from '@nightshift/jobs-domain';
import { z } from 'zod';

/*
 * What the REST API returns, as zod schemas: the OpenAPI document is generated from these, the
 * API's tests check every response against that document, and the CLI parses answers with them.
 * One source for all three.
 */

const timestamp = z.string().describe('ISO-8601 UTC timestamp');

export const runStatusSchema = z.enum(RUN_STATUSES);
export const stepStatusSchema = z.enum(STEP_STATUSES);

/** One page of a listing, newest first unless the route says otherwise; `nextCursor` asks for the next page. */
export function pageSchema<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z.string().optional().describe('Pass as `cursor` to get the next page; absent on the last page. Opaque.'),
    })
    .meta({ id });
}

export const runSchema = z
  .object({
    runId: z.string(),
    pipeline: pipelineNameSchema,
    businessDate: businessDateSchema,
    datasetId: z.string(),
    status: runStatusSchema,
    correlationId: z.string(),
    traceparent: z.string().optional(),
    traceId: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional()
      .describe("The run's trace (OTLP trace id, derived from the run id): every span of its work, whichever service wrote it; the run's own span is its root. Always sent; optional for older servers."),
    tenant: z.string().optional(),
    tasksTotal: z.number().int().nonnegative(),
    createdAt: timestamp,
    updatedAt: timestamp,
    startedAt: timestamp.optional(),
    finishedAt: timestamp.optional(),
    durationMs: z.number().optional(),
    reason: z.string().optional().describe('Why the run failed, for people.'),
    deadline: timestamp.optional(),
    attempt: z.number().int().positive().optional().describe('Which attempt of the run this is: 1 unless failed tasks were retried.'),
  })
  .loose()
  .meta({ id: 'Run', description: 'A pipeline run over one dataset version.' });
export type RunResource = z.infer<typeof runSchema>;

export const runProgressSchema = z
  .object({
    done: z.number().int(),
    total: z.number().int(),
    failed: z.number().int(),
    steps: z.record(z.string(), z.object({ status: stepStatusSchema, done: z.number().int(), total: z.number().int(), failed: z.number().int() })),
  })
  .meta({ id: 'RunProgress' });

export const stepJobSchema = z
  .object({
    jobId: z.string(),
    status: batchJobStatusSchema,
    statusReason: z.string().optional(),
    statusSummary: z.record(z.string(), z.number()).optional(),
    waitingReason: z.string().optional().describe('Why the first RUNNABLE task of the step waits: what it needs, what is in use, how many jobs are ahead.'),
  })
  .meta({ id: 'StepJob' });

export const stepSchema = z
  .object({
    runId: z.string(),
    step: z.string(),
    status: stepStatusSchema,
    size: z.number().int(),
    jobName: z.string(),
    jobId: z.string().optional(),
    submittedAt: timestamp.optional(),
    finishedAt: timestamp.optional(),
    succeeded: z.number().int(),
    failed: z.number().int(),
    reason: z.string().optional().describe('Why the step failed, or was skipped.'),
    waitUntil: timestamp.optional().describe('A WAITING step: when its wait ends, or when its approval times out.'),
    decision: z
      .object({ decision: z.enum(['APPROVED', 'REJECTED']), by: z.string(), at: timestamp, comment: z.string().optional() })
      .optional()
      .describe("An approval step's answer, once given."),
    updatedAt: timestamp,
    job: stepJobSchema.optional().describe("The step's job as the compute environment sees it now (while SUBMITTED)."),
  })
  .loose()
  .meta({ id: 'Step' });

export const attemptSchema = z
  .object({
    attempt: z.number().int(),
    startedAt: timestamp.optional(),
    stoppedAt: timestamp.optional(),
    exitCode: z.number().int().optional(),
    statusReason: z.string().optional(),
    reason: z.string().optional(),
    logStreamName: z.string().optional(),
    logUrl: z.string().optional().describe("The API path of the attempt's log."),
  })
  .meta({ id: 'Attempt' });

export const taskSchema = z
  .object({
    runId: z.string(),
    taskId: z.string().describe('`<step>#<partition>`'),
    step: z.string(),
    partition: z.string(),
    arrayIndex: z.number().int(),
    status: batchJobStatusSchema,
    jobId: z.string().optional(),
    maxAttempts: z.number().int(),
    attempts: z.array(attemptSchema),
    outputKey: z.string().optional(),
    createdAt: timestamp,
    updatedAt: timestamp,
    startedAt: timestamp.optional(),
    stoppedAt: timestamp.optional(),
    exitCode: z.number().int().optional(),
    statusReason: z.string().optional(),
    durationMs: z.number().optional(),
  })
  .loose()
  .meta({ id: 'Task' });
export type TaskResource = z.infer<typeof taskSchema>;

export const runDetailSchema = runSchema
  .extend({
    progress: runProgressSchema,
    steps: z.array(stepSchema),
    tasks: z.array(taskSchema).describe('Task records (a task has one once its job reported), one page.'),
    tasksNextCursor: z.string().optional().describe('Pass as `tasksCursor` for the next page of tasks.'),
  })
  .meta({ id: 'RunDetail' });
export type RunDetail = z.infer<typeof runDetailSchema>;

export const reportSchema = z
  .object({
    reportId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    businessDate: businessDateSchema,
    key: z.string(),
    headline: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
    publishedAt: timestamp,
    tenant: z.string().optional(),
  })
  .meta({ id: 'Report' });

/** A headline figure's unit (services/reporting/src/headline-units.ts). */
export const headlineUnitSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('bps').describe('Basis points; positive = cost') }),
    z.object({ kind: z.literal('fraction').describe('A fraction (0.926), shown as a percentage') }),
    z.object({ kind: z.literal('currency'), currency: z.string().optional().describe('ISO 4217 code') }),
    z.object({ kind: z.literal('count'), of: z.string().describe('What is counted, singular') }),
    z.object({ kind: z.literal('ratio'), note: z.string() }),
    z.object({ kind: z.literal('text') }),
  ])
  .meta({ id: 'HeadlineUnit' });

const figureSchema = z.union([z.number(), z.string(), z.null()]);

export const reportProvenanceSchema = z
  .object({
    dataset: z.object({
      datasetId: z.string().describe('`<dataset>@<businessDate>#v<version>`'),
      dataset: z.string().optional(),
      version: z.number().int().optional(),
      registeredAt: timestamp.optional(),
      manifestKey: z.string().optional(),
      files: z.array(registeredFileSchema).describe("Every input file's key and sha256, as ingestion registered them."),
    }),
    pipeline: z.object({ name: z.string(), definitionHash: z.string().optional().describe('`sha256:<hex>` of the definition (canonical JSON) deployed when the report was published.') }),
    run: z.object({
      runId: z.string(),
      attempt: z.number().int().positive(),
      correlationId: z.string().optional(),
      startedAt: timestamp,
      finishedAt: timestamp,
      upstream: z.object({ pipeline: z.string(), runId: z.string() }).optional(),
    }),
    codeVersion: z.string().describe('The package version and, where known, the git commit: `0.1.0+9f2c1e4a7b3d`.'),
  })
  .meta({ id: 'ReportProvenance', description: 'Where the figures come from: the data, the pipeline, the run and the code.' });

export const headlineChangeSchema = z
  .object({
    previous: z.number(),
    current: z.number(),
    absolute: z.number().describe('current − previous'),
    relative: z.number().nullable().describe('absolute / |previous|; null when previous is 0'),
    text: z.string().describe('For people: `+1.22 bps (+16.5 %)`'),
  })
  .meta({ id: 'HeadlineChange' });

export const reportDocumentSchema = z
  .object({
    reportId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    businessDate: businessDateSchema,
    datasetId: z.string(),
    generatedAt: timestamp,
    partitions: z.record(z.string(), z.array(z.string())),
    tasks: z.record(z.string(), z.number()),
    sections: z.record(z.string(), z.unknown()).describe('Per step, its merged results.'),
    headline: z.record(z.string(), figureSchema).describe('Bare figures: fractions as fractions, money in `currency`.'),
    // Optional: reports published before they carried them lack them.
    currency: z.string().optional().describe('ISO 4217 code of every money figure: the pipeline\'s `currency`, USD when it declares none.'),
    headlineUnits: z.record(z.string(), headlineUnitSchema).optional(),
    headlineText: z.record(z.string(), z.string()).optional().describe('Each figure as a person reads it, unit included.'),
    provenance: reportProvenanceSchema.optional(),
    previous: z
      .object({
        reportId: z.string(),
        runId: z.string(),
        businessDate: businessDateSchema,
        publishedAt: timestamp,
        headline: z.record(z.string(), figureSchema),
        changes: z.record(z.string(), headlineChangeSchema).describe('Per figure that is a number in both reports.'),
      })
      .nullable()
      .optional()
      .describe("The same pipeline's (and tenant's) report of the latest earlier business date, and each figure's change; null when there is none."),
  })
  .loose()
  .meta({ id: 'ReportDocument' });

export const reportDetailSchema = reportSchema.extend({ document: reportDocumentSchema.describe('The report document as published (sections per workload).') }).meta({ id: 'ReportDetail' });

export const datasetVersionSchema = z
  .object({
    datasetId: z.string().describe('`<dataset>@<businessDate>#v<version>`'),
    dataset: z.string(),
    businessDate: businessDateSchema,
    version: z.number().int().positive(),
    files: z.array(registeredFileSchema),
    rowCount: z.number().int(),
    partitions: z.array(z.string()),
    manifestKey: z.string(),
    landedEventId: z.string(),
    registeredAt: timestamp,
    tenant: z.string().optional(),
  })
  .meta({ id: 'DatasetVersion' });

export const datasetDetailSchema = datasetVersionSchema
  .extend({
    runs: z.array(runSchema).describe('The runs this version triggered or was requested for, newest first (one page).'),
    runsNextCursor: z.string().optional(),
  })
  .meta({ id: 'DatasetDetail' });

export const landingSchema = z
  .discriminatedUnion('status', [
    z.object({
      landedEventId: z.string(),
      status: z.literal('ACCEPTED'),
      datasetId: z.string(),
      alreadyRegistered: z.boolean().optional().describe('The landing held the content of an earlier version, which it names; nothing new was registered.'),
      at: timestamp,
      tenant: z.string().optional(),
      version: datasetVersionSchema.optional().describe('The dataset version the landing registered or matched.'),
    }),
    z.object({
      landedEventId: z.string(),
      status: z.literal('REJECTED'),
      reasons: z.array(dataProblemSchema),
      omittedReasons: z.number().int().positive().optional().describe('How many more reasons there were than are kept (the first ones that fit are).'),
      dataset: z.string().optional(),
      businessDate: z.string().optional(),
      at: timestamp,
      tenant: z.string().optional(),
    }),
  ])
  .meta({ id: 'Landing', description: 'What became of a Dataset Landed event: the version it registered, or why it was rejected.' });

export const pipelineStepSchema = z
  .object({
    name: z.string(),
    analytic: z.string().optional(),
    command: z.array(z.string()).optional(),
    bare: z.boolean().optional().describe('The command runs alone, without the worker around it.'),
    image: z.string().optional().describe("The command's container image in AWS Batch."),
    wait: z.union([z.object({ seconds: z.number().int() }), z.object({ until: z.string(), timezone: z.string() })]).optional().describe('A wait step: seconds, or a time of day in a zone.'),
    approval: z.object({ timeoutSeconds: z.number().int(), description: z.string().optional() }).optional().describe('An approval step: answered through the API, or the run fails after timeoutSeconds.'),
    when: z.record(z.string(), z.unknown()).optional().describe("The step's condition (Choice) on an earlier step's output."),
    onFailure: z.string().optional().describe('The step that runs when this one fails.'),
    fanOut: z.enum(['partitions', 'single', 'parameters', 'count']),
    dependsOn: z.array(z.string()),
    nToN: z.array(z.string()).optional().describe('The dependencies of dependsOn that are N_TO_N (child i after child i); the others are ALL.'),
    vcpus: z.number(),
    memoryMiB: z.number().int(),
    attempts: z.number().int(),
    timeoutSeconds: z.number().int(),
    queue: z.string(),
  })
  .loose()
  .meta({ id: 'PipelineStep' });

export const scheduleFireSchema = z
  .object({
    scheduledTime: timestamp.describe('The fire time (ISO-8601 UTC).'),
    outcome: z.enum(['RUN_REQUESTED', 'SKIPPED']),
    runId: z.string().optional().describe('The run the fire asked for (RUN_REQUESTED); it may have failed at once, with `reason`.'),
    businessDate: businessDateSchema.optional().describe("The business date the fire's run covers."),
    reason: z.string().optional().describe('Why no run (SKIPPED, e.g. "2026-12-25 is a holiday of XNYS (Christmas Day)"), or why the run failed at once.'),
    at: timestamp.describe('When the planner handled the fire.'),
  })
  .meta({ id: 'ScheduleFire', description: 'What became of one fire of a schedule.' });

export const pipelineScheduleSchema = z
  .object({
    name: z.string(),
    expression: z.string().describe('EventBridge Scheduler expression: cron(...), rate(...) or at(...).'),
    timezone: z.string().describe('IANA time zone of the expression.'),
    flexibleTimeWindowMinutes: z.number().int().optional(),
    businessDaysOnly: z.boolean().describe("Fires on days that are not business days of the pipeline's calendar are skipped (and recorded)."),
    businessDate: z.enum(['previous', 'same']).describe("The business date a fire's run covers: the business day before the fire's local date, or that date."),
    catchUp: z.object({ policy: z.enum(CATCH_UP_POLICIES), windowMinutes: z.number().int() }).describe('What the embedded scheduler does about fires missed while the platform was down.'),
    enabled: z.boolean(),
    nextFireTimes: z.array(timestamp).describe("The schedule's next 3 fire times (none when disabled); a fire on a non-business day of a businessDaysOnly schedule will be skipped."),
    recentFires: z.array(scheduleFireSchema).describe('Its last 10 fires, newest first, with what each did.'),
  })
  .meta({ id: 'PipelineSchedule' });

export const pipelineSchema = z
  .object({
    name: pipelineNameSchema,
    description: z.string(),
    trigger: z.object({
      datasets: z.array(z.string()),
      pipelines: z.array(z.string()).optional().describe('Pipelines whose succeeded runs start a run of this one, over the same dataset version.'),
      onLanding: z.boolean().optional().describe('false: a landing of `datasets` does not start a run by itself (schedules, backfills and requests do).'),
    }),
    requiredTables: z.array(z.string()),
    steps: z.array(pipelineStepSchema),
    timeoutSeconds: z.number().int().optional(),
    currency: z.string().optional().describe("ISO 4217 code of the money in the pipeline's data; its reports' currency (USD when absent)."),
    calendar: z.enum(PIPELINE_CALENDARS).describe("Whose business days the pipeline follows: its default business date, and schedules' businessDaysOnly."),
    schedules: z.array(pipelineScheduleSchema).describe('Schedules that start runs of the pipeline (EventBridge Scheduler in AWS, the embedded scheduler locally).'),
  })
  .meta({ id: 'Pipeline' });

export const deadLetterSchema = z
  .object({
    messageId: z.string(),
    queue: z.string(),
    reason: z.string().optional(),
    deadLetteredAt: timestamp.optional(),
    receiveCount: z.number().int().optional(),
    event: z
      .object({
      id: z.string(),
      source: z.string(),
      detailType: z.string(),
      time: z.string(),
      tenant: z.string().optional(),
      correlationId: z.string().optional(),
      })
      .optional()
      .describe('The event, when the message is one (a body that is not an EventBridge event is dead-lettered as it is).'),
  })
  .meta({ id: 'DeadLetter' });

export const runAcceptedSchema = z
  .object({
    requestId: z.string(),
    runId: z.string(),
    pipeline: z.string(),
    businessDate: businessDateSchema,
    location: z.string().describe('Where the run will be (also the `Location` header).'),
  })
  .meta({ id: 'RunAccepted' });

export const runActionAcceptedSchema = z
  .object({ runId: z.string(), location: z.string() })
  .meta({ id: 'RunActionAccepted', description: 'The planner has the request; follow `location` for its effect.' });

export const redriveResultSchema = z.object({ queue: z.string(), moved: z.number().int().nonnegative() }).meta({ id: 'RedriveResult' });

export const runsPageSchema = pageSchema(runSchema, 'RunPage');
export const reportsPageSchema = pageSchema(reportSchema, 'ReportPage');
export const datasetsPageSchema = pageSchema(datasetVersionSchema, 'DatasetPage');
export const pipelinesPageSchema = pageSchema(pipelineSchema, 'PipelinePage');
export const deadLettersPageSchema = pageSchema(deadLetterSchema, 'DeadLetterPage');
