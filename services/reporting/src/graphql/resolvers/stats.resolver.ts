import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, Context, Extensions, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { businessDateSchema } from '@nightshift/contracts';
import type { Run } from '@nightshift/jobs-domain';
import { z } from 'zod';
import { PlatformApi } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { defined, parseArgs } from '../args.js';
import { Caller, GraphQLRoleGuard, type GraphQLContext } from '../auth.js';
import { checkFirst } from '../connection.js';
import { GraphQLProblemFilter } from '../errors.js';
import { COST } from '../limits.js';
import { RequestLoaders } from '../loaders.js';
import { durationPercentiles, runsByStatus } from '../stats.js';
import { RunUsage, StatsType } from '../types/stats.types.js';
import { runVcpuSeconds, MAX_RUNS_PAGE } from './runs.resolver.js';

/** Runs one `stats` reads at most (a window with more is `complete: false`). */
export const MAX_STATS_RUNS = 5_000;
/** The longest window, in days. */
export const MAX_STATS_DAYS = 366;
/** Runs `Stats.usage` reads the tasks of at most. */
export const MAX_USAGE_RUNS = 500;

const windowSchema = z
  .object({ from: businessDateSchema, to: businessDateSchema, pipeline: z.string().min(1).max(63).optional(), tenant: z.string().min(1).max(64).optional() })
  .refine((w) => w.from <= w.to, { message: 'from is after to', path: ['from'] })
  .refine((w) => Date.parse(`${w.to}T00:00:00Z`) - Date.parse(`${w.from}T00:00:00Z`) < MAX_STATS_DAYS * 86_400_000, { message: `the window is longer than ${MAX_STATS_DAYS} days`, path: ['to'] });

/** Stats as resolvers pass them on: with the runs read, for `usage`. */
type StatsValue = StatsType & { runsRead: Run[] };

@Resolver(() => StatsType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class StatsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => StatsType, {
    nullable: true,
    description: `Run statistics over business days from..to (inclusive, at most ${MAX_STATS_DAYS} days and ${MAX_STATS_RUNS} runs), of the caller's tenant (or the one a tenantless admin names).`,
  })
  @Extensions({ [COST]: { field: 100 } })
  async stats(
    @Caller() caller: Principal,
    @Args('from', { description: 'YYYY-MM-DD' }) from: string,
    @Args('to', { description: 'YYYY-MM-DD' }) to: string,
    @Args('pipeline', { type: () => String, nullable: true }) pipeline: string | null,
    @Args('tenant', { type: () => String, nullable: true }) tenant: string | null,
  ): Promise<StatsValue> {
    const window = parseArgs(windowSchema, defined({ from, to, pipeline, tenant }), 'stats');
    const runs: Run[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.api.listRuns(caller, {
        businessDateFrom: window.from,
        businessDateTo: window.to,
        ...(window.pipeline ? { pipeline: window.pipeline } : {}),
        ...(window.tenant ? { tenant: window.tenant } : {}),
        limit: MAX_RUNS_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      runs.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined && runs.length < MAX_STATS_RUNS);
    const counted = runs.slice(0, MAX_STATS_RUNS);
    return {
      from: window.from,
      to: window.to,
      ...(window.pipeline ? { pipeline: window.pipeline } : {}),
      runs: counted.length,
      complete: cursor === undefined && runs.length <= MAX_STATS_RUNS,
      runsByStatus: runsByStatus(counted),
      durations: durationPercentiles(counted),
      runsRead: counted,
    };
  }

  @ResolveField(() => [RunUsage], { description: 'vCPU-seconds of the window\'s first `first` runs (newest first): reads their task records.' })
  @Extensions({ [COST]: { field: 10 } })
  async usage(
    @Caller() caller: Principal,
    @Parent() stats: StatsValue,
    @Context() context: GraphQLContext,
    @Args('first', { type: () => Int, defaultValue: 50, description: `1-${MAX_USAGE_RUNS}` }) first: number,
  ): Promise<RunUsage[]> {
    const runs = stats.runsRead.slice(0, checkFirst(first, MAX_USAGE_RUNS));
    const loaders = RequestLoaders.of(context, this.api);
    return Promise.all(runs.map(async (run) => ({ runId: run.runId, pipeline: run.pipeline, businessDate: run.businessDate, vcpuSeconds: await runVcpuSeconds(this.api, caller, loaders, run) })));
  }
}
