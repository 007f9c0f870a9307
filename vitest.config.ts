import { defineConfig } from 'vitest/config';

// Workspace packages expose their TypeScript sources under the "@nightshift/source" export
// condition, so tests run against src/ without a build step.
const conditions = ['@nightshift/source', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['libs/**/*.spec.ts', 'services/**/*.spec.ts', 'test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
