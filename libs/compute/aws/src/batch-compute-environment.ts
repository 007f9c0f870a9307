import {
  CancelJobCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
  type ListJobsCommandInput,
} from '@aws-sdk/client-batch';
import { awsErrorMessage, classifyAwsError } from '@nightshift/aws-wire';
import { BATCH_JOB_STATUSES, type BatchJobStateChangeDetail } from '@nightshift/contracts';
import { ComputeSubmissionError, type ComputeEnvironment, type JobListFilter, type JobSubmission, type JobSummary, type SubmittedJob } from '@nightshift/jobs-domain';
import { toDetail, toSubmitJobInput, toSummary } from './batch-mapping.js';
import { BatchRequestRefusedError, BatchUnavailableError, UnexpectedBatchResponseError } from './errors.js';

/** DescribeJobs takes at most this many ids per call. */
const DESCRIBE_CHUNK = 100;

/**
 * The `ComputeEnvironment` port on AWS Batch, over the process's one `BatchClient` (which reads
 * `AWS_ENDPOINT_URL_BATCH` itself, so the same code drives AWS and the local Batch endpoint).
 *
 * Errors (`classifyAwsError` of `@nightshift/aws-wire`): SubmitJob's ClientException (or another
 * refusal, `$fault: 'client'`/4xx) is a `ComputeSubmissionError` that is not retryable (AWS's
 * message kept), its ServerException, throttling or a network fault a retryable one; for the other
 * operations the same conditions are `BatchRequestRefusedError` and `BatchUnavailableError`. Any other
 * error is rethrown as it came, its cause chain intact.
 */
export class BatchComputeEnvironment implements ComputeEnvironment {
  constructor(private readonly client: BatchClient) {}

  /**
   * SubmitJob with the submission as container overrides of its job definition (see
   * `toSubmitJobInput`).
   *
   * @throws ComputeSubmissionError not retryable when AWS refuses the job (ClientException: unknown
   *   queue or job definition, bad name, reserved variable, ...), retryable when it failed on AWS's
   *   side, was throttled or did not reach AWS.
   */
  async submitJob(job: JobSubmission): Promise<SubmittedJob> {
    let output;
    try {
      output = await this.client.send(new SubmitJobCommand(toSubmitJobInput(job)));
    } catch (error) {
      const kind = classifyAwsError(error);
      if (kind === 'unknown') throw error;
      throw new ComputeSubmissionError(`AWS Batch did not take job "${job.jobName}": ${awsErrorMessage(error)}`, kind === 'transient', { cause: error });
    }
    const { jobId, jobArn, jobName } = output;
    if (jobId === undefined || jobArn === undefined) throw new UnexpectedBatchResponseError('SubmitJob', `no jobId or jobArn for job "${job.jobName}"`);
    return { jobId, jobArn, jobName: jobName ?? job.jobName };
  }

  /** DescribeJobs, 100 ids per call; ids AWS does not know (or no longer keeps) are left out, as AWS leaves them out. */
  async describeJobs(jobIds: readonly string[]): Promise<BatchJobStateChangeDetail[]> {
    const ids = [...new Set(jobIds)];
    const details: BatchJobStateChangeDetail[] = [];
    for (let start = 0; start < ids.length; start += DESCRIBE_CHUNK) {
      const output = await this.call('DescribeJobs', () => this.client.send(new DescribeJobsCommand({ jobs: ids.slice(start, start + DESCRIBE_CHUNK) })));
      for (const job of output.jobs ?? []) details.push(toDetail(job));
    }
    return details;
  }

  /**
   * ListJobs, every page. `jobName` becomes the JOB_NAME filter, which AWS matches without regard to
   * case and with which it ignores `jobStatus`: the exact name and the status are checked here.
   * Jobs of a queue come newest first; children of an array job as AWS orders them.
   */
  async listJobs(filter: JobListFilter): Promise<JobSummary[]> {
    const { jobQueue, arrayJobId, jobName, jobStatus } = filter;
    const scope = { ...(jobQueue !== undefined && { jobQueue }), ...(arrayJobId !== undefined && { arrayJobId }) };
    let summaries: JobSummary[];
    if (arrayJobId === undefined && jobName !== undefined) {
      summaries = await this.listAll({ ...scope, filters: [{ name: 'JOB_NAME', values: [jobName] }] });
    } else if (arrayJobId !== undefined && jobName !== undefined && jobStatus === undefined) {
      // AWS applies no filter to array children and without a status lists RUNNING ones only, while
      // a name means every status here: one listing per status, merged back into index order.
      const perStatus = await Promise.all(BATCH_JOB_STATUSES.map((status) => this.listAll({ ...scope, jobStatus: status })));
      summaries = perStatus.flat().sort((a, b) => (a.arrayProperties?.index ?? 0) - (b.arrayProperties?.index ?? 0));
    } else {
      summaries = await this.listAll({ ...scope, ...(jobStatus !== undefined && { jobStatus }) });
    }
    const matching = summaries.filter((s) => (jobName === undefined || s.jobName === jobName) && (jobStatus === undefined || s.status === jobStatus));
    // Stable: jobs created in the same millisecond keep the order AWS gave them.
    return arrayJobId === undefined ? matching.sort((a, b) => b.createdAt - a.createdAt) : matching;
  }

  /** CancelJob. A job AWS does not know is left alone, as the port says (AWS answers a ClientException). */
  async cancelJob(jobId: string, reason: string): Promise<void> {
    await this.stop('CancelJob', jobId, () => this.client.send(new CancelJobCommand({ jobId, reason })));
  }

  /** TerminateJob. A job AWS does not know is left alone, as the port says (AWS answers a ClientException). */
  async terminateJob(jobId: string, reason: string): Promise<void> {
    await this.stop('TerminateJob', jobId, () => this.client.send(new TerminateJobCommand({ jobId, reason })));
  }

  private async stop(operation: string, jobId: string, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (error) {
      // Whether the job is unknown is asked of DescribeJobs, not read from the error's wording.
      if (classifyAwsError(error) === 'client' && (await this.describeJobs([jobId])).length === 0) return;
      throw this.translate(operation, error);
    }
  }

  private async listAll(input: ListJobsCommandInput): Promise<JobSummary[]> {
    const summaries: JobSummary[] = [];
    let nextToken: string | undefined;
    do {
      const output = await this.call('ListJobs', () => this.client.send(new ListJobsCommand({ ...input, ...(nextToken !== undefined && { nextToken }) })));
      for (const summary of output.jobSummaryList ?? []) summaries.push(toSummary(summary));
      nextToken = output.nextToken;
    } while (nextToken);
    return summaries;
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.translate(operation, error);
    }
  }

  private translate(operation: string, error: unknown): unknown {
    switch (classifyAwsError(error)) {
      case 'client':
        return new BatchRequestRefusedError(operation, awsErrorMessage(error), { cause: error });
      case 'transient':
        return new BatchUnavailableError(operation, awsErrorMessage(error), { cause: error });
      case 'unknown':
        return error;
    }
  }
}
