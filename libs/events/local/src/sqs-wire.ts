import { createHash } from 'node:crypto';

/** SQS's AWS JSON 1.0 protocol: what `@aws-sdk/client-sqs` sends (`X-Amz-Target: AmazonSQS.<Op>`) and parses. */
export const SQS_CONTENT_TYPE = 'application/x-amz-json-1.0';
export const SQS_TARGET_PREFIX = 'AmazonSQS.';

/** SQS's limit on one message (body plus attributes), and on a whole batch. */
export const MAX_MESSAGE_BYTES = 262_144;
export const MAX_BATCH_ENTRIES = 10;
/** The longest visibility timeout SQS accepts: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * An SQS error as the wire carries it: HTTP status, `__type`, `message`, and (for a query-compatible
 * service like SQS) the `x-amzn-query-error: <code>;<Sender|Receiver>` header, from which the SDK
 * picks its exception class (`QueueDoesNotExist` for `AWS.SimpleQueueService.NonExistentQueue`).
 */
export class SqsWireError {
  constructor(
    readonly status: number,
    /** The error's name: the SDK's exception class, or its `name` for an unmodelled code. */
    readonly code: string,
    readonly message: string,
    /** Namespaced `__type`. */
    readonly type: string,
    /** Code of the `x-amzn-query-error` header; absent for protocol-level errors. */
    readonly queryCode?: string,
  ) {}

  get senderFault(): boolean {
    return this.status < 500;
  }

  get queryErrorHeader(): string | undefined {
    return this.queryCode === undefined ? undefined : `${this.queryCode};${this.senderFault ? 'Sender' : 'Receiver'}`;
  }
}

/** An error SQS models (`com.amazonaws.sqs#<code>`); `queryCode` is its awsQueryError code where the model gives one. */
function modelled(code: string, message: string, status = 400, queryCode = code): SqsWireError {
  return new SqsWireError(status, code, message, `com.amazonaws.sqs#${code}`, queryCode);
}

/** A generic AWS error that SQS does not model (the SDK names the exception after the query code). */
function common(code: string, message: string, status = 400): SqsWireError {
  return new SqsWireError(status, code, message, `com.amazon.coral.service#${code}Exception`, code);
}

/** The errors the endpoint answers, with AWS's codes, statuses and (where known) messages. */
export const sqsErrors = {
  queueDoesNotExist: () =>
    modelled('QueueDoesNotExist', 'The specified queue does not exist.', 400, 'AWS.SimpleQueueService.NonExistentQueue'),
  receiptHandleIsInvalid: (handle: string) =>
    modelled('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`, 404),
  messageNotInflight: () =>
    modelled(
      'MessageNotInflight',
      'Message does not exist or is not available for visibility timeout change.',
      400,
      'AWS.SimpleQueueService.MessageNotInflight',
    ),
  emptyBatchRequest: (entryType: string) =>
    modelled('EmptyBatchRequest', `There should be at least one ${entryType} in the request.`, 400, 'AWS.SimpleQueueService.EmptyBatchRequest'),
  tooManyEntriesInBatchRequest: (count: number) =>
    modelled(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${count}.`,
      400,
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    ),
  batchEntryIdsNotDistinct: (id: string) =>
    modelled('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 400, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct'),
  invalidBatchEntryId: () =>
    modelled(
      'InvalidBatchEntryId',
      'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      400,
      'AWS.SimpleQueueService.InvalidBatchEntryId',
    ),
  batchRequestTooLong: (bytes: number) =>
    modelled(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${bytes} bytes.`,
      400,
      'AWS.SimpleQueueService.BatchRequestTooLong',
    ),
  invalidAttributeName: (name: string) => modelled('InvalidAttributeName', `Unknown Attribute ${name}.`),
  invalidMessageContents: (reason: string) => modelled('InvalidMessageContents', reason),
  unsupportedOperation: (operation: string) =>
    modelled(
      'UnsupportedOperation',
      `${operation} is not supported by the embedded bus's SQS endpoint (its queues are the bus configuration's).`,
      400,
      'AWS.SimpleQueueService.UnsupportedOperation',
    ),
  invalidParameterValue: (message: string) => common('InvalidParameterValue', message),
  missingParameter: (name: string) => common('MissingParameter', `The request must contain the parameter ${name}.`),
  serialization: (message: string) =>
    new SqsWireError(400, 'SerializationException', message, 'com.amazon.coral.service#SerializationException'),
  unknownOperation: (message: string) =>
    new SqsWireError(400, 'UnknownOperationException', message, 'com.amazon.coral.service#UnknownOperationException'),
  requestEntityTooLarge: (message: string) =>
    new SqsWireError(413, 'RequestEntityTooLarge', message, 'com.amazon.coral.service#RequestEntityTooLargeException'),
  serviceUnavailable: (message: string) => common('ServiceUnavailable', message, 503),
  internalFailure: (message: string) => common('InternalFailure', message, 500),
};

/** A parsed request body: a JSON object whose members are read with the typed readers below. */
export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string member; `MissingParameter` if required and absent, `SerializationException` if of another type. */
export function stringMember(body: JsonObject, name: string): string | undefined;
export function stringMember(body: JsonObject, name: string, required: true): string;
export function stringMember(body: JsonObject, name: string, required = false): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw sqsErrors.missingParameter(name);
    return undefined;
  }
  if (typeof v !== 'string') throw sqsErrors.serialization(`${name} must be a string`);
  return v;
}

