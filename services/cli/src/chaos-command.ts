import { intFlag, optional, parseFlags } from './args.js';
import { writeDocsBlockIfAsked } from './docs-block.js';
import { assertChaosChecks, type ChaosResult, DEFAULT_CHAOS_OPTIONS, formatChaosMarkdown, runChaos } from './chaos.js';
import type { Command } from './command.js';

/** `nightshift chaos` (`npm run chaos`): the platform's crash recovery under kill -9, checked. */
export const chaosCommand: Command<ChaosResult> = {
  name: 'chaos',
  summary: 'run a backtest sweep twice, once with the host and workers killed -9 at random points, and check nothing was lost or doubled',
  usage: `nightshift chaos [--tasks 1000] [--host-kills 20] [--worker-kills 10] [--seed 1] [--vcpus 2] [--tmp-dir DIR] [--keep-homes] [--docs FILE]

  Runs a backtest sweep of --tasks parameter sets on the embedded platform (a host process this
  command forks, on a home of its own), once undisturbed and once with the host killed -9
  --host-kills times at random points (one in five while the restarted host is still starting),
  restarted on the same home each time, and --worker-kills worker processes killed -9 in between.
  The seed fixes when and what is killed. Then checks: one run, 0 tasks lost, 0 results committed
  twice, exactly one Run Succeeded and one Report Published, the report equal to the undisturbed
  run's, and no process of a killed host left alive.

  Prints the kills and the checks as JSON; progress goes to stderr. --docs FILE rewrites the
  generated block of FILE (docs/reliability.md) with them. Exits 1 if a check failed.`,
  async run(argv, io) {
    const values = parseFlags(argv, {
      tasks: { type: 'string' },
      'host-kills': { type: 'string' },
      'worker-kills': { type: 'string' },
      seed: { type: 'string' },
      vcpus: { type: 'string' },
      'tmp-dir': { type: 'string' },
      'keep-homes': { type: 'boolean' },
      docs: { type: 'string' },
    });
    if (values['help']) return null;
    const tmpDir = optional(values, 'tmp-dir');
    const result = await runChaos({
      tasks: intFlag(values, 'tasks', 1) ?? DEFAULT_CHAOS_OPTIONS.tasks,
      hostKills: intFlag(values, 'host-kills', 0) ?? DEFAULT_CHAOS_OPTIONS.hostKills,
      workerKills: intFlag(values, 'worker-kills', 0) ?? DEFAULT_CHAOS_OPTIONS.workerKills,
      seed: intFlag(values, 'seed', 0) ?? DEFAULT_CHAOS_OPTIONS.seed,
      vcpus: intFlag(values, 'vcpus', 1) ?? DEFAULT_CHAOS_OPTIONS.vcpus,
      ...(tmpDir ? { tmpDir } : {}),
      keepHomes: values['keep-homes'] === true,
      log: (line) => io.stderr.write(`chaos: ${line}\n`),
    });
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    for (const c of result.checks) io.stderr.write(`chaos: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
    await writeDocsBlockIfAsked(optional(values, 'docs'), formatChaosMarkdown(result), (line) => io.stderr.write(`chaos: ${line}\n`), 'chaos', 'chaos');
    assertChaosChecks(result);
    return undefined;
  },
};
