import { Field, Float, Int, ObjectType } from '@nestjs/graphql';

@ObjectType('PipelineTrigger')
export class PipelineTrigger {
  @Field(() => [String], { description: 'Datasets whose registration starts a run.' })
  datasets!: string[];
}

@ObjectType('PipelineStep', { description: 'One step of a pipeline: what it runs, how it fans out, what it needs.' })
export class PipelineStep {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  analytic?: string;

  @Field(() => [String], { nullable: true, description: 'A plain command, for a step that runs no analytic.' })
  command?: string[];

  @Field({ description: 'partitions, single, parameters or count.' })
  fanOut!: string;

  @Field(() => [String])
  dependsOn!: string[];

  @Field(() => Float, { description: 'vCPUs each task is given (vCPU-seconds count with them).' })
  vcpus!: number;

  @Field(() => Int)
  memoryMiB!: number;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int)
  timeoutSeconds!: number;

  @Field()
  queue!: string;
}

@ObjectType('ScheduleCatchUp', { description: 'What the embedded scheduler does about fires missed while the platform was down.' })
export class ScheduleCatchUp {
  @Field({ description: 'none, latest or all.' })
  policy!: string;

  @Field(() => Int, { description: 'Only missed fires this recent are caught up.' })
  windowMinutes!: number;
}

@ObjectType('ScheduleFire', { description: 'What became of one fire of a schedule.' })
export class ScheduleFire {
  @Field({ description: 'The fire time (ISO-8601 UTC).' })
  scheduledTime!: string;

  @Field({ description: 'RUN_REQUESTED or SKIPPED.' })
  outcome!: string;

  @Field(() => String, { nullable: true, description: 'The run the fire asked for; it may have failed at once, with reason.' })
  runId?: string;

  @Field(() => String, { nullable: true })
  businessDate?: string;

  @Field(() => String, { nullable: true, description: 'Why no run (a holiday, a weekend), or why the run failed at once.' })
  reason?: string;

  @Field({ description: 'When the planner handled the fire.' })
  at!: string;
}

@ObjectType('PipelineSchedule', { description: 'A schedule that starts runs of the pipeline, when it fires next and what its last fires did.' })
export class PipelineSchedule {
  @Field()
  name!: string;

  @Field({ description: 'EventBridge Scheduler expression: cron(...), rate(...) or at(...).' })
  expression!: string;

  @Field({ description: 'IANA time zone of the expression.' })
  timezone!: string;

  @Field(() => Int, { nullable: true })
  flexibleTimeWindowMinutes?: number;

  @Field({ description: "Fires on days that are not business days of the pipeline's calendar are skipped." })
  businessDaysOnly!: boolean;

  @Field({ description: "previous (the business day before the fire's local date) or same." })
  businessDate!: string;

  @Field(() => ScheduleCatchUp)
  catchUp!: ScheduleCatchUp;

  @Field()
  enabled!: boolean;

  @Field(() => [String], { description: 'The next 3 fire times (ISO-8601 UTC); none when disabled.' })
  nextFireTimes!: string[];

  @Field(() => [ScheduleFire], { description: 'The last 10 fires, newest first.' })
  recentFires!: ScheduleFire[];
}

@ObjectType('Pipeline', { description: 'A pipeline definition: its steps and what triggers it (the same for every tenant).' })
export class PipelineType {
  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => PipelineTrigger)
  trigger!: PipelineTrigger;

  @Field(() => [String])
  requiredTables!: string[];

  @Field(() => [PipelineStep])
  steps!: PipelineStep[];

  @Field(() => Int, { nullable: true, description: 'A run still open after this long fails.' })
  timeoutSeconds?: number;

  @Field({ description: "Whose business days the pipeline follows: WEEKDAYS, XNYS or XLON." })
  calendar!: string;

  @Field(() => [PipelineSchedule])
  schedules!: PipelineSchedule[];
}