/** An integer member within `[min, max]`; SQS's `InvalidParameterValue` wording outside it. */
export function intMember(body: JsonObject, name: string, min: number, max: number, required = false): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw sqsErrors.missingParameter(name);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw sqsErrors.serialization(`${name} must be an integer`);
  if (v < min || v > max) {
    throw sqsErrors.invalidParameterValue(`Value ${v} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`);
  }
  return v;
}

export function stringListMember(body: JsonObject, name: string): string[] {
  const v = body[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw sqsErrors.serialization(`${name} must be a list of strings`);
  return v as string[];
}

/** A batch's `Entries`: 1..10 objects with distinct, well-formed `Id`s (SQS's batch errors otherwise). */
export function batchEntries(body: JsonObject, entryType: string): Array<JsonObject & { Id: string }> {
  const v = body.Entries;
  if (v === undefined || v === null) throw sqsErrors.emptyBatchRequest(entryType);
  if (!Array.isArray(v) || v.some((e) => !isObject(e))) throw sqsErrors.serialization('Entries must be a list of objects');
  if (v.length === 0) throw sqsErrors.emptyBatchRequest(entryType);
  if (v.length > MAX_BATCH_ENTRIES) throw sqsErrors.tooManyEntriesInBatchRequest(v.length);
  const seen = new Set<string>();
  for (const entry of v as JsonObject[]) {
    const id = stringMember(entry, 'Id', true);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) throw sqsErrors.invalidBatchEntryId();
    if (seen.has(id)) throw sqsErrors.batchEntryIdsNotDistinct(id);
    seen.add(id);
  }
  return v as Array<JsonObject & { Id: string }>;
}

/** One SQS message attribute as the wire carries it (`BinaryValue` base64). */
export interface WireMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** `MessageAttributes` of SendMessage: at most 10, each typed String/Number/Binary (custom suffixes allowed). */
export function messageAttributesMember(body: JsonObject): Record<string, WireMessageAttribute> {
  const v = body.MessageAttributes;
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw sqsErrors.serialization('MessageAttributes must be a map');
  const names = Object.keys(v);
  if (names.length > 10) throw sqsErrors.invalidParameterValue(`Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  const out: Record<string, WireMessageAttribute> = {};
  for (const name of names) {
    const a = v[name];
    if (!isObject(a)) throw sqsErrors.serialization(`MessageAttributes.${name} must be an object`);
    const dataType = stringMember(a, 'DataType');
    if (!dataType) throw sqsErrors.invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute type.`);
    const base = dataType.split('.')[0];
    const stringValue = stringMember(a, 'StringValue');
    const binaryValue = stringMember(a, 'BinaryValue');
    const valueMissing = base === 'Binary' ? binaryValue === undefined : stringValue === undefined;
    if (!(base === 'String' || base === 'Number' || base === 'Binary') || valueMissing) {
      throw sqsErrors.invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type or lacks its value.`);
    }
    out[name] = {
      DataType: dataType,
      ...(stringValue !== undefined ? { StringValue: stringValue } : {}),
      ...(binaryValue !== undefined ? { BinaryValue: binaryValue } : {}),
    };
  }
  return out;
}

/** Bytes SQS counts for a message: body plus each attribute's name, type and value. */
export function messageBytes(body: string, attributes: Record<string, WireMessageAttribute>): number {
  let n = Buffer.byteLength(body);
  for (const [name, a] of Object.entries(attributes)) {
    n += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    n += a.BinaryValue !== undefined ? Buffer.from(a.BinaryValue, 'base64').length : Buffer.byteLength(a.StringValue ?? '');
  }
  return n;
}

/** SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a body. */
export function hasOnlyValidCharacters(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    const ok = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!ok) return false;
  }
  return true;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/**
 * `MD5OfMessageAttributes` as SQS computes it: attributes sorted by name, each as length-prefixed
 * (4-byte big-endian) name, data type and value, with a transport byte (1 string/number, 2 binary).
 */
export function md5OfMessageAttributes(attributes: Record<string, WireMessageAttribute>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    hash.update(len).update(bytes);
  };
  for (const name of names) {
    const a = attributes[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.DataType, 'utf8'));
    if (a.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(a.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(a.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}
