import type { BatchJobStatus } from '@nightshift/contracts';
import type { EvaluateOnExit, JobDependency, JobSummary, RetryStrategy } from '@nightshift/jobs-domain';
import { NAME } from './job-queues.js';
import type { LocalJobSubmission } from './job-spec.js';

/*
 * AWS Batch's REST-JSON requests (https://docs.aws.amazon.com/batch/latest/APIReference/) read into
 * the local environment's terms, and its ListJobs filters and pages. Pure: the HTTP side is
 * `batch-endpoint.ts`.
 */

/** A job definition the host registers with the endpoint (there is no RegisterJobDefinition here). */
export interface BatchJobDefinition {
  /** Program and arguments, run as is; SubmitJob's `containerOverrides.command` replaces it. */
  command: string[];
  /** SubmitJob's VCPU resource requirement overrides it. */
  vcpus: number;
  /** SubmitJob's MEMORY resource requirement overrides it. */
  memoryMiB: number;
  /** Per-attempt timeout; SubmitJob's `timeout` overrides it. Neither: no timeout, as in AWS. */
  timeoutSeconds?: number;
  /** SubmitJob's `containerOverrides.environment` adds to it, variable by variable. */
  environment?: Record<string, string>;
  /** SubmitJob's `retryStrategy` replaces it; neither: one attempt. */
  retryStrategy?: RetryStrategy;
}

/** An error in AWS's REST-JSON shape: HTTP status, `x-amzn-errortype`, `{"message"}`. */
export class BatchWireError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** AWS's 400 for a request it refuses: bad input, unknown resources. */
export function clientException(message: string): BatchWireError {
  return new BatchWireError(400, 'ClientException', message);
}

const DEFINITION_RE = new RegExp(`^(?:arn:[^:]+:batch:[^:]*:[^:]*:job-definition/)?(${NAME})(?::(\\d+))?$`);
const UNSUPPORTED_SUBMIT_FIELDS = ['nodeOverrides', 'eksPropertiesOverride', 'ecsPropertiesOverride', 'consumableResourcePropertiesOverride'];

/**
 * SubmitJob's body as a submission to the local environment: the registered job definition (revision
 * 1, by name, `name:1` or ARN) with the request's overrides applied as AWS applies them. Whatever the
 * environment checks itself (names, array size, retry rules, dependencies) is left to it.
 *
 * @throws BatchWireError ClientException for missing or mistyped fields, an unknown job definition, or
 *   what the local environment cannot run (multi-node, EKS, ECS properties, GPUs).
 */
