// Builds the dashboard (services/reporting/ui) into services/reporting/dist/ui/: one minified ES
// module bundle and one stylesheet with content hashes in their names (cached for good by the
// browser), their source maps, and index.html naming them. Reporting serves that folder at /ui
// (services/reporting/src/api/ui.controller.ts). Part of `npm run build`.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'services/reporting/ui/src/main.ts');
const outDir = join(root, 'services/reporting/dist/ui');
const assets = join(outDir, 'assets');

await rm(outDir, { recursive: true, force: true });
await mkdir(assets, { recursive: true });
const result = await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  platform: 'browser',
  minify: true,
  sourcemap: 'linked',
  outdir: assets,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const script = outputs.find((f) => f.endsWith('.js'));
const style = outputs.find((f) => f.endsWith('.css'));
if (!script || !style) throw new Error(`build-ui: esbuild wrote no ${script ? 'stylesheet' : 'script'} (outputs: ${outputs.join(', ')})`);

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nightshift</title>
<link rel="stylesheet" href="/ui/assets/${style}">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/assets/${script}"></script>
</body>
</html>
`;
await writeFile(join(outDir, 'index.html'), page);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`build-ui: ${relative(root, outDir)} (${outputs.filter((f) => !f.endsWith('.map')).join(', ')}; ${Math.round(bytes / 1024)} KiB with maps)`);
