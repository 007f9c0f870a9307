/**
 * Some pipelines a registered dataset triggers could not be started (the others were). Retryable
 * when any cause is: a redelivery starts the missing runs, and the started ones are found, not
 * started twice (run ids derive from the trigger).
 */
export class PipelinesNotStartedError extends Error {
  readonly retryable: boolean;
  constructor(readonly datasetId: string, readonly failures: ReadonlyArray<{ pipeline: string; error: unknown }>) {
    super(`dataset ${datasetId}: ${failures.map((f) => `pipeline ${f.pipeline} not started: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ')}`, {
      cause: failures[0]?.error,
    });
    this.name = 'PipelinesNotStartedError';
    this.retryable = failures.some((f) => (f.error as { retryable?: unknown } | null)?.retryable !== false);
  }
}

/**
 * Advancing a backfill kept losing the race for its record to other advances (each write is
 * conditioned on the record's version). Retryable: a redelivery reads the record again, and the
 * winners have moved the backfill on meanwhile.
 */
export class BackfillContentionError extends Error {
  readonly retryable = true;
  constructor(
    readonly backfillId: string,
    readonly attempts: number,
  ) {
    super(`backfill ${backfillId}: ${attempts} writes in a row lost to concurrent advances`);
    this.name = 'BackfillContentionError';
  }
}
