import { Field, Float, ObjectType } from '@nestjs/graphql';

/*
 * The figures of each workload's report section, field for field as the analytics compute them
 * (snake_case there, camelCase here: `camelKeys` maps them; see libs/analytics and
 * docs/analytics.md for each formula). A field the analytics add later shows in `document` until
 * it is added here.
 */

@ObjectType('TcaMarkout', { description: 'Realized spread and price impact measured at one markout horizon after each fill (bps, positive = cost).' })
export class TcaMarkout {
  @Field(() => Float)
  horizonSeconds!: number;

  @Field(() => Float, { nullable: true })
  realizedSpreadBps?: number | null;

  @Field(() => Float, { nullable: true })
  priceImpactBps?: number | null;
}

@ObjectType('TcaMetrics', { description: 'TCA ratios of one group: bps are positive when they are a cost; null when the base is zero.' })
export class TcaMetrics {
  @Field(() => Float)
  orders!: number;

  @Field(() => Float)
  filledOrders!: number;

  @Field(() => Float)
  fills!: number;

  @Field(() => Float)
  orderQty!: number;

  @Field(() => Float)
  executedQty!: number;

  @Field(() => Float)
  notional!: number;

  @Field(() => Float, { nullable: true })
  fillRate?: number | null;

  @Field(() => Float, { nullable: true, description: 'vs the arrival mid; positive = cost' })
  arrivalSlippageBps?: number | null;

  @Field(() => Float, { nullable: true })
  intervalVwapSlippageBps?: number | null;

  @Field(() => Float, { nullable: true })
  dayVwapSlippageBps?: number | null;

  @Field(() => Float, { nullable: true })
  twapSlippageBps?: number | null;

  @Field(() => Float, { nullable: true })
  commissionBps?: number | null;

  @Field(() => Float, { nullable: true })
  feesBps?: number | null;

  @Field(() => Float, { description: 'currency' })
  implementationShortfall!: number;

  @Field(() => Float, { nullable: true })
  implementationShortfallBps?: number | null;

  @Field(() => Float, { nullable: true })
  isDelayBps?: number | null;

  @Field(() => Float, { nullable: true })
  isExecutionBps?: number | null;

  @Field(() => Float, { nullable: true })
  isOpportunityBps?: number | null;

  @Field(() => Float, { nullable: true })
  isFeesBps?: number | null;

  @Field(() => Float, { nullable: true })
  effectiveSpreadBps?: number | null;

  @Field(() => Float, { nullable: true })
  realizedSpreadBps?: number | null;

  @Field(() => Float, { nullable: true })
  priceImpactBps?: number | null;

  @Field(() => Float, { nullable: true })
  spreadCapture?: number | null;

  @Field(() => Float, { nullable: true })
  participationRate?: number | null;

  @Field(() => Float, { nullable: true, description: "Kissell's Relative Performance Measure (0-1; above 0.5 = better than the average share traded in the interval), market-volume-weighted over orders" })
  rpm?: number | null;

  @Field(() => Float, { nullable: true, description: 'vs the far side of the prevailing quote, bps of the far price; positive = improved' })
  priceImprovementBps?: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of quoted fills inside the far side' })
  improvedFillShare?: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of quoted fills at the far side' })
  atQuoteFillShare?: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of quoted fills outside the far side' })
  outsideQuoteFillShare?: number | null;

  @Field(() => [TcaMarkout], { description: 'Realized spread and price impact at each markout horizon, in the order the report lists them' })
  markouts!: TcaMarkout[];
}

@ObjectType('ExecutionMetrics', { description: 'Execution report figures of one group: order outcomes, fill rates, invariant checks.' })
export class ExecutionMetrics {
  @Field(() => Float)
  orders!: number;

  @Field(() => Float)
  filledOrders!: number;

  @Field(() => Float)
  partiallyFilledOrders!: number;

  @Field(() => Float)
  cancelledOrders!: number;

  @Field(() => Float)
  rejectedOrders!: number;

  @Field(() => Float)
  orderQty!: number;

  @Field(() => Float)
  executedQty!: number;

  @Field(() => Float)
  notional!: number;

  @Field(() => Float)
  fills!: number;

  @Field(() => Float)
  busts!: number;

  @Field(() => Float)
  corrections!: number;

  @Field(() => Float)
  timeToFillSeconds!: number;

  @Field(() => Float)
  timedOrders!: number;

  @Field(() => Float)
  cumQtyMismatches!: number;

  @Field(() => Float)
  avgPxMismatches!: number;

  @Field(() => Float)
  overfilledOrders!: number;

  @Field(() => Float)
  orphanFills!: number;

  @Field(() => Float, { nullable: true })
  fillRateQty?: number | null;

  @Field(() => Float, { nullable: true })
  fillRateCount?: number | null;

  @Field(() => Float, { nullable: true })
  avgPx?: number | null;

  @Field(() => Float, { nullable: true })
  avgTimeToFillSeconds?: number | null;
}

@ObjectType('PerformanceMetrics', { description: "Performance statistics (empyrical's conventions); null when undefined." })
export class PerformanceMetrics {
  @Field(() => String, { description: 'daily, weekly or monthly' })
  periods!: string;

  @Field(() => Float)
  annualizationFactor!: number;

  @Field(() => Float)
  observations!: number;

  @Field(() => Float)
  missingObservations!: number;

  @Field(() => String, { nullable: true })
  startDate?: string | null;

  @Field(() => String, { nullable: true })
  endDate?: string | null;

  @Field(() => Float, { nullable: true })
  cumulativeReturn?: number | null;

  @Field(() => Float, { nullable: true })
  annualReturn?: number | null;

  @Field(() => Float, { nullable: true })
  annualVolatility?: number | null;

  @Field(() => Float, { nullable: true })
  sharpeRatio?: number | null;

  @Field(() => Float, { nullable: true })
  sortinoRatio?: number | null;

  @Field(() => Float, { nullable: true })
  downsideRisk?: number | null;

  @Field(() => Float, { nullable: true })
  maxDrawdown?: number | null;

  @Field(() => Float, { nullable: true })
  calmarRatio?: number | null;

  @Field(() => Float, { nullable: true })
  tailRatio?: number | null;

  @Field(() => Float, { nullable: true })
  valueAtRisk?: number | null;

  @Field(() => Float, { nullable: true })
  conditionalValueAtRisk?: number | null;

  @Field(() => Float, { nullable: true })
  valueAtRiskParametric?: number | null;

  @Field(() => Float, { nullable: true })
  conditionalValueAtRiskParametric?: number | null;

  @Field(() => Float, { nullable: true })
  alpha?: number | null;

  @Field(() => Float, { nullable: true })
  beta?: number | null;

  @Field(() => Float, { nullable: true })
  benchmarkObservations?: number | null;

  @Field(() => Float, { nullable: true })
  benchmarkAnnualReturn?: number | null;
}

@ObjectType('RiskLevel', { description: 'VaR and expected shortfall at one confidence, in currency.' })
export class RiskLevel {
  @Field(() => Float, { description: 'e.g. 0.99' })
  confidence!: number;

  @Field(() => Float, { nullable: true, description: 'Loss quantile of the scenario P&L, positive = loss.' })
  historicalVar?: number | null;

  @Field(() => Float, { nullable: true, description: 'Mean loss at or beyond the historical VaR.' })
  historicalEs?: number | null;

  @Field(() => Float, { nullable: true })
  parametricVar?: number | null;

  @Field(() => Float, { nullable: true })
  parametricEs?: number | null;
}
