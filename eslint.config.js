import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/** Domain and contract libs stay pure: no I/O SDKs, no framework. */
const ioPackages = ['@aws-sdk/*', '@smithy/*', '@nestjs/*', '@opentelemetry/*', 'pino', 'pino-pretty', '@duckdb/*', 'dynalite', 'fastify', 'aws-cdk-lib', 'constructs'];

/**
 * Who may import whom, by Nx tag. `extraAdapterDeps` widens adapters only: tests wire real adapters
 * together (a transport over the embedded bus, an AWS adapter against an embedded endpoint), while
 * production code of an adapter never imports another adapter.
 */
function depConstraints({ extraAdapterDeps = [] } = {}) {
  return [
    { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: ioPackages },
    { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain'], bannedExternalImports: ioPackages },
    // The loopback HTTP plumbing of the embedded AWS endpoints: Node's standard library only.
    { sourceTag: 'type:wire', onlyDependOnLibsWithTags: [], bannedExternalImports: ioPackages },
    { sourceTag: 'type:observability', onlyDependOnLibsWithTags: ['type:contracts'] },
    { sourceTag: 'type:analytics', onlyDependOnLibsWithTags: ['type:contracts'], bannedExternalImports: ['@aws-sdk/*', '@nestjs/*', '@opentelemetry/*', 'dynalite'] },
    { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:observability', 'type:wire', ...extraAdapterDeps] },
    { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:adapter', 'type:observability', 'type:wire'] },
    { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:adapter', 'type:runtime', 'type:observability', 'type:analytics', 'type:wire'] },
    // The CDK app reads the contracts (rules), the pipelines and the store's table design: one source of truth.
    { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', 'type:adapter'] },
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:service', 'type:contracts', 'type:domain', 'type:adapter', 'type:runtime', 'type:observability', 'type:analytics', 'type:wire'] },
  ];
}

function moduleBoundaries(constraints) {
  return [
    'error',
    { enforceBuildableLibDependency: false, allow: [], banTransitiveDependencies: false, checkNestedExternalImports: true, depConstraints: constraints },
  ];
}

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '!eslint.config.js', '**/*.cjs', '**/*.mjs', '**/cdk.out/**', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': moduleBoundaries(depConstraints()),
    },
  },
  {
    files: ['**/*.spec.ts', '**/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries(depConstraints({ extraAdapterDeps: ['type:adapter'] })) },
  },
  {
    // The OpenTelemetry SDK is imported only by the observability facade.
    files: ['libs/**/*.ts', 'services/**/*.ts'],
    ignores: ['libs/observability/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@opentelemetry/*', 'pino', 'pino-pretty'], message: 'Use @nightshift/observability.' }] }],
    },
  },
  {
    // process.env is read only by each deployable's config schema.
    files: ['libs/**/*.ts', 'services/**/*.ts'],
    ignores: ['**/config.ts', '**/*.spec.ts', '**/testing/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through the zod config schema (config.ts).' }],
    },
  },
];
