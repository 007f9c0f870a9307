import type { IncomingMessage, ServerResponse } from 'node:http';
import { algorithmOfHeader, CHECKSUM_ALGORITHMS, checksumHeader, type ChecksumAlgorithm } from './checksums.js';
import type { MultipartUploads, RequestedPart } from './multipart-uploads.js';
import { requestedAlgorithm, userMetadata } from './object-operations.js';
import { receiveBody, receiveSmallBody } from './request-body.js';
import { s3Errors, sendXml, xmlDocument, xmlElements, xmlFields, xmlText } from './s3-protocol.js';

/** CreateMultipartUpload, UploadPart, CompleteMultipartUpload and AbortMultipartUpload on the wire. */
export class MultipartOperations {
  constructor(
    private readonly bucket: string,
    private readonly uploads: MultipartUploads,
  ) {}

  async create(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    await receiveSmallBody(req, 64 * 1024, false);
    const checksumAlgorithm = requestedAlgorithm(req.headers);
    const typeHeader = req.headers['x-amz-checksum-type']?.toString().toUpperCase();
    const checksumType = typeHeader === 'FULL_OBJECT' ? 'FULL_OBJECT' : 'COMPOSITE';
    if (typeHeader !== undefined && typeHeader !== 'FULL_OBJECT' && typeHeader !== 'COMPOSITE') {
      throw s3Errors.invalidArgument('Value for x-amz-checksum-type header is invalid.', 'x-amz-checksum-type', typeHeader);
    }
    if (checksumType === 'FULL_OBJECT' && !checksumAlgorithm?.startsWith('CRC')) {
      throw s3Errors.invalidRequest('The FULL_OBJECT checksum type cannot be used with the checksum algorithm given.');
    }
    const uploadId = await this.uploads.create(key, {
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
      metadata: userMetadata(req.headers),
      ...(checksumAlgorithm ? { checksumAlgorithm } : {}),
      checksumType,
    });
    sendXml(
      res,
      200,
      xmlDocument('InitiateMultipartUploadResult', xmlFields({ Bucket: this.bucket, Key: key, UploadId: uploadId })),
      checksumAlgorithm ? { 'x-amz-checksum-algorithm': checksumAlgorithm, 'x-amz-checksum-type': checksumType } : {},
    );
  }

  async uploadPart(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    if (req.headers['x-amz-copy-source'] !== undefined) throw s3Errors.notImplemented('UploadPartCopy');
    const partText = query.get('partNumber') ?? '';
    const partNumber = /^\d+$/.test(partText) ? Number(partText) : NaN;
    const { etag, checksums } = await this.uploads.putPart(query.get('uploadId') ?? '', key, partNumber, (sink, extra) => receiveBody(req, sink, extra));
    const headers: Record<string, string> = { etag };
    for (const [algorithm, value] of Object.entries(checksums)) headers[checksumHeader(algorithm as ChecksumAlgorithm)] = value;
    res.writeHead(200, headers);
    res.end();
  }

  async complete(req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    const uploadId = query.get('uploadId') ?? '';
    // 10,000 parts of ~300 bytes of XML each.
    const xml = (await receiveSmallBody(req, 4 * 1024 * 1024, false)).toString('utf8');
    const parts: RequestedPart[] = xmlElements(xml, 'Part').map((p) => {
      const partNumber = Number(xmlText(p, 'PartNumber'));
      const etag = xmlText(p, 'ETag');
      if (!Number.isInteger(partNumber) || etag === undefined) throw s3Errors.malformedXml();
      const checksums: RequestedPart['checksums'] = {};
      for (const algorithm of CHECKSUM_ALGORITHMS) {
        const value = xmlText(p, `Checksum${algorithm}`);
        if (value !== undefined) checksums[algorithm] = value;
      }
      return { partNumber, etag, checksums };
    });
    const objectChecksum = Object.entries(req.headers)
      .map(([name, value]) => ({ algorithm: algorithmOfHeader(name), value: String(value) }))
      .find((c): c is { algorithm: ChecksumAlgorithm; value: string } => c.algorithm !== undefined);
    const meta = await this.uploads.complete(uploadId, key, parts, objectChecksum);
    const checksumFields = meta.checksum ? { [`Checksum${meta.checksum.algorithm}`]: meta.checksum.value, ChecksumType: meta.checksum.type } : {};
    sendXml(
      res,
      200,
      xmlDocument('CompleteMultipartUploadResult', xmlFields({ Location: `/${this.bucket}/${key}`, Bucket: this.bucket, Key: key, ETag: meta.etag, ...checksumFields })),
    );
  }

  async abort(res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
    await this.uploads.abort(query.get('uploadId') ?? '', key);
    res.writeHead(204);
    res.end();
  }
}
