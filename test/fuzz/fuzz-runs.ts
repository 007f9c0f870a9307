/**
 * How many cases each property tries: a bounded run in CI (`npm test`), a long one with
 * `npm run fuzz` (NIGHTSHIFT_FUZZ_RUNS). A failure prints fast-check's seed and path to replay it.
 */
export const FUZZ_RUNS = Number(process.env['NIGHTSHIFT_FUZZ_RUNS'] ?? 60);
