// A host process for the orphan-reaping test: it runs a LocalComputeEnvironment (from the
// TypeScript sources) with a journal in argv[2], starts one long-running job that writes its pid to
// argv[3], and then waits to be killed with SIGKILL, leaving that job behind.
import { register } from 'node:module';

register('./ts-source-loader.mjs', import.meta.url);
const { LocalComputeEnvironment } = await import('../index.ts');

const [stateDir, pidFile] = process.argv.slice(2);
const env = new LocalComputeEnvironment({ vcpus: 1, memoryMiB: 512, stateDir, emit: async () => {} });
await env.submitJob({
  jobName: 'orphan',
  jobQueue: 'nightshift-default',
  jobDefinition: 'nightshift-worker',
  command: [process.execPath, '-e', "require('fs').writeFileSync(process.env.PID_FILE, String(process.pid)); setInterval(() => {}, 1000)"],
  vcpus: 1,
  memoryMiB: 64,
  timeoutSeconds: 600,
  retryStrategy: { attempts: 1 },
  environment: { PID_FILE: pidFile },
  parameters: {},
});
setInterval(() => {}, 1000);
