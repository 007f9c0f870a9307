export { CloudWatchJobLogs, type CloudWatchJobLogsOptions } from './cloudwatch-job-logs.js';
export { InvalidJobLogsReadError, JobLogsRequestError, JobLogsUnavailableError } from './errors.js';
