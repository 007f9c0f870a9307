/**
 * An EventBridge event pattern that AWS would reject (PutRule / TestEventPattern answer
 * `InvalidEventPatternException`). Retrying with the same pattern can never succeed.
 *
 * `message` keeps AWS's wording (`Event pattern is not valid. Reason: ...`) so that an emulated AWS
 * API can return it unchanged; `reason` is AWS's reason followed by the offending key path.
 */
export class InvalidEventPatternError extends Error {
  readonly retryable = false as const;
  /** AWS's reason plus the key path, e.g. `Empty arrays are not allowed (at "detail.state")`. */
  readonly reason: string;

  /**
   * @param path Key path inside the pattern document: keys joined by `.`, `$or` branches written as
   *   `$or[i]` (e.g. `detail.$or[1].c-count`); `''` for the pattern as a whole.
   * @param awsReason The reason AWS gives for this condition, without any location (for the one
   *   limit nightshift adds, too many `$or` combinations, a reason in the same style).
   */
  constructor(
    readonly path: string,
    readonly awsReason: string,
    options?: { cause?: unknown },
  ) {
    const reason = `${awsReason} (at ${path === '' ? 'the pattern root' : JSON.stringify(path)})`;
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.name = new.target.name;
    this.reason = reason;
  }
}

/**
 * An event is over EventBridge's 256 KiB: publishing it would be refused. Not retryable; the
 * producer must put what grows in the object store and reference it (claim-check).
 */
export class EventTooLargeError extends Error {
  readonly retryable = false as const;
  constructor(
    readonly detailType: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`event "${detailType}" is ${bytes} bytes, over the ${limit}-byte limit of one event: lists that grow with a run belong in the object store, referenced from the event`);
    this.name = new.target.name;
  }
}
