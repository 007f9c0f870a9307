import { Field, Float, ID, Int, InterfaceType, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { Report } from '@nightshift/jobs-domain';
import { Connection } from '../connection.js';
import { DatasetFile } from './dataset.types.js';
import { JSONScalar } from './json.scalar.js';
import { ExecutionMetrics, PerformanceMetrics, RiskLevel, TcaMetrics } from './report-metrics.types.js';

/*
 * Reports and their sections, one type per workload: TCA by dimension, the execution report, risk
 * levels by desk, portfolio performance, the backtest ranking. A section GraphQL does not type (a
 * plain command's output, an analytic added later) is an UntypedSection with its data as JSON, and
 * `Report.document` is always the whole document as published.
 */

export const TcaDimension = { broker: 'broker', venue: 'venue', algo: 'algo', desk: 'desk', symbol: 'symbol', trader: 'trader' } as const;
registerEnumType(TcaDimension, { name: 'TcaDimension', description: 'What a roll-up groups by.' });

/** A report as resolvers pass it on. */
export type ReportNode = Report;

@ObjectType('HeadlineFigure', { description: "One of a report's headline figures: a number or a text (best_parameters, best_portfolio), or neither when undefined." })
export class HeadlineFigure {
  @Field()
  name!: string;

  @Field(() => Float, { nullable: true })
  value?: number | null;

  @Field(() => String, { nullable: true })
  text?: string | null;
}

/** The kinds of section, as `ReportSection.resolveType` tells them apart. */
export type SectionKind = 'tca' | 'execution' | 'risk' | 'performance' | 'backtest' | 'untyped';

@InterfaceType('ReportSection', {
  description: "One step's merged results in a report.",
  resolveType: (section: { kind: SectionKind }) => SECTION_TYPES[section.kind],
})
export abstract class ReportSection {
  @Field({ description: 'The step the section is of.' })
  step!: string;

  @Field(() => String, { nullable: true, description: "The step's analytic (tca, execution-report, risk, performance, backtest); null for a plain command." })
  analytic?: string | null;
}

@ObjectType('TcaGroup', { description: 'TCA of one value of a dimension.' })
export class TcaGroup {
  @Field(() => String, { nullable: true, description: 'The value (a broker, a venue, ...); null for order-level quantities of no venue.' })
  key?: string | null;

  @Field(() => TcaMetrics)
  metrics!: TcaMetrics;
}

@ObjectType('TcaRollup', { description: 'TCA rolled up by one dimension.' })
export class TcaRollup {
  @Field(() => TcaDimension)
  dimension!: string;

  @Field(() => [TcaGroup])
  groups!: TcaGroup[];
}

@ObjectType('TcaSection', { implements: () => [ReportSection], description: 'Transaction cost analysis: the total and each roll-up (bps positive = cost).' })
export class TcaSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => Float, { description: 'The first markout horizon: the one realizedSpreadBps and priceImpactBps are at' })
  markoutSeconds!: number;

  @Field(() => [Float], { description: 'Every markout horizon of `markouts`, seconds' })
  markoutHorizonsSeconds!: number[];

  @Field(() => TcaMetrics)
  total!: TcaMetrics;

  /** Every roll-up; the `by` field (see ReportSectionsResolver) filters them. */
  rollups!: TcaRollup[];
}

@ObjectType('ExecutionGroup', { description: 'The execution report of one value of a dimension.' })
export class ExecutionGroup {
  @Field(() => String, { nullable: true })
  key?: string | null;

  @Field(() => ExecutionMetrics)
  metrics!: ExecutionMetrics;
}

@ObjectType('ExecutionRollup')
export class ExecutionRollup {
  @Field(() => TcaDimension)
  dimension!: string;

  @Field(() => [ExecutionGroup])
  groups!: ExecutionGroup[];
}

@ObjectType('ExecutionSection', { implements: () => [ReportSection], description: 'The execution report: fill rates, order outcomes, CumQty/AvgPx invariant breaks.' })
export class ExecutionSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => ExecutionMetrics)
  total!: ExecutionMetrics;

  rollups!: ExecutionRollup[];
}

@ObjectType('RiskFigures', { description: 'Exposure and VaR/ES of one desk, or of the firm (desk null).' })
export class RiskFigures {
  @Field(() => String, { nullable: true, description: 'null for the portfolio of all desks.' })
  desk?: string | null;

  @Field(() => Float)
  positions!: number;

  @Field(() => Float)
  grossExposure!: number;

  @Field(() => Float)
  netExposure!: number;

  @Field(() => Float, { description: 'Scenario days.' })
  scenarios!: number;

  @Field(() => Float, { nullable: true })
  meanPnl?: number | null;

  @Field(() => Float, { nullable: true })
  stdevPnl?: number | null;

  @Field(() => [RiskLevel], { description: 'VaR and ES at each confidence (95 and 99%).' })
  levels!: RiskLevel[];
}

@ObjectType('RiskSection', { implements: () => [ReportSection], description: 'Desk risk: historical and parametric VaR/ES by desk and for the firm.' })
export class RiskSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => Float)
  lookbackDays!: number;

  @Field(() => RiskFigures)
  total!: RiskFigures;

  @Field(() => [RiskFigures])
  byDesk!: RiskFigures[];
}

@ObjectType('PortfolioPerformance')
export class PortfolioPerformance {
  @Field(() => Int, { description: 'By Sharpe ratio, from 1.' })
  rank!: number;

