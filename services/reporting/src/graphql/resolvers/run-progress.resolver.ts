import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, ID, Resolver, Subscription } from '@nestjs/graphql';
import type { Principal } from '../../auth/principal.js';
import { Caller, GraphQLRoleGuard } from '../auth.js';
import { GraphQLProblemFilter } from '../errors.js';
import { RunProgressUpdate, RunProgressWatcher } from '../run-progress.js';

@Resolver(() => RunProgressUpdate)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class RunProgressResolver {
  constructor(@Inject(RunProgressWatcher) private readonly watcher: RunProgressWatcher) {}

  @Subscription(() => RunProgressUpdate, {
    description: "The run's status and per-step progress now, then whenever either changes; completes once the run is terminal (NOT_FOUND for another tenant's run).",
    resolve: (update: RunProgressUpdate) => update,
  })
  runProgress(@Caller() caller: Principal, @Args('runId', { type: () => ID }) runId: string): Promise<AsyncIterableIterator<RunProgressUpdate>> {
    return this.watcher.watch(caller, runId);
  }
}
