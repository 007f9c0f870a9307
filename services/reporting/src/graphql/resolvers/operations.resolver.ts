import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { deadLetterListQuerySchema, redriveBodySchema } from '@nightshift/api-contract';
import { PlatformApi } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { defined, parseArgs } from '../args.js';
import { Caller, GraphQLRole, GraphQLRoleGuard } from '../auth.js';
import { connectionOf } from '../connection.js';
import { GraphQLProblemFilter } from '../errors.js';
import { DeadLetterConnection, DeadLetterType, RedriveResult } from '../types/operations.types.js';

/** REST's page bound of `GET /dlq`. */
export const MAX_DEAD_LETTERS_PAGE = 500;

/** The services' dead-letter queues (REST `/dlq`). */
@Resolver(() => DeadLetterType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class OperationsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => DeadLetterConnection, { nullable: true, description: "Messages in the services' dead-letter queues, oldest first (operator; a tenant-bound caller sees only its tenant's)." })
  @GraphQLRole('operator')
  deadLetters(
    @Caller() caller: Principal,
    @Args('queue', { type: () => String, nullable: true, description: 'One service queue (e.g. planner); every queue when absent.' }) queue: string | null,
    @Args('tenant', { type: () => String, nullable: true, description: "A tenantless caller may name a tenant; a tenant-bound one only its own." }) tenant: string | null,
    @Args('first', { type: () => Int, defaultValue: 50, description: `1-${MAX_DEAD_LETTERS_PAGE}` }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ) {
    const { queue: named } = parseArgs(deadLetterListQuerySchema, defined({ queue }), 'queue');
    return connectionOf(
      ({ cursor, limit }) => this.api.listDeadLetters(caller, { limit, ...(cursor ? { cursor } : {}), ...(named ? { queue: named } : {}), ...(tenant ? { tenant } : {}) }),
      { first, after },
      MAX_DEAD_LETTERS_PAGE,
    );
  }

  @Mutation(() => RedriveResult, { nullable: true, description: "Move a queue's dead letters back to it for another delivery (platform-wide: a tenantless admin)." })
  @GraphQLRole('admin')
  redrive(
    @Caller() caller: Principal,
    @Args('queue') queue: string,
    @Args('max', { type: () => Int, nullable: true, description: 'Move at most this many (all when absent).' }) max: number | null,
  ) {
    return this.api.redrive(caller, queue, parseArgs(redriveBodySchema, defined({ max }), 'max'));
  }
}
