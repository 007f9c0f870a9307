import { Transform, type TransformCallback } from 'node:stream';
import { s3Errors } from './s3-protocol.js';

/** A size line or trailer line longer than this is not aws-chunked (a signature extension is ~90 bytes). */
const MAX_LINE = 4096;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Decodes an `aws-chunked` body (what the SDK sends for a stream with a trailing checksum, and what
 * SigV4 streaming signing sends), passing the payload through and keeping the trailers:
 *
 *     <hex size>[;chunk-signature=...]\r\n <size bytes>\r\n  ...  0[;...]\r\n [name:value\r\n ...] \r\n
 *
 * The HTTP layer has already undone `Transfer-Encoding: chunked`; this is the second framing inside
 * it, and chunk boundaries fall anywhere in the TCP reads, so it is a byte-level state machine rather
 * than a split on CRLF. Chunk signatures are not checked (the endpoint does not authenticate). The
 * SDK ends a body without a checksum at `0\r\n`, without the closing empty line: accepted.
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailing headers, lower-cased names (`x-amz-checksum-crc32` -> value). Complete once the stream ends. */
  readonly trailers = new Map<string, string>();
  /** Payload bytes passed through. */
  decodedBytes = 0;
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private line: Buffer[] = [];
  private lineLength = 0;
  private lastLineComplete = false;
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state === 'trailer' && this.lineLength > 0) this.trailerLine(this.takeLine());
    if (this.state === 'trailer' || this.state === 'done') done();
    else done(s3Errors.incompleteBody('The aws-chunked body ended inside a chunk.'));
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, buf.length - pos);
          this.push(buf.subarray(pos, pos + n));
          this.decodedBytes += n;
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'data-end';
          break;
        }
        case 'data-end': {
          // The CRLF after a chunk's data, possibly split over two reads.
          pos = this.collectLine(buf, pos);
          if (this.lastLineComplete) {
            if (this.takeLine().length !== 0) throw malformed('chunk data longer than its size');
            this.state = 'size';
          }
          break;
        }
        case 'size':
          pos = this.collectLine(buf, pos);
          if (this.lastLineComplete) this.sizeLine(this.takeLine());
          break;
        case 'trailer':
          pos = this.collectLine(buf, pos);
          if (this.lastLineComplete) this.trailerLine(this.takeLine());
          break;
        case 'done':
          // Nothing may follow the closing empty line but more line ends.
          if (buf[pos] !== CR && buf[pos] !== LF) throw malformed('data after the final chunk');
          pos++;
          break;
      }
    }
  }

  /** Appends bytes up to and including the next LF to the current line; returns where it stopped. */
  private collectLine(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    const end = lf === -1 ? buf.length : lf + 1;
    this.line.push(buf.subarray(pos, end));
    this.lineLength += end - pos;
    if (this.lineLength > MAX_LINE) throw malformed('a line longer than any chunk header');
    this.lastLineComplete = lf !== -1;
    return end;
  }

  /** The collected line without its CRLF. */
  private takeLine(): string {
    let text = Buffer.concat(this.line, this.lineLength);
    this.line = [];
    this.lineLength = 0;
    this.lastLineComplete = false;
    if (text[text.length - 1] === LF) text = text.subarray(0, -1);
    if (text[text.length - 1] === CR) text = text.subarray(0, -1);
    return text.toString('latin1');
  }

  private sizeLine(line: string): void {
    const hex = line.split(';', 1)[0]!.trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) throw malformed(`chunk size ${JSON.stringify(hex.slice(0, 20))}`);
    const size = parseInt(hex, 16);
    if (!Number.isSafeInteger(size)) throw malformed('chunk size too large');
    if (size === 0) {
      this.state = 'trailer';
    } else {
      this.remaining = size;
      this.state = 'data';
    }
  }

  private trailerLine(line: string): void {
    if (line === '') {
      this.state = 'done';
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`trailer ${JSON.stringify(line.slice(0, 40))}`);
    this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
}

function malformed(what: string): Error {
  return s3Errors.invalidRequest(`Malformed aws-chunked body: ${what}.`);
}