  @Field()
  portfolio!: string;

  @Field(() => PerformanceMetrics, { description: "The first period's metrics the step declared (the one ranked by)." })
  metrics!: PerformanceMetrics;

  @Field(() => [PerformanceMetrics], { description: 'The metrics over each period the step declared (daily, weekly, monthly), in its order.' })
  byPeriod!: PerformanceMetrics[];
}

@ObjectType('PerformanceSection', { implements: () => [ReportSection], description: 'Market performance: every portfolio against the benchmark, best Sharpe ratio first.' })
export class PerformanceSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => [PortfolioPerformance])
  portfolios!: PortfolioPerformance[];
}

@ObjectType('BacktestParameters')
export class BacktestParameters {
  @Field(() => Float, { description: 'Fast moving-average window, days.' })
  fast!: number;

  @Field(() => Float, { description: 'Slow moving-average window, days.' })
  slow!: number;

  @Field(() => Float, { description: 'Cost per unit of turnover, bps.' })
  costBps!: number;

  @Field(() => Boolean, { nullable: true })
  allowShort?: boolean | null;
}

@ObjectType('BacktestResult')
export class BacktestResult {
  @Field(() => Int, { description: 'By Sharpe ratio, from 1.' })
  rank!: number;

  @Field(() => BacktestParameters)
  params!: BacktestParameters;

  @Field(() => Float)
  symbols!: number;

  @Field(() => Float, { description: 'Position changes over all symbols.' })
  trades!: number;

  @Field(() => Float)
  turnover!: number;

  @Field(() => PerformanceMetrics)
  metrics!: PerformanceMetrics;
}

@ObjectType('BacktestSection', { implements: () => [ReportSection], description: 'The backtest sweep: one result per parameter set, ranked by Sharpe ratio.' })
export class BacktestSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => [BacktestResult])
  ranking!: BacktestResult[];
}

@ObjectType('UntypedSection', { implements: () => [ReportSection], description: 'A section GraphQL does not type: its data as published.' })
export class UntypedSection implements ReportSection {
  step!: string;
  analytic?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;
}

const SECTION_TYPES: Record<SectionKind, string> = {
  tca: 'TcaSection',
  execution: 'ExecutionSection',
  risk: 'RiskSection',
  performance: 'PerformanceSection',
  backtest: 'BacktestSection',
  untyped: 'UntypedSection',
};

@ObjectType('HeadlineChange', { description: "A headline figure's change against the previous business date's report." })
export class HeadlineChangeType {
  @Field(() => Float)
  previous!: number;

  @Field(() => Float)
  current!: number;

  @Field(() => Float, { description: 'current - previous' })
  absolute!: number;

  @Field(() => Float, { nullable: true, description: 'absolute / |previous|; null when previous is 0' })
  relative?: number | null;

  @Field({ description: "For people, in the figure's unit: `+1.22 bps (+16.5 %)`" })
  text!: string;
}

@ObjectType('ReportFigure', { description: 'A headline figure with its unit, as people read it, and its change since the previous business date.' })
export class ReportFigure {
  @Field()
  name!: string;

  @Field(() => Float, { nullable: true })
  value?: number | null;

  @Field(() => String, { nullable: true, description: 'A figure that is a text (best_parameters)' })
  text?: string | null;

  @Field({ description: 'bps, fraction, currency, count, ratio or text; number for a figure of a report published without units' })
  unit!: string;

  @Field(() => String, { nullable: true, description: 'ISO 4217 code of a currency figure' })
  currency?: string | null;

  @Field({ description: 'The figure with its unit: `8.63 bps`, `92.60 %`, `176,614,486 USD`' })
  display!: string;

  @Field(() => HeadlineChangeType, { nullable: true, description: 'null without a previous report, or when either figure is not a number' })
  change?: HeadlineChangeType | null;
}

@ObjectType('ReportProvenance', { description: 'What a report was computed from and by: dataset version and files, pipeline definition, run, code.' })
export class ReportProvenanceType {
  @Field()
  datasetId!: string;

  @Field(() => Int, { nullable: true })
  datasetVersion?: number | null;

  @Field(() => [DatasetFile], { description: "The version's files as ingestion registered them (what `dataset(id)` lists)" })
  files!: DatasetFile[];

  @Field(() => String, { nullable: true, description: "sha256 of the pipeline's definition (canonical JSON) when the report was published" })
  pipelineDefinitionHash?: string | null;

  @Field()
  runId!: string;

  @Field(() => Int)
  attempt!: number;

  @Field({ description: 'Package version and git commit of the code that published the report' })
  codeVersion!: string;
}

@ObjectType('PreviousReport', { description: "The same pipeline's report of the latest earlier business date, that `figures` compare with." })
export class PreviousReport {
  @Field()
  reportId!: string;

  @Field()
  runId!: string;

  @Field()
  businessDate!: string;

  @Field()
  publishedAt!: string;
}

@ObjectType('Report', { description: 'A published report of a run.' })
export class ReportType {
  @Field(() => ID)
  reportId!: string;

  @Field()
  runId!: string;

  @Field()
  pipeline!: string;

  @Field()
  businessDate!: string;

  @Field({ description: "The document's key in the object store." })
  key!: string;

  @Field()
  publishedAt!: string;
}

@ObjectType()
export class ReportConnection extends Connection(ReportType, 'Report') {}
