import { Inject } from '@nestjs/common';
import { Args, Context, Extensions, Float, Int, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { PlatformApi, type StepJobView } from '../../api/platform-api.js';
import type { GraphQLContext } from '../auth.js';
import { checkFirst } from '../connection.js';
import { COST } from '../limits.js';
import { RequestLoaders } from '../loaders.js';
import { Attempt, Step, StepJob, Task, type AttemptNode, type StepNode, type TaskNode } from '../types/run.types.js';

/** Children of a step `Step.tasks` reads at most (REST's task page bound). */
export const MAX_STEP_TASKS = 5_000;
/** What asking the compute environment about a step's job costs (see limits.ts). */
const COMPUTE_CALL = { [COST]: { field: 5 } };

/** The fields of a step read further: its tasks, its job now, its vCPUs. */
@Resolver(() => Step)
export class StepFieldsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @ResolveField(() => [Task], { description: 'Task records of the step\'s first `first` array children, by array index (a child has a record once its job reported).' })
  tasks(@Parent() step: StepNode, @Context() context: GraphQLContext, @Args('first', { type: () => Int, defaultValue: 25, description: `1-${MAX_STEP_TASKS}` }) first: number): Promise<TaskNode[]> {
    return RequestLoaders.of(context, this.api).tasks(step, checkFirst(first, MAX_STEP_TASKS));
  }

  @ResolveField(() => StepJob, { nullable: true, description: "The step's job as the compute environment sees it now (while SUBMITTED)." })
  @Extensions(COMPUTE_CALL)
  job(@Parent() step: StepNode, @Context() context: GraphQLContext): Promise<StepJobView | undefined> {
    return RequestLoaders.of(context, this.api).job(step);
  }

  @ResolveField(() => String, { nullable: true, description: 'Why the step\'s first RUNNABLE task waits (what it needs, what is in use, how many jobs are ahead), while the step is SUBMITTED.' })
  @Extensions(COMPUTE_CALL)
  async waitingReason(@Parent() step: StepNode, @Context() context: GraphQLContext): Promise<string | undefined> {
    return (await RequestLoaders.of(context, this.api).job(step))?.waitingReason;
  }

  @ResolveField(() => Float, { nullable: true, description: "vCPUs each of the step's tasks is given (its pipeline's definition; null for a pipeline not defined here)." })
  vcpus(@Parent() step: StepNode): number | undefined {
    return this.api.pipelineDefinition(step.run.pipeline)?.steps.find((s) => s.name === step.step)?.vcpus;
  }
}

/** The field of a task read further: why it waits. */
@Resolver(() => Task)
export class TaskFieldsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @ResolveField(() => String, { nullable: true, description: "Its step's waiting reason, while the task waits to run (SUBMITTED, PENDING, RUNNABLE)." })
  @Extensions(COMPUTE_CALL)
  async waitingReason(@Parent() task: TaskNode, @Context() context: GraphQLContext): Promise<string | undefined> {
    if (!['SUBMITTED', 'PENDING', 'RUNNABLE'].includes(task.status)) return undefined;
    return (await RequestLoaders.of(context, this.api).job(task.stepOf))?.waitingReason;
  }
}

/** The field of an attempt read further: its step's waiting reason. */
@Resolver(() => Attempt)
export class AttemptFieldsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @ResolveField(() => String, { nullable: true, description: "Its step's waiting reason now: why the step's first RUNNABLE task waits, while the step is SUBMITTED." })
  @Extensions(COMPUTE_CALL)
  async waitingReason(@Parent() attempt: AttemptNode, @Context() context: GraphQLContext): Promise<string | undefined> {
    return (await RequestLoaders.of(context, this.api).job(attempt.stepOf))?.waitingReason;
  }
}
