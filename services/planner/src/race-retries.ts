import { StaleStateError } from '@nightshift/jobs-domain';

/** How often a conditional write that lost a race is retried after re-reading. */
export const MAX_RACE_RETRIES = 8;

/**
 * A conditional write of a record from its latest state: `write` is given `current` and, each time
 * its write loses a race (StaleStateError), the record read again by `reread`, at most
 * {@link MAX_RACE_RETRIES} times. `write` resolves false to leave the record as it is. Resolves true
 * once a write went through; false when `write` left it, the record is gone, or every try lost.
 */
export async function writeLatest<T>(current: T | undefined, reread: () => Promise<T | undefined>, write: (current: T) => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < MAX_RACE_RETRIES && current; i++) {
    try {
      return await write(current);
    } catch (e) {
      if (!(e instanceof StaleStateError)) throw e;
      current = await reread();
    }
  }
  return false;
}
