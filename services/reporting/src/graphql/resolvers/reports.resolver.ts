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
import type { ReportDocument } from '../../publish-report.js';
import {
  HeadlineFigure, PreviousReport, ReportConnection, ReportFigure, ReportProvenanceType, ReportSection, ReportType, TcaDimension, TcaRollup, TcaSection, ExecutionRollup, ExecutionSection,
} from '../types/report.types.js';

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
    return this.documentOf(report, context);
  }

  @ResolveField(() => [ReportSection], { description: "One typed section per step (by its analytic): TCA, execution report, risk, performance, backtest; others untyped." })
  @Extensions(OBJECT_READ)
  async sections(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<SectionValue[]> {
    const document = await this.documentOf(report, context);
    const pipeline = this.api.pipelineDefinition(report.pipeline);
    return reportSections(document, (step) => pipeline?.steps.find((s) => s.name === step)?.analytic);
  }

  @ResolveField(() => String, { nullable: true, description: 'ISO 4217 code of every money figure of the report (null for a report published before reports named it)' })
  @Extensions(OBJECT_READ)
  async currency(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<string | null> {
    return reportParts(await this.documentOf(report, context)).currency ?? null;
  }

  @ResolveField(() => [ReportFigure], { description: "The headline figures with their units, as people read them, and each one's change since the previous business date." })
  @Extensions(OBJECT_READ)
  async figures(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<ReportFigure[]> {
    const doc = reportParts(await this.documentOf(report, context));
    return headlineFigures(doc.headline ?? report.headline).map((figure) => {
      const unit = doc.headlineUnits?.[figure.name];
      return {
        ...figure,
        unit: unit?.kind ?? (figure.value !== null ? 'number' : 'text'),
        currency: unit?.kind === 'currency' ? (unit.currency ?? doc.currency ?? null) : null,
        display: doc.headlineText?.[figure.name] ?? String(figure.value ?? figure.text ?? ''),
        change: doc.previous?.changes[figure.name] ?? null,
      };
    });
  }

  @ResolveField(() => ReportProvenanceType, { nullable: true, description: 'What the report was computed from and by (null for a report published before reports carried it)' })
  @Extensions(OBJECT_READ)
  async provenance(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<ReportProvenanceType | null> {
    const p = reportParts(await this.documentOf(report, context)).provenance;
    if (!p) return null;
    return {
      datasetId: p.dataset.datasetId,
      datasetVersion: p.dataset.version ?? null,
      files: p.dataset.files.map((f) => ({ table: f.table, key: f.key, ...(f.desk !== undefined ? { desk: f.desk } : {}), rows: f.rows, bytes: f.bytes, checksum: f.checksum })),
      pipelineDefinitionHash: p.pipeline.definitionHash ?? null,
      runId: p.run.runId,
      attempt: p.run.attempt,
      codeVersion: p.codeVersion,
    };
  }

  @ResolveField(() => PreviousReport, { nullable: true, description: "The same pipeline's (and tenant's) report of the latest earlier business date; null when there is none" })
  @Extensions(OBJECT_READ)
  async previous(@Parent() report: ReportValue, @Context() context: GraphQLContext): Promise<PreviousReport | null> {
    const previous = reportParts(await this.documentOf(report, context)).previous;
    return previous ? { reportId: previous.reportId, runId: previous.runId, businessDate: previous.businessDate, publishedAt: previous.publishedAt } : null;
  }

  private documentOf(report: ReportValue, context: GraphQLContext): Promise<unknown> | unknown {
    return 'document' in report ? report.document : RequestLoaders.of(context, this.api).document(report);
  }
}

/** The parts of a report document these fields read; a report published before one existed lacks it. */
function reportParts(document: unknown): Partial<Pick<ReportDocument, 'currency' | 'headline' | 'headlineUnits' | 'headlineText' | 'provenance' | 'previous'>> {
  return typeof document === 'object' && document !== null ? (document as Partial<ReportDocument>) : {};
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
