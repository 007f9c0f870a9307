import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, Query, Resolver } from '@nestjs/graphql';
import { PlatformApi } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { Caller, GraphQLRoleGuard } from '../auth.js';
import { GraphQLProblemFilter } from '../errors.js';
import { PipelineType } from '../types/pipeline.types.js';

@Resolver(() => PipelineType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class PipelinesResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => [PipelineType], { nullable: true, description: 'Every pipeline definition, by name (the platform\'s: the same for every tenant).' })
  async pipelines(@Caller() caller: Principal): Promise<PipelineType[]> {
    return (await this.api.listPipelines(caller, { limit: 500 })).items;
  }

  @Query(() => PipelineType, { nullable: true, description: 'One pipeline definition (NOT_FOUND naming the known ones).' })
  pipeline(@Caller() caller: Principal, @Args('name') name: string): Promise<PipelineType> {
    return this.api.getPipeline(caller, name);
  }
}
