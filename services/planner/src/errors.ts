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