export function submissionOf(body: Record<string, unknown>, definitions: Readonly<Record<string, BatchJobDefinition>>): LocalJobSubmission {
  const jobName = requiredString(body, 'jobName');
  const jobQueue = requiredString(body, 'jobQueue');
  const jobDefinition = requiredString(body, 'jobDefinition');
  for (const field of UNSUPPORTED_SUBMIT_FIELDS) {
    if (body[field] !== undefined && body[field] !== null) throw clientException(`${field} is not supported by the local compute environment`);
  }
  const match = DEFINITION_RE.exec(jobDefinition);
  const definition = match && (match[2] === undefined || match[2] === '1') && Object.hasOwn(definitions, match[1]) ? definitions[match[1]] : undefined;
  if (!definition) {
    const known = Object.keys(definitions);
    throw clientException(`Job definition ${jobDefinition} does not exist (registered: ${known.length > 0 ? known.map((n) => `${n}:1`).join(', ') : 'none'})`);
  }

  const overrides = optionalObject(body, 'containerOverrides') ?? {};
  const command = optionalStringList(overrides, 'containerOverrides.command') ?? definition.command;
  const environment = { ...definition.environment, ...keyValues(overrides.environment, 'containerOverrides.environment') };
  let vcpus = optionalNumber(overrides, 'vcpus', 'containerOverrides.vcpus') ?? definition.vcpus;
  let memoryMiB = optionalNumber(overrides, 'memory', 'containerOverrides.memory') ?? definition.memoryMiB;
  for (const [i, requirement] of list(overrides.resourceRequirements, 'containerOverrides.resourceRequirements').entries()) {
    const at = `containerOverrides.resourceRequirements[${i}]`;
    if (!isObject(requirement) || typeof requirement.type !== 'string' || typeof requirement.value !== 'string') {
      throw clientException(`${at} must be {type, value} strings`);
    }
    const value = Number(requirement.value);
    if (requirement.value.trim() === '' || !Number.isFinite(value)) throw clientException(`${at}.value ${JSON.stringify(requirement.value)} is not a number`);
    if (requirement.type === 'VCPU') vcpus = value;
    else if (requirement.type === 'MEMORY') memoryMiB = value;
    else throw clientException(`${at}: resource type ${requirement.type} is not available in the local compute environment (VCPU and MEMORY are)`);
  }

  const retry = optionalObject(body, 'retryStrategy');
  const retryStrategy: RetryStrategy = retry
    ? {
        attempts: optionalNumber(retry, 'attempts', 'retryStrategy.attempts') ?? definition.retryStrategy?.attempts ?? 1,
        ...(retry.evaluateOnExit !== undefined && retry.evaluateOnExit !== null && { evaluateOnExit: list(retry.evaluateOnExit, 'retryStrategy.evaluateOnExit') as EvaluateOnExit[] }),
      }
    : (definition.retryStrategy ?? { attempts: 1 });
  const timeout = optionalObject(body, 'timeout');
  const timeoutSeconds = (timeout && optionalNumber(timeout, 'attemptDurationSeconds', 'timeout.attemptDurationSeconds')) ?? definition.timeoutSeconds;
  const arrayProperties = optionalObject(body, 'arrayProperties');
  const arraySize = arrayProperties && optionalNumber(arrayProperties, 'size', 'arrayProperties.size');
  const dependsOn = body.dependsOn === undefined || body.dependsOn === null ? undefined : (list(body.dependsOn, 'dependsOn') as JobDependency[]);
  const shareIdentifier = optionalString(body, 'shareIdentifier');
  const schedulingPriority = optionalNumber(body, 'schedulingPriorityOverride', 'schedulingPriorityOverride');
  const tags = stringRecord(body.tags, 'tags');
  const propagateTags = body.propagateTags;
  if (propagateTags !== undefined && propagateTags !== null && typeof propagateTags !== 'boolean') throw clientException('propagateTags must be a boolean');
  return {
    jobName,
    jobQueue,
    jobDefinition,
    command,
    vcpus,
    memoryMiB,
    ...(timeoutSeconds !== undefined && { timeoutSeconds }),
    retryStrategy,
    ...(arraySize !== undefined && { arraySize }),
    environment,
    parameters: stringRecord(body.parameters, 'parameters') ?? {},
    ...(shareIdentifier !== undefined && { shareIdentifier }),
    ...(schedulingPriority !== undefined && { schedulingPriority }),
    ...(dependsOn !== undefined && { dependsOn }),
    ...(tags !== undefined && { tags }),
    ...(typeof propagateTags === 'boolean' && { propagateTags }),
  };
}

/** ListJobs' body, checked. */
export interface ListJobsRequest {
  scope: { jobQueue: string } | { arrayJobId: string };
  jobStatus?: BatchJobStatus;
  filter?: { name: 'JOB_NAME' | 'BEFORE_CREATED_AT' | 'AFTER_CREATED_AT'; values: string[] };
  maxResults?: number;
  nextToken?: string;
}

const SUPPORTED_FILTERS = ['JOB_NAME', 'BEFORE_CREATED_AT', 'AFTER_CREATED_AT'] as const;
const AWS_FILTERS = ['JOB_NAME', 'JOB_DEFINITION', 'BEFORE_CREATED_AT', 'AFTER_CREATED_AT', 'SHARE_IDENTIFIER'];

/** @throws BatchWireError ClientException for a request AWS would refuse, or a filter not modelled here. */
export function listJobsRequestOf(body: Record<string, unknown>): ListJobsRequest {
  const jobQueue = optionalString(body, 'jobQueue');
  const arrayJobId = optionalString(body, 'arrayJobId');
  if (optionalString(body, 'multiNodeJobId') !== undefined) throw clientException('multiNodeJobId: multi-node parallel jobs do not exist in the local compute environment');
  if ((jobQueue === undefined) === (arrayJobId === undefined)) throw clientException('Exactly one of jobQueue, arrayJobId or multiNodeJobId must be given');
  const filters = list(body.filters, 'filters');
  if (filters.length > 1) throw clientException('Only one filter can be used at a time');
  let filter: ListJobsRequest['filter'];
  if (filters.length === 1) {
    const raw = filters[0];
    if (!isObject(raw) || typeof raw.name !== 'string') throw clientException('filters[0] must be {name, values}');
    const name = raw.name;
    if (!AWS_FILTERS.includes(name)) throw clientException(`filters[0].name must be one of ${AWS_FILTERS.join(', ')}, got ${name}`);
    if (!SUPPORTED_FILTERS.includes(name as (typeof SUPPORTED_FILTERS)[number])) {
      throw clientException(`The ${name} filter is not supported by the local compute environment (${SUPPORTED_FILTERS.join(', ')} are)`);
    }
    const values = optionalStringList(raw, 'filters[0].values') ?? [];
    if (values.length === 0) throw clientException('filters[0].values must hold a value');
    if (name !== 'JOB_NAME' && values.some((v) => !/^\d+$/.test(v))) throw clientException(`${name} takes epoch milliseconds, got ${values.join(', ')}`);
    filter = { name: name as (typeof SUPPORTED_FILTERS)[number], values };
  }
  const jobStatus = optionalString(body, 'jobStatus') as BatchJobStatus | undefined;
  const maxResults = optionalNumber(body, 'maxResults', 'maxResults');
  if (maxResults !== undefined && !(Number.isInteger(maxResults) && maxResults >= 1)) throw clientException(`maxResults must be an integer >= 1, got ${maxResults}`);
  const nextToken = optionalString(body, 'nextToken');
  return {
    scope: jobQueue !== undefined ? { jobQueue } : { arrayJobId: arrayJobId! },
    ...(jobStatus !== undefined && { jobStatus }),
    ...(filter && { filter }),
    ...(maxResults !== undefined && { maxResults }),
    ...(nextToken !== undefined && { nextToken }),
  };
}

