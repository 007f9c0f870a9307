export { generateBusinessDay, generateReturnSeries, type GenerateOptions, type GeneratedTable, type ReturnSeriesOptions } from './generate.js';
export { validateTableFile, type ValidationResult } from './validate.js';
export { type RowProblem, InputDataError, DataFileAccessError, InvalidAnalyticsOptionsError, IncompatiblePartialsError, AnalyticsEngineError } from './errors.js';
export { type TableFiles } from './source.js';
export { SCHEMAS, TABLE_NAMES, type TableName, type TableSchema, type ColumnSpec } from './schemas.js';
export {
  runTca, mergeTcaPartials, tcaMetrics, TCA_DIMENSIONS, TCA_SUM_KEYS,
  type TcaInput, type TcaPartial, type TcaReport, type TcaSums, type TcaMetrics, type TcaGroupSums, type TcaGroupReport,
  type TcaOrderSums, type TcaOrderReport, type TcaDimension,
} from './tca.js';
export { computeMetrics, ANNUALIZATION_FACTORS, type MetricsInput, type PerformanceMetrics, type Periodicity } from './metrics.js';
export {
  runExecutionReport, mergeExecutionPartials, executionMetrics, EXECUTION_SUM_KEYS,
  type ExecutionInput, type ExecutionPartial, type ExecutionReport, type ExecutionSums, type ExecutionMetrics, type ExecutionGroupSums, type ExecutionOrderRow,
} from './execution.js';
export {
  runRisk, mergeRiskPartials, riskOfPnl,
  type RiskInput, type RiskPartial, type RiskReport, type RiskFigures, type RiskLevel, type DeskScenarios,
} from './risk.js';
export { runBacktest, parameterGrid, rankBacktests, type BacktestInput, type BacktestParams, type BacktestResult, type RankedBacktest } from './backtest.js';
export { instrumentDuckDbQueries, type DuckDbQueryInstrumentation } from './duckdb.js';
