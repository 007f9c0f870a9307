import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { serviceEntrypoint, type SplitService } from './service-processes.js';

/** Runs a service's compiled main with exactly this environment; its exit code and stderr. */
function runMain(service: SplitService, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serviceEntrypoint(service)], { env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

describe('a service process of its own refuses a bad configuration at boot, naming the variable (exit 2)', () => {
  it('aws mode without a bucket', async () => {
    const { code, stderr } = await runMain('ingestion', { NIGHTSHIFT_MODE: 'aws' });
    expect(code).toBe(2);
    expect(stderr).toContain('invalid ingestion configuration: NIGHTSHIFT_BUCKET: required in aws mode');
  });

  it('local mode, which only the embedded host runs', async () => {
    const { code, stderr } = await runMain('ingestion', { NIGHTSHIFT_MODE: 'local', NIGHTSHIFT_OBJECT_STORE_DIR: '/tmp/x' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/NIGHTSHIFT_MODE=local runs inside the embedded host .* NIGHTSHIFT_MODE=aws/);
  });

  it('reporting in aws mode without any way to authenticate REST callers', async () => {
    const { code, stderr } = await runMain('reporting', { NIGHTSHIFT_MODE: 'aws', NIGHTSHIFT_BUCKET: 'b-1' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/NIGHTSHIFT_JWKS_URL|NIGHTSHIFT_API_KEYS_FILE/);
  });

  it('an unknown mode and a worker command that is not a JSON array, both named', async () => {
    const { code, stderr } = await runMain('planner', { NIGHTSHIFT_MODE: 'gcp', NIGHTSHIFT_BUCKET: 'b-1', NIGHTSHIFT_WORKER_COMMAND: 'node worker.js' });
    expect(code).toBe(2);
    expect(stderr).toContain('NIGHTSHIFT_MODE:');
    expect(stderr).toContain('NIGHTSHIFT_WORKER_COMMAND:');
  });
});
