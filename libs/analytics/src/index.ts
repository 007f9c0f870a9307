export { generateBusinessDay, generateReturnSeries, type GenerateOptions, type GeneratedTable, type ReturnSeriesOptions } from './generate.js';
export { validateTableFile, type ValidationResult } from './validate.js';
export { type RowProblem, InputDataError, DataFileAccessError, InvalidAnalyticsOptionsError, IncompatiblePartialsError, AnalyticsEngineError } from './errors.js';
export { type TableFiles, symbolOfFile, filesOfSymbols } from './source.js';
export { tableSymbols } from './symbols.js';
export { SCHEMAS, TABLE_NAMES, type TableName, type TableSchema, type ColumnSpec } from './schemas.js';
export {
  runTca, mergeTcaPartials, tcaMetrics, tcaSumKeys, TCA_DIMENSIONS, TCA_SUM_KEYS, DEFAULT_MARKOUT_HORIZONS,
  type TcaInput, type TcaPartial, type TcaReport, type TcaSums, type TcaMetrics, type TcaGroupSums, type TcaGroupReport,
  type TcaOrderSums, type TcaOrderReport, type TcaDimension, type TcaExactSums, type TcaDetailRef, type TcaHorizonSumKey, type TcaHorizonMetricKey,
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
export { instrumentDuckDbQueries, withDuckDb, sqlIdent, sqlString, type Db, type DuckDbQueryInstrumentation } from './duckdb.js';
