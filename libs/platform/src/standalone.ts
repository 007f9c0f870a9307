import { Logger } from '@nestjs/common';
import { createLogger, nestLogger, startMetrics, startTracing } from '@nightshift/observability';
import { createAwsClients } from './aws-clients.js';
import { ConfigError, type DeploymentConfig } from './config.js';
import { InvalidPipelineFilesError } from './errors.js';
import type { AwsRuntime } from './runtime.js';

/** Stops what {@link runStandalone}'s `start` started: drains the queue consumer, closes servers. */
export type StopService = () => Promise<void>;

/**
 * The `main` of a service deployed as its own process (an ECS task, or one of the processes of
 * `npm run start:split`): parses the config (a bad one exits 2 naming the variables; so do bad
 * pipeline files, naming each problem), starts tracing first, logs JSON lines to stdout (Nest's
 * and the service's, service `nightshift-<service>`, at NIGHTSHIFT_LOG_LEVEL: what CloudWatch Logs
 * or `<home>/services/<service>.log` keeps), creates the process's AWS SDK
 * clients, starts the service, and on SIGTERM or SIGINT stops receiving, lets the handlers under
 * way finish (ECS gives 30 s before SIGKILL), then exits 0. Messages not acked by then come back
 * after their visibility timeout.
 */
export async function runStandalone<C extends DeploymentConfig>(
  service: string,
  loadConfig: () => C,
  start: (config: C, runtime: AwsRuntime) => Promise<StopService>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (config.mode !== 'aws') {
    process.stderr.write(
      `${service}: NIGHTSHIFT_MODE=${config.mode} runs inside the embedded host (npm start); a service process of its own runs ` +
        'with NIGHTSHIFT_MODE=aws, against AWS or the embedded platform\'s AWS-compatible endpoints (npm run start:split)\n',
    );
    process.exitCode = 2;
    return;
  }
  const tracing = startTracing({ serviceName: `nightshift-${service}`, otlpEndpoint: config.otlpEndpoint, traceFile: config.traceFile });
  // Pushed by OTLP when an endpoint is set; reporting also serves them at GET /metrics.
  const metrics = startMetrics({ serviceName: `nightshift-${service}`, ...(config.otlpEndpoint ? { otlpEndpoint: config.otlpEndpoint } : {}) });
  // Before any Nest app exists: Nest keeps one logger per process, and every app created after uses it.
  Logger.overrideLogger(nestLogger(createLogger({ service: `nightshift-${service}`, level: config.logLevel })));
  const log = new Logger(service);
  const aws = createAwsClients({ s3ForcePathStyle: config.s3ForcePathStyle });
  let stop: StopService;
  try {
    stop = await start(config, { mode: 'aws', aws });
  } catch (e) {
    aws.destroy();
    await metrics.shutdown();
    await tracing.shutdown();
    // Pipeline files are configuration too: their problems are what to fix, not a stack trace.
    if (!(e instanceof InvalidPipelineFilesError)) throw e;
    process.stderr.write(`${service}: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  log.log(`${service} started (aws mode, pid ${process.pid})`);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal}: draining`);
    void stop()
      .catch((e: unknown) => log.error(`stop failed: ${String(e)}`))
      .then(() => aws.destroy())
      .then(() => metrics.shutdown())
      .then(() => tracing.shutdown())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
