import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand, type CompletedPart, type S3Client } from '@aws-sdk/client-s3';
import { ObjectIntegrityError } from './errors.js';

/** What one multipart upload of a local file needs. */
export interface FileUpload {
  bucket: string;
  /** The key in the bucket (prefix included). */
  s3Key: string;
  /** The port's key, for errors. */
  key: string;
  localPath: string;
  size: number;
  partSize: number;
  /** The whole file's sha256, read before the upload: recorded as metadata, checked against what was sent. */
  sha256: string;
}

/**
 * Uploads a file in parts: CreateMultipartUpload with SHA-256 checksums, one UploadPart per
 * `partSize` bytes (each read into one buffer, so memory is one part, and a retry by the SDK resends
 * the same bytes), CompleteMultipartUpload listing every part's ETag and checksum. The object appears
 * only on completion. On any failure the upload is aborted so no parts linger, and the first error
 * is rethrown; an abort that fails too leaves the parts to the bucket's lifecycle rule
 * (AbortIncompleteMultipartUpload), the first error being what the caller must act on.
 */
export async function uploadFileInParts(client: S3Client, u: FileUpload): Promise<void> {
  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket: u.bucket, Key: u.s3Key, ChecksumAlgorithm: 'SHA256', Metadata: { sha256: u.sha256 } }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new TypeError(`CreateMultipartUpload of ${u.key} answered no UploadId`);
  try {
    const parts: CompletedPart[] = [];
    const whole = createHash('sha256');
    const file = await open(u.localPath, 'r');
    try {
      for (let offset = 0, partNumber = 1; offset < u.size; offset += u.partSize, partNumber++) {
        const part = await readExactly(file, offset, Math.min(u.partSize, u.size - offset));
        whole.update(part);
        const checksum = createHash('sha256').update(part).digest('base64');
        const out = await client.send(
          new UploadPartCommand({
            Bucket: u.bucket,
            Key: u.s3Key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: part,
            ContentLength: part.byteLength,
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256: checksum,
          }),
        );
        parts.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumSHA256: checksum });
      }
    } finally {
      await file.close();
    }
    // The metadata recorded at creation must describe what was sent.
    const sent = whole.digest('hex');
    if (sent !== u.sha256) throw new ObjectIntegrityError(u.key, u.sha256, sent, `upload of ${u.localPath} (changed while uploading)`);
    await client.send(new CompleteMultipartUploadCommand({ Bucket: u.bucket, Key: u.s3Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (e) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: u.bucket, Key: u.s3Key, UploadId: uploadId })).catch(() => undefined);
    throw e;
  }
}

/** `length` bytes at `offset`; a file that shrank meanwhile is an integrity failure, not a short part. */
async function readExactly(file: Awaited<ReturnType<typeof open>>, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) throw new RangeError(`file ended at ${offset + filled} bytes, ${length - filled} short of the size read before the upload`);
    filled += bytesRead;
  }
  return buffer;
}
