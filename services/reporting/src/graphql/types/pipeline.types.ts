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
}
