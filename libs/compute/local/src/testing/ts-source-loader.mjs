// Module hooks that let a plain `node` process import the workspace's TypeScript sources, as Vitest
// does: packages resolve through their "@nightshift/source" export condition, `./x.js` finds `./x.ts`,
// and .ts files are transpiled (types stripped, nothing checked) with the workspace's TypeScript.
// Test-only: used by orphan-host.mjs, which must run the environment in a process of its own.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export async function resolve(specifier, context, nextResolve) {
  const conditions = [...new Set([...(context.conditions ?? []), '@nightshift/source'])];
  try {
    return await nextResolve(specifier, { ...context, conditions });
  } catch (error) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, { ...context, conditions });
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false, sourceMap: false },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
