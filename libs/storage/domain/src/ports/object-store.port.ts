/**
 * Stores immutable objects by key (Amazon S3 in AWS, a directory in the embedded mode).
 *
 * Semantics: `put` is atomic (a reader sees the whole old object or the whole new one, never a
 * part), and overwrites; keys are relative, `/`-separated, with no `..` segments
 * (InvalidObjectKeyError otherwise). `get` of a missing key throws ObjectNotFoundError.
 * `uriFor` gives a location DuckDB can read directly (a file path locally, `s3://bucket/key` in AWS),
 * so analytics read data where it lies instead of copying it.
 * Not in the contract: listing order beyond lexicographic by key, versioning, metadata.
 */
export interface ObjectStore {
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<ObjectInfo>;
  /** Copies a local file into the store (streamed, not read into memory). */
  putFile(key: string, localPath: string): Promise<ObjectInfo>;
  get(key: string): Promise<Uint8Array>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Keys under a prefix, lexicographic. */
  list(prefix: string): Promise<ObjectInfo[]>;
  uriFor(key: string): string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** sha256 of the content, hex (S3: the ChecksumSHA256 the adapter stored). */
  sha256: string;
}
