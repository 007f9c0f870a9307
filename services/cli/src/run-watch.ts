import { setTimeout as sleep } from 'node:timers/promises';
import type { RunDetail } from '@nightshift/api-contract';
import { RunFailedError } from './errors.js';
import { formatDuration } from './format.js';
import type { PlatformContext } from './platform-options.js';
import { getRun } from './run-reads.js';
import { isTerminal, stepsOf, watchBlock, watchLine } from './run-view.js';

/** ANSI: cursor to the start of the line `n` lines up, then erase to the end of the screen. */
const up = (n: number): string => (n > 0 ? `\x1b[${n}F\x1b[J` : '');

/**
 * `runs watch`: polls the run every `intervalMs` until it is SUCCEEDED or FAILED. A terminal gets
 * a progress bar per step redrawn in place; anything else a plain line per change (status,
 * progress or what a step waits for), so a log holds the run's history. `--json` prints only the
 * final run, as the API gave it. Resolves when the run succeeded; @throws RunFailedError when it failed.
 */
export async function watchRun(ctx: PlatformContext, runId: string, intervalMs: number): Promise<RunDetail> {
  const tty = ctx.io.stdout.isTTY === true && !ctx.json;
  let drawn = 0;
  let last = '';
  for (;;) {
    // One task record is enough: progress counts every task, and the steps carry what they wait for.
    const { data: run, json } = await getRun(ctx.api, runId, 1);
    const state = JSON.stringify([run.status, run.progress, stepsOf(run).map((s) => s.job?.waitingReason)]);
    if (ctx.json) {
      if (isTerminal(run.status)) ctx.print(JSON.stringify(json, null, 2));
    } else if (tty) {
      const block = watchBlock(run, ctx.io.stdout.columns);
      ctx.io.stdout.write(`${up(drawn)}${block.join('\n')}\n`);
      drawn = block.length;
    } else if (state !== last) {
      ctx.print(watchLine(run, new Date()));
    }
    last = state;
    if (isTerminal(run.status)) {
      if (run.status === 'FAILED') throw new RunFailedError(run.runId, run.reason);
      if (!ctx.json) ctx.print(`run ${run.runId} SUCCEEDED${run.durationMs !== undefined ? ` in ${formatDuration(run.durationMs)}` : ''}`);
      return run;
    }
    await sleep(intervalMs);
  }
}
