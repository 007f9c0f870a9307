import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, Context, Extensions, Float, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { approvalDecisionBodySchema, cancelRunBodySchema, idempotencyKeySchema, retryRunBodySchema, runListQuerySchema, runRequestBodySchema } from '@nightshift/api-contract';
import { runProgress, tenantOf, type Run } from '@nightshift/jobs-domain';
import { PlatformApi, runView } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { defined, parseArgs } from '../args.js';
import { Caller, GraphQLRole, GraphQLRoleGuard, type GraphQLContext } from '../auth.js';
import { connectionOf, type ConnectionValue } from '../connection.js';
import { GraphQLProblemFilter } from '../errors.js';
import { COST } from '../limits.js';
import { RequestLoaders } from '../loaders.js';
import { vcpuSeconds } from '../stats.js';
import { RunAccepted, RunActionAccepted, RunConnection, RunFilter, RunProgress, RunRequestInput, RunType, Step, type RunNode, type StepNode } from '../types/run.types.js';

/** REST's page bound of `GET /runs`. */
export const MAX_RUNS_PAGE = 500;

/** Runs: the `runs` and `run` queries, the run commands, and the fields of a run read further (steps, progress, usage). */
@Resolver(() => RunType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class RunsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => RunConnection, { nullable: true, description: 'Runs, newest first, matching every filter given (REST `GET /runs`).' })
  runs(
    @Caller() caller: Principal,
    @Args('filter', { type: () => RunFilter, nullable: true }) filter: RunFilter | null,
    @Args('first', { type: () => Int, defaultValue: 50, description: `Runs per page, 1-${MAX_RUNS_PAGE}.` }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<ConnectionValue<RunNode>> {
    const query = parseArgs(runListQuerySchema, defined(filter), 'filter');
    const { limit: _limit, cursor: _cursor, ...filters } = query;
    return connectionOf(({ cursor, limit }) => this.api.listRuns(caller, { ...filters, limit, ...(cursor ? { cursor } : {}) }), { first, after }, MAX_RUNS_PAGE);
  }

  @Query(() => RunType, { nullable: true, description: 'A run (NOT_FOUND for one that does not exist or is another tenant\'s).' })
  async run(@Caller() caller: Principal, @Args('id', { type: () => ID }) id: string): Promise<RunNode> {
    return runView(await this.api.run(caller, id));
  }

  @Mutation(() => RunAccepted, { nullable: true, description: 'Ask for a run (REST `POST /runs`; operator). With an idempotencyKey, a retry with the same input names the same run.' })
  @GraphQLRole('operator')
  requestRun(
    @Caller() caller: Principal,
    @Args('input', { type: () => RunRequestInput }) input: RunRequestInput,
    @Args('idempotencyKey', { type: () => String, nullable: true }) idempotencyKey: string | null,
    @Args('tenant', { type: () => String, nullable: true, description: 'A tenantless admin may run for a tenant; a tenant-bound token only for its own.' }) tenant: string | null,
  ): Promise<RunAccepted> {
    const body = parseArgs(runRequestBodySchema, defined(input), 'input');
    const key = idempotencyKey == null ? undefined : parseArgs(idempotencyKeySchema, idempotencyKey, 'idempotencyKey');
    return this.api.requestRun(caller, body, { ...(key !== undefined ? { idempotencyKey: key } : {}), ...(tenant ? { tenant } : {}) });
  }

  @Mutation(() => RunActionAccepted, { nullable: true, description: 'Stop a run: the planner fails it with the reason and terminates its jobs (operator; CONFLICT once finished).' })
  @GraphQLRole('operator')
  cancelRun(@Caller() caller: Principal, @Args('id', { type: () => ID }) id: string, @Args('reason', { type: () => String, nullable: true }) reason: string | null): Promise<RunActionAccepted> {
    return this.api.cancelRun(caller, id, parseArgs(cancelRunBodySchema, defined({ reason }), 'reason'));
  }

  @Mutation(() => RunActionAccepted, { nullable: true, description: "Run a failed run's failed tasks again, as its next attempt (REST `POST /runs/:id/retry`; operator; CONFLICT unless FAILED)." })
  @GraphQLRole('operator')
  retryFailedTasks(@Caller() caller: Principal, @Args('id', { type: () => ID }) id: string, @Args('reason', { type: () => String, nullable: true }) reason: string | null): Promise<RunActionAccepted> {
    return this.api.retryRun(caller, id, parseArgs(retryRunBodySchema, defined({ reason }), 'reason'));
  }

  @Mutation(() => RunActionAccepted, { nullable: true, description: "Answer a run's WAITING approval step: approved, the run goes on; rejected, the step fails and so does the run (REST `POST /runs/:id/steps/:step/approve|reject`; operator; NOT_FOUND for a step that is no approval, CONFLICT unless WAITING)." })
  @GraphQLRole('operator')
  decideApproval(
    @Caller() caller: Principal,
    @Args('id', { type: () => ID }) id: string,
    @Args('step', { type: () => String }) step: string,
    @Args('approve', { type: () => Boolean, description: 'true approves, false rejects.' }) approve: boolean,
    @Args('comment', { type: () => String, nullable: true }) comment: string | null,
  ): Promise<RunActionAccepted> {
    return this.api.decideApproval(caller, id, step, approve ? 'APPROVED' : 'REJECTED', parseArgs(approvalDecisionBodySchema, defined({ comment }), 'comment'));
  }

  @ResolveField(() => String, { description: 'Whose run it is.' })
  tenant(@Parent() run: Run): string {
    return tenantOf(run);
  }

  @ResolveField(() => [Step], { description: 'The steps, by name.' })
  @Extensions({ [COST]: { listSize: 5 } })
  steps(@Parent() run: Run, @Context() context: GraphQLContext): Promise<StepNode[]> {
    return RequestLoaders.of(context, this.api).steps(run);
  }

  @ResolveField(() => RunProgress, { description: 'Tasks finished of all, over every step (counted as the steps fold them in).' })
  async progress(@Parent() run: Run, @Context() context: GraphQLContext): Promise<RunProgress> {
    const progress = runProgress(await RequestLoaders.of(context, this.api).steps(run));
    return { ...progress, steps: Object.entries(progress.steps).map(([step, p]) => ({ step, ...p })) };
  }

  @ResolveField(() => Float, {
    description: "vCPU-seconds the run's tasks used: the sum over their attempts of (stoppedAt - startedAt) x their step's vCPUs (pipeline definition). Reads every task record.",
  })
  @Extensions({ [COST]: { field: 10 } })
  async vcpuSeconds(@Caller() caller: Principal, @Parent() run: Run, @Context() context: GraphQLContext): Promise<number> {
    return runVcpuSeconds(this.api, caller, RequestLoaders.of(context, this.api), run);
  }
}

/** vCPU-seconds of a run (see `vcpuSeconds`), through the request's loaders. */
export async function runVcpuSeconds(api: PlatformApi, _caller: Principal, loaders: RequestLoaders, run: Run): Promise<number> {
  const steps = await loaders.steps(run);
  const tasks = (await Promise.all(steps.map((s) => loaders.tasks(s)))).flat();
  const pipeline = api.pipelineDefinition(run.pipeline);
  return vcpuSeconds(tasks, (step) => pipeline?.steps.find((s) => s.name === step)?.vcpus);
}
