export { generateBusinessDay, type GenerateOptions, type GeneratedTable } from './generate.js';
export { validateTableFile, type ValidationResult } from './validate.js';
export { type RowProblem, InputDataError, DataFileAccessError, InvalidAnalyticsOptionsError, IncompatiblePartialsError, AnalyticsEngineError } from './errors.js';
export { SCHEMAS, TABLE_NAMES, type TableName, type TableSchema, type ColumnSpec } from './schemas.js';
export {
  runTca, mergeTcaPartials, tcaMetrics, TCA_DIMENSIONS, TCA_SUM_KEYS,
  type TcaInput, type TcaPartial, type TcaReport, type TcaSums, type TcaMetrics, type TcaGroupSums, type TcaGroupReport,
  type TcaOrderSums, type TcaOrderReport, type TcaDimension,
} from './tca.js';