/** True when `job` passes the request's filter (AWS: JOB_NAME case-insensitive, a trailing `*` matches a prefix). */
export function passesFilter(job: JobSummary, filter: NonNullable<ListJobsRequest['filter']>): boolean {
  switch (filter.name) {
    case 'JOB_NAME': {
      const name = job.jobName.toLowerCase();
      return filter.values.some((value) => {
        const v = value.toLowerCase();
        return v.endsWith('*') ? name.startsWith(v.slice(0, -1)) : name === v;
      });
    }
    case 'BEFORE_CREATED_AT':
      return filter.values.some((value) => job.createdAt < Number(value));
    case 'AFTER_CREATED_AT':
      return filter.values.some((value) => job.createdAt > Number(value));
  }
}

/**
 * One page of `jobs` (in the order ListJobs answers them) after `nextToken`, at most `maxResults`
 * (AWS's caps: 1000, 100 with a filter). The token names the last job handed out, so jobs submitted
 * between two pages (newest first: at the front) neither repeat nor shift what follows; if that
 * job has been forgotten meanwhile, the next page starts with the first job created before it.
 */
export function pageOf(jobs: readonly JobSummary[], request: ListJobsRequest): { jobSummaryList: JobSummary[]; nextToken?: string } {
  const cap = request.filter ? 100 : 1000;
  const size = Math.min(request.maxResults ?? cap, cap);
  let start = 0;
  if (request.nextToken !== undefined) {
    const token = decodeToken(request.nextToken);
    const at = jobs.findIndex((job) => job.jobId === token.after);
    start = at >= 0 ? at + 1 : jobs.findIndex((job) => job.createdAt < token.createdAt);
    if (start < 0) start = jobs.length;
  }
  const page = jobs.slice(start, start + size);
  const last = page.at(-1);
  return {
    jobSummaryList: page,
    ...(last && start + size < jobs.length && { nextToken: encodeToken({ after: last.jobId, createdAt: last.createdAt }) }),
  };
}

interface PageToken {
  after: string;
  createdAt: number;
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(raw: string): PageToken {
  try {
    const token: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (isObject(token) && typeof token.after === 'string' && typeof token.createdAt === 'number') return { after: token.after, createdAt: token.createdAt };
  } catch {
    // Not ours: refused below.
  }
  throw clientException('nextToken was not issued by this endpoint');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === '') throw clientException(`${field} is required`);
  if (typeof value !== 'string') throw clientException(`${field} must be a string`);
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw clientException(`${field} must be a string`);
  return value;
}

function optionalNumber(body: Record<string, unknown>, field: string, path: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw clientException(`${path} must be a number`);
  return value;
}

function optionalObject(body: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw clientException(`${field} must be an object`);
  return value;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw clientException(`${path} must be a list`);
  return value;
}

function optionalStringList(body: Record<string, unknown>, path: string): string[] | undefined {
  const field = path.slice(path.lastIndexOf('.') + 1);
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw clientException(`${path} must be a list of strings`);
  return value as string[];
}

function keyValues(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, pair] of list(value, path).entries()) {
    if (!isObject(pair) || typeof pair.name !== 'string' || typeof (pair.value ?? '') !== 'string') throw clientException(`${path}[${i}] must be {name, value} strings`);
    out[pair.name] = (pair.value as string | undefined) ?? '';
  }
  return out;
}

function stringRecord(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) throw clientException(`${path} must map strings to strings`);
  return value as Record<string, string>;
}
