import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackHttpServer, readBody, RequestAbortedError, RequestBodyTooLargeError, sendAwsJson } from '@nightshift/aws-wire';
import { ComputeSubmissionError } from '@nightshift/jobs-domain';
import { BatchWireError, clientException, isObject, listJobsRequestOf, pageOf, passesFilter, requiredString, submissionOf, type BatchJobDefinition } from './batch-wire.js';
import { InvalidComputeRequestError, InvalidLocalComputeOptionsError } from './errors.js';
import { NAME } from './job-queues.js';
import type { LocalComputeEnvironment } from './local-compute-environment.js';

export type { BatchJobDefinition } from './batch-wire.js';

/** Options of {@link BatchHttpEndpoint}. */
export interface BatchHttpEndpointOptions {
  /** The environment the requests act on. */
  compute: LocalComputeEnvironment;
  /** TCP port for `listen()`; 0 (the default) picks a free one. The endpoint listens on 127.0.0.1 only. */
  port?: number;
  /**
   * Job definitions by name, each revision 1 (the environment has no RegisterJobDefinition): the host
   * registers `nightshift-worker` here, so a SubmitJob with only overrides, or none, runs it.
   */
  jobDefinitions?: Record<string, BatchJobDefinition>;
  /** Largest request body accepted, in bytes; default 1 MiB. */
  maxBodyBytes?: number;
}

/** The operations served, by path. */
const OPERATIONS = {
  '/v1/submitjob': 'SubmitJob',
  '/v1/describejobs': 'DescribeJobs',
  '/v1/listjobs': 'ListJobs',
  '/v1/terminatejob': 'TerminateJob',
  '/v1/canceljob': 'CancelJob',
} as const;
type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

const NAME_RE = new RegExp(`^${NAME}$`);
const CONTENT_TYPE = 'application/json';

/**
 * AWS Batch's job API over HTTP (REST-JSON, as `@aws-sdk/client-batch` sends it) in front of a
 * {@link LocalComputeEnvironment}, so that the AWS adapter (`BatchComputeEnvironment`), the AWS CLI
 * with `--endpoint-url`, or any Batch client drives the embedded environment as it drives AWS Batch.
 *
 * POST `/v1/submitjob`, `/v1/describejobs`, `/v1/listjobs`, `/v1/terminatejob`, `/v1/canceljob`.
 * Errors have AWS's shape: the `x-amzn-errortype` header and `{"message": ...}`, `ClientException`
 * (400) for what AWS refuses (missing or mistyped fields, an unknown queue or job definition, an
 * array size outside 2..10,000, an unknown job to cancel or terminate, more than 100 ids),
 * `ServerException` (500) when the environment fails or is shutting down, and
 * `UnknownOperationException` for any other path or method. A job id DescribeJobs does not know is
 * left out of its answer, as AWS does. Signatures (SigV4) are checked by the platform's gateway in front of
 * it, not here; served on its own, it trusts its loopback callers.
 */
export class BatchHttpEndpoint extends LoopbackHttpServer {
  private readonly definitions: Readonly<Record<string, BatchJobDefinition>>;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: BatchHttpEndpointOptions) {
    super({ port: options.port, notListening: () => new InvalidComputeRequestError('the Batch endpoint is not listening: call listen() first') });
    const definitions = options.jobDefinitions ?? {};
    const problems = Object.keys(definitions)
      .filter((name) => !NAME_RE.test(name))
      .map((name) => `jobDefinitions: "${name}" is not a job definition name`);
    if (problems.length > 0) throw new InvalidLocalComputeOptionsError(problems);
    this.definitions = structuredClone(definitions);
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  /**
   * Answers one request (for a host that serves several AWS endpoints on one port and routes
   * POST `/v1/*` here). Never rejects: every failure is answered in AWS's error shape.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const operation = operationOf(req);
      const body = await readJson(req, this.maxBodyBytes);
      sendAwsJson(res, 200, await this.perform(operation, body), { contentType: CONTENT_TYPE });
    } catch (e) {
      const error = toWireError(e);
      if (!req.readableEnded) req.resume();
      try {
        sendAwsJson(res, error.status, { message: error.message }, { contentType: CONTENT_TYPE, errorType: error.type });
      } catch {
        res.destroy();
      }
    }
  }

  private async perform(operation: Operation, body: Record<string, unknown>): Promise<unknown> {
    const compute = this.options.compute;
    switch (operation) {
      case 'SubmitJob': {
        const { jobId, jobArn, jobName } = await compute.submitJob(submissionOf(body, this.definitions));
        return { jobArn, jobName, jobId };
      }
      case 'DescribeJobs': {
        const ids = body.jobs;
        if (ids === undefined || ids === null) throw clientException('jobs is required');
        if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw clientException('jobs must be a list of job ids');
        return { jobs: await compute.describeJobs(ids as string[]) };
      }
      case 'ListJobs': {
        const request = listJobsRequestOf(body);
        const filter = request.filter;
        // AWS: with a filter, jobStatus is ignored and every status is listed; filters do not apply to array children.
        const jobs =
          filter && 'jobQueue' in request.scope
            ? (await compute.listAllJobs(request.scope)).filter((job) => passesFilter(job, filter))
            : await compute.listJobs({ ...request.scope, ...(request.jobStatus !== undefined && { jobStatus: request.jobStatus }) });
        return pageOf(jobs, request);
      }
      case 'TerminateJob':
      case 'CancelJob': {
        const jobId = requiredString(body, 'jobId');
        const reason = requiredString(body, 'reason');
        if (reason.length > 1024) throw clientException(`reason must be at most 1024 characters, got ${reason.length}`);
        if ((await compute.describeJobs([jobId])).length === 0) throw clientException(`Job ${jobId} does not exist`);
        if (operation === 'TerminateJob') await compute.terminateJob(jobId, reason);
        else await compute.cancelJob(jobId, reason);
        return {};
      }
    }
  }
}

function operationOf(req: IncomingMessage): Operation {
  const path = (req.url ?? '/').split('?')[0].toLowerCase();
  const operation = Object.hasOwn(OPERATIONS, path) ? OPERATIONS[path as keyof typeof OPERATIONS] : undefined;
  if (req.method !== 'POST' || operation === undefined) {
    const supported = Object.values(OPERATIONS).join(', ');
    throw new BatchWireError(404, 'UnknownOperationException', `${req.method} ${req.url} is not an operation of the local Batch endpoint (it serves ${supported})`);
  }
  return operation;
}

function toWireError(e: unknown): BatchWireError {
  if (e instanceof BatchWireError) return e;
  if (e instanceof RequestBodyTooLargeError) return clientException(`The request body exceeds ${e.limit} bytes`);
  if (e instanceof RequestAbortedError) return clientException('The request was aborted');
  if (e instanceof ComputeSubmissionError) return e.retryable ? new BatchWireError(500, 'ServerException', e.message) : clientException(e.message);
  if (e instanceof InvalidComputeRequestError) return clientException(e.message);
  return new BatchWireError(500, 'ServerException', e instanceof Error ? e.message : String(e));
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit);
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw clientException('The request body is not valid JSON');
  }
  if (!isObject(parsed)) throw clientException('The request body must be a JSON object');
  return parsed;
}
