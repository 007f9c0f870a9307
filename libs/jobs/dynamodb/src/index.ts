export { DynamoDbJobStore, type DynamoDbJobStoreConfig } from './dynamodb-job-store.js';
export { DynamoDbIdempotencyKeys, type DynamoDbIdempotencyKeysConfig } from './dynamodb-idempotency-keys.js';
export { DynamoDbBackfillStore, type DynamoDbBackfillStoreConfig } from './dynamodb-backfill-store.js';
export { DynamoDbScheduleState, type DynamoDbScheduleStateConfig } from './dynamodb-schedule-state.js';
export { TtlSweeper, type TtlSweeperOptions, type SweepOutcome } from './ttl-sweeper.js';
export { TTL_ATTRIBUTE } from './keys.js';
export type { BackfillOutcome } from './backfills.js';
export { createTable, JOB_STORE_TABLE_DESIGN, type CreateTableOptions } from './create-table.js';
export { startEmbeddedDynamoDb, type EmbeddedDynamoDb, type EmbeddedDynamoDbOptions } from './embedded-dynamodb.js';
export { createDocumentClient, type LocalDocumentClientOptions } from './local-document-client.js';
export { createAwsDocumentClient } from './aws-document-client.js';
export {
  BackfillLaneContentionError,
  DatasetVersionContentionError,
  EmbeddedDynamoDbStartError,
  InvalidJobStoreInputError,
  TableNotActiveError,
  TableSchemaMismatchError,
} from './errors.js';
