import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AwsCredentials } from '@nightshift/aws-wire';

/** The services that run as processes of their own in the split topology. */
export const SPLIT_SERVICES = ['ingestion', 'planner', 'reporting'] as const;
export type SplitService = (typeof SPLIT_SERVICES)[number];

/** Where each service's compiled entrypoint is, relative to this file (src/ in tests, dist/ when built). */
export function serviceEntrypoint(service: SplitService): string {
  return fileURLToPath(new URL(`../../${service}/dist/main.js`, import.meta.url));
}

/**
 * The environment that points an `aws`-mode process (a service, a worker) at the embedded
 * platform: nothing but the AWS SDK's standard variables and nightshift's deployment settings.
 */
export function embeddedAwsEnvironment(awsEndpoint: string, bucket: string, credentials: AwsCredentials): Record<string, string> {
  return {
    NIGHTSHIFT_MODE: 'aws',
    NIGHTSHIFT_BUCKET: bucket,
    NIGHTSHIFT_S3_FORCE_PATH_STYLE: 'true',
    AWS_ENDPOINT_URL: awsEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** What the service processes are pointed at. */
export interface ServiceProcessesOptions {
  /** The embedded platform's AWS gateway (`AWS_ENDPOINT_URL`). */
  awsEndpoint: string;
  /** Each service's own access key for the gateway. */
  credentials: Record<SplitService, AwsCredentials>;
  /** Reporting's REST API keys (`NIGHTSHIFT_API_KEYS_FILE`). */
  apiKeysFile: string;
  tableName: string;
  bucket: string;
  /** Reporting's REST port (0: any free one; read the URL from {@link ServiceProcesses.apiUrl}). */
  apiPort: number;
  /** The worker's command, as the planner puts it in SubmitJob's container overrides. */
  workerCommand: string[];
  jobQueue: string;
  fairShareQueues: string[];
  /** Each service's stdout and stderr go to `<logDir>/<service>.log`. */
  logDir: string;
  /** The planner's reconciliation interval. */
  reconcileIntervalMs?: number;
  /** Extra environment for every service (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  environment?: Record<string, string>;
}

/** A running service process. */
interface Running {
  child: ChildProcess;
  log: WriteStream;
  exited: Promise<number | null>;
}

/**
 * Ingestion, planner and reporting as three processes in `aws` mode, each with nothing but the
 * standard AWS SDK variables pointing it at the embedded platform (`AWS_ENDPOINT_URL`, a region,
 * the service's own access key): the same binaries an ECS task runs. Each can be stopped (SIGTERM drains,
 * SIGKILL does not) and started again.
 */
export class ServiceProcesses {
  private readonly running = new Map<SplitService, Running>();
  private reportingUrl: string | undefined;

  constructor(private readonly options: ServiceProcessesOptions) {}

  /** Starts every service not running, and resolves once each says it has started. */
  async start(): Promise<void> {
    await mkdir(this.options.logDir, { recursive: true });
    await Promise.all(SPLIT_SERVICES.filter((s) => !this.running.has(s)).map((s) => this.startOne(s)));
  }

  /** Reporting's REST API. */
  get apiUrl(): string {
    if (!this.reportingUrl) throw new Error('reporting has not started');
    return this.reportingUrl;
  }

  /** Process id of a running service. */
  pid(service: SplitService): number | undefined {
    return this.running.get(service)?.child.pid;
  }

  /** Stops one service: SIGTERM drains its handlers; SIGKILL is a crash. Resolves with its exit code. */
  async stopOne(service: SplitService, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const r = this.running.get(service);
    if (!r) return null;
    r.child.kill(signal);
    const code = await r.exited;
    this.running.delete(service);
    return code;
  }

  /** Starts one service (again). */
  async startOne(service: SplitService): Promise<void> {
    const log = createWriteStream(join(this.options.logDir, `${service}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [serviceEntrypoint(service)], { env: this.environment(service), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    this.running.set(service, { child, log, exited });
    child.once('close', () => log.end());
    child.stderr!.pipe(log, { end: false });
    let seen = '';
    const started = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        const api = /reporting API (http:\/\/\S+)/.exec(seen);
        if (api) this.reportingUrl = api[1];
        if (seen.includes(`${service} started (aws mode`) && (service !== 'reporting' || this.reportingUrl)) resolve();
      });
      void exited.then((code) => reject(new Error(`${service} exited with code ${code} before it started; see ${join(this.options.logDir, `${service}.log`)}`)));
    });
    await started;
  }

  /** Stops every service (SIGTERM, so each drains). */
  async stop(): Promise<void> {
    await Promise.all([...this.running.keys()].map((s) => this.stopOne(s)));
  }

  private environment(service: SplitService): Record<string, string> {
    const o = this.options;
    const common: Record<string, string> = {
      ...embeddedAwsEnvironment(o.awsEndpoint, o.bucket, o.credentials[service]),
      NIGHTSHIFT_TABLE: o.tableName,
      ...(o.environment ?? {}),
    };
    if (service === 'planner') {
      return {
        ...common,
        NIGHTSHIFT_CONCURRENCY: '16',
        NIGHTSHIFT_WORKER_COMMAND: JSON.stringify(o.workerCommand),
        NIGHTSHIFT_JOB_QUEUE: o.jobQueue,
        NIGHTSHIFT_FAIR_SHARE_QUEUES: o.fairShareQueues.join(','),
        // No EventBridge Scheduler here: the planner fires the schedules (aws mode's default is off).
        NIGHTSHIFT_SCHEDULER: 'embedded',
        ...(o.reconcileIntervalMs !== undefined ? { NIGHTSHIFT_RECONCILE_INTERVAL_MS: String(o.reconcileIntervalMs) } : {}),
      };
    }
    if (service === 'reporting') return { ...common, NIGHTSHIFT_HTTP_PORT: String(o.apiPort), NIGHTSHIFT_API_KEYS_FILE: o.apiKeysFile };
    return common;
  }
}
