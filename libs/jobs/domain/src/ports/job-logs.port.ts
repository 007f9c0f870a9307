/**
 * Reads what a job attempt wrote: the log stream named by the attempt's `logStreamName` (as AWS
 * Batch names it in CloudWatch Logs, `<jobDefinition>/default/<ecs task id>`). The local compute
 * environment keeps one file per stream; in AWS this is CloudWatch Logs' GetLogEvents.
 *
 * Lines are as the job wrote them; the local compute environment stores each with the ISO-8601
 * time it read it (`<time> <line>`), and nightshift's worker writes JSON lines with their own `time`.
 * Not in the contract: retention (a stream may be gone), live tailing.
 */
export interface JobLogs {
  /**
   * The stream's content, at most `maxBytes` from its end (default 1 MiB), or undefined when
   * there is no such stream. A name that is not a valid stream name (`logStreamNameProblem`) is an
   * InvalidLogStreamError, before anything is read.
   */
  read(logStreamName: string, options?: { maxBytes?: number }): Promise<JobLog | undefined>;
}

export interface JobLog {
  text: string;
  /** True when the beginning was cut to keep within `maxBytes`. */
  truncated: boolean;
  bytes: number;
}
