/**
 * Stores immutable objects by key (Amazon S3 in AWS, a directory in the embedded mode).
 *
 * Keys: relative, `/`-separated, no empty, `.` or `..` segment (`objectKeyProblem`); every method
 * refuses another key with InvalidObjectKeyError before any I/O, in every adapter.
 *
 * Semantics: `put`/`putFile` are atomic (a reader sees the whole old object or the whole new one,
 * never a part) and overwrite (the last write wins). Every write records the content's sha256, which
 * `head` answers. `delete` is idempotent. `list` answers every key under a prefix in one array, in
 * `compareObjectKeys` order; the adapter pages through the backend itself (S3 answers 1,000
 * keys a request), so a listing is not a snapshot: a key written or deleted while it runs may or may
 * not be in it.
 *
 * Errors: ObjectNotFoundError (`get` and `localFile` of a missing key), InvalidObjectKeyError,
 * StorageUnavailableError (retryable: throttling, a server error, the network, after the client's own
 * retries) and an adapter's own non-retryable StorageError subclasses (a missing bucket, access
 * denied). Anything an adapter does not recognise is rethrown as it came.
 *
 * Not in the contract: versioning, conditional writes, content type or user metadata on read,
 * partial reads, a listing consistent with concurrent writes, cleanup of `localFile`'s scratch
 * directory (its caller's), and object URLs: DuckDB cannot read `s3://` in production (its httpfs
 * extension is downloaded at run time), so readers that need a path use `localFile`.
 */
export interface ObjectStore {
  /** Writes `body` under `key` (whole, in memory: for manifests and results, not data files). */
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<ObjectInfo>;
  /**
   * Copies a local file into the store, streamed (never whole in memory); a large file goes up in
   * parts where the backend has them (S3 multipart), still atomically.
   */
  putFile(key: string, localPath: string): Promise<ObjectInfo>;
  /** The whole object in memory; ObjectNotFoundError if there is none. */
  get(key: string): Promise<Uint8Array>;
  /** Size and sha256 of the object, or undefined if there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix` (`''` for all), in key order; pages internally. */
  list(prefix: string): Promise<ObjectSummary[]>;
  /** Removes the object; removing a missing key succeeds (idempotent). */
  delete(key: string): Promise<void>;
  /**
   * A local file holding the object's bytes, for readers that need a path (DuckDB). The directory
   * store answers its own file (no copy: the caller must neither modify nor delete it); S3 streams
   * the object to `<scratchDir>/<key>` (directories created as needed, an existing file replaced,
   * written to a temp file and renamed). The caller owns `scratchDir` and removes it when done.
   * ObjectNotFoundError if there is no object.
   */
  localFile(key: string, scratchDir: string): Promise<string>;
}

/** An entry of a listing: what the backend's listing answers without reading each object. */
export interface ObjectSummary {
  key: string;
  /** Bytes. */
  size: number;
}

export interface ObjectInfo extends ObjectSummary {
  /** sha256 of the content, hex (S3: the checksum the adapter stored with the object). */
  sha256: string;
}
