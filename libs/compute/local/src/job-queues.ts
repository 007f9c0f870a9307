/**
 * The job queues that share the local compute environment, configured as AWS Batch job queues and
 * scheduling policies are (https://docs.aws.amazon.com/batch/latest/userguide/job_queue_parameters.html,
 * https://docs.aws.amazon.com/batch/latest/userguide/fair-share-scheduling.html).
 */

/** A job queue on the local compute environment. */
export interface JobQueueOptions {
  /** 1-128 letters, digits, `-` and `_`, as an AWS Batch job queue name. */
  name: string;
  /** Queues with a higher integer are placed first (AWS's job queue priority); >= 0. */
  priority: number;
  /** Makes this a fair-share queue (AWS's scheduling policy): every job must then carry a `shareIdentifier`. */
  fairShare?: FairShareOptions;
}

/** AWS Batch's `FairsharePolicy`. */
export interface FairShareOptions {
  /**
   * 0..604800. Accepted for parity with AWS; the local scheduler always measures current usage
   * only, which is what AWS does with 0. Usage decay over time is not modelled.
   */
  shareDecaySeconds?: number;
  /**
   * 0..99: keeps `(computeReservation/100)^activeShares` of the environment's vCPUs away from the
   * queue's active shares, for shares that are not active yet. Default 0.
   */
  computeReservation?: number;
  /**
   * Weight per share identifier (AWS's `shareDistribution`); a key ending in `*` covers every
   * identifier with that prefix (the longest matching prefix wins, an exact key beats any prefix).
   * weightFactor 0.0001..999.9999, default 1; a lower weight is a larger share: 0.5 gets about twice
   * the vCPUs of 1.
   */
  shares?: Record<string, { weightFactor: number }>;
}

/** AWS Batch names: 1-128 letters, digits, hyphens and underscores, starting with a letter or digit. */
export const NAME = '[A-Za-z0-9][A-Za-z0-9_-]{0,127}';
const NAME_RE = new RegExp(`^${NAME}$`);
/** A share identifier: up to 255 letters and digits (SubmitJob's `shareIdentifier`). */
export const SHARE_IDENTIFIER_RE = /^[A-Za-z0-9]{1,255}$/;
const SHARE_KEY_RE = /^[A-Za-z0-9]{0,255}\*?$/;

/** Every problem with the configured queues; empty when they are valid. */
export function jobQueueProblems(queues: readonly JobQueueOptions[] | undefined): string[] {
  if (queues === undefined) return [];
  if (!Array.isArray(queues)) return ['jobQueues must be an array'];
  const problems: string[] = [];
  const seen = new Set<string>();
  queues.forEach((queue, i) => {
    const at = `jobQueues[${i}]`;
    if (typeof queue?.name !== 'string' || !NAME_RE.test(queue.name)) problems.push(`${at}.name ${JSON.stringify(queue?.name)} is not a job queue name`);
    else if (seen.has(queue.name)) problems.push(`${at}.name "${queue.name}" is configured twice`);
    else seen.add(queue.name);
    if (!(Number.isInteger(queue?.priority) && queue.priority >= 0)) problems.push(`${at}.priority must be an integer >= 0, got ${queue?.priority}`);
    const fairShare = queue?.fairShare;
    if (fairShare === undefined) return;
    const decay = fairShare.shareDecaySeconds;
    if (decay !== undefined && !(Number.isInteger(decay) && decay >= 0 && decay <= 604_800)) {
      problems.push(`${at}.fairShare.shareDecaySeconds must be an integer in 0..604800, got ${decay}`);
    }
    const reservation = fairShare.computeReservation;
    if (reservation !== undefined && !(Number.isInteger(reservation) && reservation >= 0 && reservation <= 99)) {
      problems.push(`${at}.fairShare.computeReservation must be an integer in 0..99, got ${reservation}`);
    }
    for (const [key, share] of Object.entries(fairShare.shares ?? {}) as [string, { weightFactor?: unknown } | undefined][]) {
      if (!SHARE_KEY_RE.test(key) || key === '') problems.push(`${at}.fairShare.shares key "${key}" must be up to 255 letters or digits, optionally ending in *`);
      const weight = share?.weightFactor;
      if (!(typeof weight === 'number' && weight >= 0.0001 && weight <= 999.9999)) {
        problems.push(`${at}.fairShare.shares["${key}"].weightFactor must be in 0.0001..999.9999, got ${weight}`);
      }
    }
  });
  return problems;
}

/** The weight factor of `share` under `fairShare`: an exact key, else the longest matching `prefix*` key, else 1. */
export function weightFactorOf(fairShare: FairShareOptions, share: string): number {
  const shares: Record<string, { weightFactor: number }> = fairShare.shares ?? {};
  if (Object.hasOwn(shares, share)) return shares[share].weightFactor;
  let best: { length: number; weight: number } | undefined;
  for (const [key, value] of Object.entries(shares)) {
    if (!key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (share.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = { length: prefix.length, weight: value.weightFactor };
  }
  return best?.weight ?? 1;
}
