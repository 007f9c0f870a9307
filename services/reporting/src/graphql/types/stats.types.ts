import { Extensions, Field, Float, Int, ObjectType } from '@nestjs/graphql';
import { COST } from '../limits.js';
import { RunStatus } from './run.types.js';

@ObjectType('RunStatusCount', { description: 'How many runs of a pipeline and business day are in a status.' })
export class RunStatusCount {
  @Field()
  pipeline!: string;

  @Field()
  businessDate!: string;

  @Field(() => RunStatus)
  status!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType('DurationPercentiles', { description: "Percentiles of a pipeline's finished runs' durations (start to finish), nearest rank." })
export class DurationPercentiles {
  @Field()
  pipeline!: string;

  @Field(() => Int, { description: 'Finished runs counted.' })
  runs!: number;

  @Field(() => Float)
  p50Ms!: number;

  @Field(() => Float)
  p90Ms!: number;

  @Field(() => Float)
  p99Ms!: number;
}

@ObjectType('RunUsage', { description: "A run's compute: vCPU-seconds = sum over its tasks' attempts of (stoppedAt - startedAt) x its step's vCPUs." })
export class RunUsage {
  @Field()
  runId!: string;

  @Field()
  pipeline!: string;

  @Field()
  businessDate!: string;

  @Field(() => Float)
  vcpuSeconds!: number;
}

@ObjectType('Stats', { description: 'Runs of business days from..to (inclusive), of the caller\'s tenant (or the one named).' })
export class StatsType {
  @Field()
  from!: string;

  @Field()
  to!: string;

  @Field(() => String, { nullable: true })
  pipeline?: string;

  @Field(() => Int, { description: 'Runs counted.' })
  runs!: number;

  @Field({ description: 'False when the window held more runs than one statistics request reads (MAX_STATS_RUNS): narrow it.' })
  complete!: boolean;

  @Field(() => [RunStatusCount])
  @Extensions({ [COST]: { listSize: 50 } })
  runsByStatus!: RunStatusCount[];

  @Field(() => [DurationPercentiles])
  @Extensions({ [COST]: { listSize: 10 } })
  durations!: DurationPercentiles[];
}
