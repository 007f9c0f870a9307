import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Lints `code` as if it were the file at `path` (relative to the repo root). */
async function lint(path: string, code: string): Promise<string[]> {
  // Probe files do not exist on disk, so lint them without type information (the boundary rules need none).
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: {
      languageOptions: { parserOptions: { projectService: false } },
      rules: { '@typescript-eslint/no-floating-promises': 'off' },
    },
  });
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('architecture boundaries (Nx tags + lint)', () => {
  beforeAll(() => {
    // The module-boundaries rule reads the cached project graph; make sure it exists.
    execFileSync(process.execPath, [fileURLToPath(new URL('../node_modules/nx/dist/bin/nx.js', import.meta.url)), 'show', 'projects'], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      stdio: 'ignore',
    });
  }, 120_000);

  it('fails a domain lib that imports the AWS SDK or an adapter', async () => {
    const messages = await lint(
      'libs/storage/domain/src/leak.ts',
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { LocalComputeEnvironment } from '@nightshift/compute-local';\nexport const leak = [DynamoDBClient, LocalComputeEnvironment];\n",
    );
    expect(messages).toEqual([
      expect.stringContaining('@nx/enforce-module-boundaries: A project tagged with "type:domain" is not allowed to import "@aws-sdk/client-dynamodb"'),
      expect.stringContaining('@nx/enforce-module-boundaries: A project tagged with "type:domain" can only depend on libs tagged with'),
    ]);
  });

  it('fails OpenTelemetry imports outside the observability lib, and process.env outside config', async () => {
    const messages = await lint('services/planner/src/leak.ts', "import { trace } from '@opentelemetry/api';\nexport const t = [trace, process.env['X']];\n");
    expect(messages.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
    expect(messages.some((m) => m.startsWith('no-restricted-properties'))).toBe(true);
  });

  it('passes an allowed import', async () => {
    expect(await lint('libs/jobs/domain/src/fine.ts', "import { DatasetLanded } from '@nightshift/contracts';\nexport const d = DatasetLanded;\n")).toEqual([]);
  });
});
