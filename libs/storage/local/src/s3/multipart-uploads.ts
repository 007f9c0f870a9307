import { createHash, randomUUID } from 'node:crypto';
import { constants, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { removeFileDir, withDir, type OpenDir } from '../no-follow.js';
import { isMissing, RESERVED_DIR } from '../object-paths.js';
import { DigestingStream, digestOf, type ChecksumAlgorithm } from './checksums.js';
import type { ObjectMeta, S3ObjectFiles, StoredChecksum } from './object-files.js';
import type { ReceivedBody } from './request-body.js';
import { s3Errors } from './s3-protocol.js';

/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

/** What CreateMultipartUpload fixed for the object the upload will make. */
export interface UploadRecord {
  key: string;
  contentType?: string;
  metadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType: 'COMPOSITE' | 'FULL_OBJECT';
  initiated: string;
}

/** One uploaded part: its file in the upload's directory and its digests. */
interface PartRecord {
  file: string;
  etag: string;
  size: number;
  /** Hex MD5 of the part (the multipart ETag is the MD5 of these). */
  md5: string;
  /** Base64 checksums of the part: the upload's algorithm and any the client sent. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/** A part as CompleteMultipartUpload lists it. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * Multipart uploads staged under the root's reserved directory (`.nightshift/s3/uploads/<id>/`),
 * out of every listing, reached without following a symbolic link (no-follow.ts). A part's bytes and its record are written to fresh names and switched by
 * renaming the record, so a re-sent part replaces the old one whole. Completing concatenates the
 * parts into a temp file and commits it like a PutObject: the object appears at once or not at all.
 * Uploads never completed nor aborted stay until the root is cleared (S3 has a lifecycle rule for that).
 */
export class MultipartUploads {
  constructor(private readonly files: S3ObjectFiles) {}

  async create(key: string, options: Omit<UploadRecord, 'key' | 'initiated'>): Promise<string> {
    this.files.pathOf(key);
    const uploadId = randomUUID().replace(/-/g, '');
    const record: UploadRecord = { ...options, key, initiated: new Date().toISOString() };
    await withDir(this.files.root, this.dirOf(uploadId), true, (dir) => writeNew(dir, 'upload.json', JSON.stringify(record)));
    return uploadId;
  }

  /** The upload's record; NoSuchUpload if there is none for this key (completed, aborted, never made). */
  async get(uploadId: string, key: string): Promise<UploadRecord> {
    let record: UploadRecord;
    try {
      record = JSON.parse((await withDir(this.files.root, this.dirOf(uploadId), false, (dir) => dir.readFile('upload.json'))).toString('utf8')) as UploadRecord;
    } catch (e) {
      if (isMissing(e)) throw s3Errors.noSuchUpload(uploadId);
      throw e;
    }
    if (record.key !== key) throw s3Errors.noSuchUpload(uploadId);
    return record;
  }

  /** Receives one part through `receive` (which streams the request body into the given sink). */
  async putPart(uploadId: string, key: string, partNumber: number, receive: (sink: WriteStream, extra: ChecksumAlgorithm[]) => Promise<ReceivedBody>): Promise<{ etag: string; checksums: PartRecord['checksums'] }> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw s3Errors.invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, 'partNumber', String(partNumber));
    }
    const upload = await this.get(uploadId, key);
    const staged = await this.files.stage();
    try {
      const body = await receive(staged.stream(), upload.checksumAlgorithm ? [upload.checksumAlgorithm] : []);
      const checksums: PartRecord['checksums'] = Object.fromEntries(body.declared);
      if (upload.checksumAlgorithm) checksums[upload.checksumAlgorithm] = body.digest(upload.checksumAlgorithm).toString('base64');
      const md5 = body.digest('MD5').toString('hex');
      const part: PartRecord = { file: `part-${partNumber}.${randomUUID()}`, etag: `"${md5}"`, size: body.size, md5, checksums };
      await withDir(this.files.root, this.dirOf(uploadId), false, async (dir) => {
        const previous = await this.part(dir, partNumber);
        await rename(staged.path, dir.at(part.file));
        const recordTmp = `part-${partNumber}.json.${randomUUID()}`;
        await writeNew(dir, recordTmp, JSON.stringify(part));
        await rename(dir.at(recordTmp), dir.at(`part-${partNumber}.json`));
        if (previous) await rm(dir.at(previous.file), { force: true });
      });
      await staged.release();
      return { etag: part.etag, checksums };
    } catch (e) {
      await staged.discard();
      // The upload was aborted or completed while this part arrived.
      if (isMissing(e)) throw s3Errors.noSuchUpload(uploadId);
      throw e;
    }
  }

  /**
   * Assembles the listed parts (ascending numbers, matching ETags and checksums, all but the last
   * at least 5 MiB) into the object and removes the upload. `objectChecksum` is a whole-object
   * checksum the client sent with the request, checked against the assembled object's.
   */
  async complete(uploadId: string, key: string, requested: readonly RequestedPart[], objectChecksum?: { algorithm: ChecksumAlgorithm; value: string }): Promise<ObjectMeta> {
    const upload = await this.get(uploadId, key);
    if (requested.length === 0) throw s3Errors.malformedXml();
    return withDir(this.files.root, this.dirOf(uploadId), false, (dir) => this.assemble(dir, uploadId, upload, requested, objectChecksum));
  }

  private async assemble(dir: OpenDir, uploadId: string, upload: UploadRecord, requested: readonly RequestedPart[], objectChecksum?: { algorithm: ChecksumAlgorithm; value: string }): Promise<ObjectMeta> {
    const parts: PartRecord[] = [];
    for (const [i, r] of requested.entries()) {
      if (i > 0 && r.partNumber <= requested[i - 1]!.partNumber) throw s3Errors.invalidPartOrder();
      const part = await this.part(dir, r.partNumber);
      if (!part || unquote(part.etag) !== unquote(r.etag)) throw s3Errors.invalidPart(`Part ${r.partNumber} was not uploaded with ETag ${r.etag}.`);
      for (const [algorithm, value] of Object.entries(r.checksums)) {
        if (part.checksums[algorithm as ChecksumAlgorithm] !== value) throw s3Errors.invalidPart(`Part ${r.partNumber}'s ${algorithm} checksum does not match the uploaded part.`);
      }
      parts.push(part);
    }
    if (parts.slice(0, -1).some((p) => p.size < MIN_PART_SIZE)) throw s3Errors.entityTooSmall();

    const algorithm = upload.checksumAlgorithm;
    const digesting = new DigestingStream(algorithm && upload.checksumType === 'FULL_OBJECT' ? [algorithm] : []);
    const staged = await this.files.stage();
    try {
      await pipeline(
        async function* () {
          for (const p of parts) {
            const file = await dir.openFile(p.file, constants.O_RDONLY);
            try {
              yield* file.createReadStream({ autoClose: false });
            } finally {
              await file.close();
            }
          }
        },
        digesting,
        staged.stream(),
      );
      let checksum: StoredChecksum | undefined;
      if (algorithm) {
        checksum =
          upload.checksumType === 'FULL_OBJECT'
            ? { algorithm, type: 'FULL_OBJECT', value: digesting.digest(algorithm).toString('base64') }
            : { algorithm, type: 'COMPOSITE', value: `${compositeOf(algorithm, parts)}-${parts.length}` };
      }
      if (objectChecksum && (!checksum || objectChecksum.algorithm !== checksum.algorithm || checksum.value.split('-')[0] !== objectChecksum.value.split('-')[0])) {
        throw s3Errors.badDigest(objectChecksum.algorithm);
      }
      const etag = `"${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.md5, 'hex')))).digest('hex')}-${parts.length}"`;
      const meta = await this.files.commit(upload.key, staged, {
        etag,
        sha256: digesting.digest('SHA256').toString('hex'),
        ...(upload.contentType ? { contentType: upload.contentType } : {}),
        metadata: upload.metadata,
        ...(checksum ? { checksum } : {}),
        partsCount: parts.length,
      });
      await removeFileDir(this.files.root, this.dirOf(uploadId));
      return meta;
    } catch (e) {
      await staged.discard();
      throw e;
    }
  }

  async abort(uploadId: string, key: string): Promise<void> {
    await this.get(uploadId, key);
    await removeFileDir(this.files.root, this.dirOf(uploadId));
  }

  /** The upload's directory under the root. Upload ids are ours (hex): anything else names no upload, and never a path outside the staging dir. */
  private dirOf(uploadId: string): string[] {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw s3Errors.noSuchUpload(uploadId);
    return [RESERVED_DIR, 's3', 'uploads', uploadId];
  }

  private async part(dir: OpenDir, partNumber: number): Promise<PartRecord | undefined> {
    try {
      return JSON.parse((await dir.readFile(`part-${partNumber}.json`)).toString('utf8')) as PartRecord;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }
}

/** S3's checksum of a multipart object: the algorithm over the parts' raw checksums, concatenated. */
function compositeOf(algorithm: ChecksumAlgorithm, parts: readonly PartRecord[]): string {
  return digestOf(algorithm, Buffer.concat(parts.map((p) => Buffer.from(p.checksums[algorithm] ?? '', 'base64')))).toString('base64');
}

/** Writes a new file `name` in `dir` (never through a link, never over an existing file). */
async function writeNew(dir: OpenDir, name: string, content: string): Promise<void> {
  const file = await dir.openFile(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
  try {
    await file.writeFile(content);
  } finally {
    await file.close();
  }
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}
