import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { tenantOf, type DatasetVersion, type LandingOutcome } from '@nightshift/jobs-domain';
import { PlatformApi } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { Caller, GraphQLRoleGuard } from '../auth.js';
import { connectionOf, type ConnectionValue } from '../connection.js';
import { GraphQLProblemFilter } from '../errors.js';
import { DatasetConnection, DatasetType, LandingType } from '../types/dataset.types.js';
import { RunConnection, type RunNode } from '../types/run.types.js';
import { MAX_RUNS_PAGE } from './runs.resolver.js';

/** REST's page bound of `GET /datasets`. */
export const MAX_DATASETS_PAGE = 500;

/** A landing as GraphQL shows it: a rejected landing's dataset name is `datasetName` (`dataset` is the version, read along when accepted). */
type LandingValue = Omit<LandingOutcome, 'dataset'> & { datasetId?: string; datasetName?: string; version?: DatasetVersion };

@Resolver(() => DatasetType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class DatasetsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => DatasetConnection, { nullable: true, description: 'Registered dataset versions, newest first (REST `GET /datasets`).' })
  datasets(
    @Caller() caller: Principal,
    @Args('dataset', { type: () => String, nullable: true, description: 'Only versions of this dataset name.' }) dataset: string | null,
    @Args('tenant', { type: () => String, nullable: true }) tenant: string | null,
    @Args('first', { type: () => Int, defaultValue: 50, description: `1-${MAX_DATASETS_PAGE}` }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<ConnectionValue<DatasetVersion>> {
    return connectionOf(
      ({ cursor, limit }) => this.api.listDatasets(caller, { limit, ...(cursor ? { cursor } : {}), ...(dataset ? { dataset } : {}), ...(tenant ? { tenant } : {}) }),
      { first, after },
      MAX_DATASETS_PAGE,
    );
  }

  @Query(() => DatasetType, { nullable: true, description: "A dataset version: its files and checksums (NOT_FOUND for one that does not exist or is another tenant's)." })
  dataset(@Caller() caller: Principal, @Args('id', { type: () => ID, description: '`<dataset>@<businessDate>#v<version>`' }) id: string): Promise<DatasetVersion> {
    return this.api.dataset(caller, id);
  }

  @ResolveField(() => String)
  tenant(@Parent() version: DatasetVersion): string {
    return tenantOf(version);
  }

  @ResolveField(() => RunConnection, { description: 'The runs this version triggered or was requested for, newest first.' })
  runs(
    @Caller() caller: Principal,
    @Parent() version: DatasetVersion,
    @Args('first', { type: () => Int, defaultValue: 50, description: `1-${MAX_RUNS_PAGE}` }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<ConnectionValue<RunNode>> {
    return connectionOf(({ cursor, limit }) => this.api.listRuns(caller, { datasetId: version.datasetId, limit, ...(cursor ? { cursor } : {}) }), { first, after }, MAX_RUNS_PAGE);
  }

  @Query(() => LandingType, { nullable: true, description: 'What became of a Dataset Landed event, by its eventId (NOT_FOUND until ingestion handled it, or when it is another tenant\'s).' })
  async landing(@Caller() caller: Principal, @Args('eventId', { type: () => ID }) eventId: string): Promise<LandingValue> {
    const outcome = await this.api.getLanding(caller, eventId);
    if (outcome.status !== 'REJECTED') return outcome;
    const { dataset, ...rest } = outcome;
    return { ...rest, ...(dataset !== undefined ? { datasetName: dataset } : {}) };
  }
}

/** The version a landing registered (or was answered with). */
@Resolver(() => LandingType)
export class LandingFieldsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @ResolveField(() => DatasetType, { nullable: true, description: 'ACCEPTED: the dataset version.' })
  async dataset(@Caller() caller: Principal, @Parent() landing: LandingValue): Promise<DatasetVersion | undefined> {
    if (landing.version) return landing.version;
    return landing.datasetId ? this.api.dataset(caller, landing.datasetId) : undefined;
  }

  @ResolveField(() => String)
  tenant(@Parent() landing: LandingValue): string {
    return tenantOf(landing);
  }
}
