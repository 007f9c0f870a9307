import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { startTracing, type Tracing } from '@nightshift/observability';
import { startEmbeddedPlatform, type EmbeddedPlatform, type EmbeddedPlatformOptions } from '../embedded-platform.js';
import { registerApi } from './api-fetch.js';

/** How a spec's platform differs from the default test platform (2 vCPUs, 4 GiB, ports picked free). */
export interface TestPlatformOptions extends Partial<EmbeddedPlatformOptions> {
  /** Starts the name of the new temporary home, so a leftover one says which spec made it. */
  prefix?: string;
  /**
   * An existing home to start on instead, which the caller keeps (`stop` leaves it): a restart test
   * starts twice on one home.
   */
  home?: string;
  /** Trace this process into `<home>/traces/traces.jsonl`, the file the platform's workers trace into too. */
  tracing?: { serviceName: string };
  /** Writes what the platform reads at start (webhooks, API keys) into its home; the options it returns are added. */
  beforeStart?: (home: string) => Promise<Partial<EmbeddedPlatformOptions> | void>;
}

/** A started test platform, its API registered for `apiFetch`, and an upstream system's EventBridge client on it. */
export interface TestPlatform {
  home: string;
  platform: EmbeddedPlatform;
  /** PutEvents as an upstream system sends it (the gateway's `upstream` key). */
  events: EventBridgeClient;
  tracing: Tracing | undefined;
  /** Destroys the client, stops the platform, shuts tracing down and removes the home it made; once, however often called. */
  stop(): Promise<void>;
}

/**
 * Starts an embedded platform as the host specs use it. A start that fails undoes what it did
 * (tracing, the new home) before rethrowing, so a failed `beforeAll` leaves nothing behind.
 */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const { prefix = 'nightshift-test-', home: given, tracing: tracingOptions, beforeStart, ...platformOptions } = options;
  const home = given ?? (await mkdtemp(join(tmpdir(), prefix)));
  let tracing: Tracing | undefined;
  let platform: EmbeddedPlatform | undefined;
  let events: EventBridgeClient | undefined;
  const cleanUp = async (): Promise<void> => {
    events?.destroy();
    await platform?.stop();
    await tracing?.shutdown();
    if (!given) await rm(home, { recursive: true, force: true });
  };
  try {
    if (tracingOptions) tracing = startTracing({ serviceName: tracingOptions.serviceName, traceFile: join(home, 'traces', 'traces.jsonl') });
    const fromHome = (await beforeStart?.(home)) ?? {};
    platform = await startEmbeddedPlatform({ apiPort: 0, eventsPort: 0, vcpus: 2, memoryMiB: 4096, ...platformOptions, ...fromHome, home });
    registerApi(platform);
    events = new EventBridgeClient({ endpoint: platform.eventsUrl, region: 'us-east-1', credentials: platform.credentials.upstream });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return { home, platform, events, tracing, stop: () => (stopping ??= cleanUp()) };
}
