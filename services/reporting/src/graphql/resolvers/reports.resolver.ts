import { Inject, UseFilters, UseGuards } from '@nestjs/common';
import { Args, Context, Extensions, ID, Int, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { tenantOf, type Report } from '@nightshift/jobs-domain';
import { PlatformApi } from '../../api/platform-api.js';
import type { Principal } from '../../auth/principal.js';
import { Caller, GraphQLRoleGuard, type GraphQLContext } from '../auth.js';
import { connectionOf, type ConnectionValue } from '../connection.js';
import { GraphQLProblemFilter } from '../errors.js';
import { COST } from '../limits.js';
import { RequestLoaders } from '../loaders.js';
import { headlineFigures, reportSections, type SectionValue } from '../report-sections.js';
import { JSONScalar } from '../types/json.scalar.js';
import { HeadlineFigure, ReportConnection, ReportSection, ReportType, TcaDimension, TcaRollup, TcaSection, ExecutionRollup, ExecutionSection } from '../types/report.types.js';

/** REST's page bound of `GET /reports`. */
export const MAX_REPORTS_PAGE = 500;
/** Reading a report's document from the object store (see limits.ts). */
const OBJECT_READ = { [COST]: { field: 10 } };

/** A report as read: with its document when `report(id)` read it along. */
type ReportValue = Report & { document?: unknown };

@Resolver(() => ReportType)
@UseGuards(GraphQLRoleGuard)
@UseFilters(GraphQLProblemFilter)
export class ReportsResolver {
  constructor(@Inject(PlatformApi) private readonly api: PlatformApi) {}

  @Query(() => ReportConnection, { nullable: true, description: 'Published reports, newest first (REST `GET /reports`).' })
  reports(
    @Caller() caller: Principal,
    @Args('runId', { type: () => String, nullable: true }) runId: string | null,
    @Args('tenant', { type: () => String, nullable: true }) tenant: string | null,
    @Args('first', { type: () => Int, defaultValue: 50, description: `1-${MAX_REPORTS_PAGE}` }) first: number,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
  ): Promise<ConnectionValue<Report>> {
    return connectionOf(
      ({ cursor, limit }) => this.api.listReports(caller, { limit, ...(cursor ? { cursor } : {}), ...(runId ? { runId } : {}), ...(tenant ? { tenant } : {}) }),
      { first, after },
      MAX_REPORTS_PAGE,
    );
  }

  @Query(() => ReportType, { nullable: true, description: "A report with its document (NOT_FOUND for one that does not exist or is another tenant's)." })
  report(@Caller() caller: Principal, @Args('id', { type: () => ID }) id: string): Promise<ReportValue> {
    return this.api.getReport(caller, id);
  }

  @ResolveField(() => String)
  tenant(@Parent() report: Report): string {
    return tenantOf(report);
  }

  @ResolveField(() => [HeadlineFigure], { description: "The report's headline figures, in order." })
  headline(@Parent() report: Report): HeadlineFigure[] {
    return headlineFigures(report.headline);
  }

  @ResolveField(() => JSONScalar, { description: 'The report document as published: every section untyped, with its partitions and task counts.' })
  @Extensions(OBJECT_READ)
  document(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<unknown> | unknown {
    return 'document' in report ? report.document : RequestLoaders.of(context, this.api).document(report);
  }

  @ResolveField(() => [ReportSection], { description: "One typed section per step (by its analytic): TCA, execution report, risk, performance, backtest; others untyped." })
  @Extensions(OBJECT_READ)
  async sections(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<SectionValue[]> {
    const document = 'document' in report ? report.document : await RequestLoaders.of(context, this.api).document(report);
    const pipeline = this.api.pipelineDefinition(report.pipeline);
    return reportSections(document, (step) => pipeline?.steps.find((s) => s.name === step)?.analytic);
  }
}

/** The roll-ups of the TCA and execution sections, all or one dimension's. */
@Resolver(() => TcaSection)
export class TcaSectionResolver {
  @ResolveField(() => [TcaRollup], { description: 'The roll-ups: every dimension, or the one named.' })
  by(@Parent() section: TcaSection, @Args('dimension', { type: () => TcaDimension, nullable: true }) dimension: string | null): TcaRollup[] {
    return dimension ? section.rollups.filter((r) => r.dimension === dimension) : section.rollups;
  }
}

@Resolver(() => ExecutionSection)
export class ExecutionSectionResolver {
  @ResolveField(() => [ExecutionRollup], { description: 'The roll-ups: every dimension, or the one named.' })
  by(@Parent() section: ExecutionSection, @Args('dimension', { type: () => TcaDimension, nullable: true }) dimension: string | null): ExecutionRollup[] {
    return dimension ? section.rollups.filter((r) => r.dimension === dimension) : section.rollups;
  }
}
