import { defineConfig } from 'vitest/config';

// Workspace packages expose their TypeScript sources under the "@nightshift/source" export
// condition, so tests run against src/ without a build step.
const conditions = ['@nightshift/source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  // Only our own condition for externalized (node_modules) packages: adding 'import' there breaks CJS packages
  // with separate import/require builds (dynalite's big.js). Vitest also starts its workers with
  // `--conditions <each ssr condition>`, so 'import' here would make Node's own require() pick a package's
  // ESM build (ws's wrapper.mjs under @fastify/websocket); Vite adds import/require per import itself.
  ssr: { resolve: { conditions: conditions.filter((c) => c !== 'import'), externalConditions: ['@nightshift/source'] } },
  test: {
    include: ['libs/**/*.spec.ts', 'services/**/*.spec.ts', 'infra/**/*.spec.ts', 'test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/cdk.out/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // The specs mostly wait (platforms starting, child processes, polling with deadlines): on 2 cores
    // the default of one fork per core kept ~1.2 cores busy. Three forks overlap more of the waiting.
    maxWorkers: 3,
    // The AWS SDK warns on every process that Node 20 support ends in 2027; the stack is pinned (STACK.md).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
