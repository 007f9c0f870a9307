export { CloudWatchJobLogs, type CloudWatchJobLogsOptions } from './cloudwatch-job-logs.js';
export { InvalidJobLogsReadError, InvalidLogStreamError, JobLogsRequestError, JobLogsUnavailableError } from './errors.js';
