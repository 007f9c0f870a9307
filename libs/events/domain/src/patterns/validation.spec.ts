import { describe, expect, it } from 'vitest';
import { InvalidEventPatternError } from '../errors.js';
import { compileEventPattern, matchesEventPattern, validateEventPattern } from './event-pattern.js';

function rejection(pattern: unknown): InvalidEventPatternError {
  try {
    validateEventPattern(pattern);
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

describe('InvalidEventPatternError', () => {
  it('carries AWS wording, the key path, and is never retryable', () => {
    const error = rejection({ detail: { state: [{ 'anything-but': ['stopped', null] }] } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('InvalidEventPatternError');
    expect(error.retryable).toBe(false);
    expect(error.path).toBe('detail.state');
    expect(error.awsReason).toBe('Inside anything but list, start|null|boolean is not supported.');
    expect(error.reason).toBe('Inside anything but list, start|null|boolean is not supported. (at "detail.state")');
    expect(error.message).toBe(`Event pattern is not valid. Reason: ${error.reason}`);
  });

  it('is what every entry point throws', () => {
    const pattern = { source: 'aws.ec2' };
    expect(() => compileEventPattern(pattern)).toThrow(InvalidEventPatternError);
    expect(() => matchesEventPattern(pattern, { source: 'aws.ec2' })).toThrow(InvalidEventPatternError);
  });
});

describe('pattern shape', () => {
  it.each([
    ['a string', 'source', '', 'Filter is not an object'],
    ['an array', [{ source: ['a'] }], '', 'Filter is not an object'],
    ['null', null, '', 'Filter is not an object'],
    ['an empty pattern', {}, '', 'Empty objects are not allowed'],
    ['an empty nested object', { detail: {} }, 'detail', 'Empty objects are not allowed'],
    ['a bare string leaf', { source: 'aws.ec2' }, 'source', '"source" must be an object or an array'],
    ['a bare number leaf', { detail: { count: 42 } }, 'detail.count', '"count" must be an object or an array'],
    ['a null leaf', { detail: { count: null } }, 'detail.count', '"count" must be an object or an array'],
    ['an empty value list', { resources: [] }, 'resources', 'Empty arrays are not allowed'],
    ['a nested array of values', { tags: [['a']] }, 'tags', 'Match value must be String, number, true, false, or null'],
    ['an empty match expression', { tags: [{}] }, 'tags', 'Match expression name not found'],
    ['an unknown operator', { tags: [{ contains: 'a' }] }, 'tags', 'Unrecognized match type contains'],
    ['an operator in the wrong case', { tags: [{ Prefix: 'a' }] }, 'tags', 'Unrecognized match type Prefix'],
    ['two operators in one expression', { tags: [{ prefix: 'a', suffix: 'b' }] }, 'tags', 'Only one key allowed in match expression'],
  ])('rejects %s', (_what, pattern, path, reason) => {
    const error = rejection(pattern);
    expect([error.path, error.awsReason]).toEqual([path, reason]);
    if (path !== '') expect(error.reason).toContain(`"${path}"`);
  });
});

describe('operators', () => {
  it.each([
    // string operators
    [{ f: [{ prefix: 1 }] }, 'prefix match pattern must be a string'],
    [{ f: [{ prefix: ['a'] }] }, 'prefix match pattern must be a string'],
    [{ f: [{ prefix: {} }] }, 'Prefix expression name not found'],
    [{ f: [{ prefix: { wildcard: 'a*' } }] }, 'Unsupported prefix pattern: wildcard'],
    [{ f: [{ prefix: { 'equals-ignore-case': 1 } }] }, 'equals-ignore-case match pattern must be a string'],
    [{ f: [{ suffix: null }] }, 'suffix match pattern must be a string'],
    [{ f: [{ suffix: { prefix: 'a' } }] }, 'Unsupported suffix pattern: prefix'],
    [{ f: [{ 'equals-ignore-case': ['a'] }] }, 'equals-ignore-case match pattern must be a string'],
    [{ f: [{ exactly: 5 }] }, 'exact match pattern must be a string'],
    // exists
    [{ f: [{ exists: 'true' }] }, 'exists match pattern must be either true or false.'],
    [{ f: [{ exists: true, prefix: 'a' }] }, 'Only one key allowed in match expression'],
    // numeric
    [{ f: [{ numeric: 5 }] }, 'Value of numeric must be an array.'],
    [{ f: [{ numeric: [] }] }, 'Invalid member in numeric match: ]'],
    [{ f: [{ numeric: [5, '<'] }] }, 'Invalid member in numeric match: 5'],
    [{ f: [{ numeric: ['!=', 5] }] }, 'Unrecognized numeric range operator: !='],
    [{ f: [{ numeric: ['=', '5'] }] }, 'Value of equals must be numeric'],
    [{ f: [{ numeric: ['=', 5, '<', 6] }] }, 'Too many elements in numeric expression'],
    [{ f: [{ numeric: ['<', 5, '>', 1] }] }, 'Too many elements in numeric expression'],
    [{ f: [{ numeric: ['>', 0, 5] }] }, 'Bad value in numeric range: 5'],
    [{ f: [{ numeric: ['>', 0, '>', 5] }] }, 'Bad numeric range operator: >'],
    [{ f: [{ numeric: ['>', 0, '<'] }] }, 'Value of < must be numeric'],
    [{ f: [{ numeric: ['>', 0, '<', 5, 6] }] }, 'Too many terms in numeric range expression'],
    [{ f: [{ numeric: ['>=', 5, '<=', 5] }] }, 'Bottom must be less than top'],
    [{ f: [{ numeric: ['>', 9, '<', 1] }] }, 'Bottom must be less than top'],
    [{ f: [{ numeric: ['<', 5], exists: true }] }, 'Too many elements in numeric expression'],
    // anything-but
    [{ f: [{ 'anything-but': null }] }, 'Value of anything-but must be an array or single string/number value.'],
    [{ f: [{ 'anything-but': true }] }, 'Value of anything-but must be an array or single string/number value.'],
    [{ f: [{ 'anything-but': [] }] }, 'Inside anything but list, either all values are number or string, mixed type is not supported'],
    [{ f: [{ 'anything-but': ['a', 1] }] }, 'Inside anything but list, either all values are number or string, mixed type is not supported'],
    [{ f: [{ 'anything-but': ['a', false] }] }, 'Inside anything but list, start|null|boolean is not supported.'],
    [{ f: [{ 'anything-but': {} }] }, 'Anything-But expression name not found'],
    [{ f: [{ 'anything-but': { numeric: ['>', 1] } }] }, 'Unsupported anything-but pattern: numeric'],
    [{ f: [{ 'anything-but': { prefix: '' } }] }, 'Null prefix/suffix not allowed'],
    [{ f: [{ 'anything-but': { suffix: ['a', ''] } }] }, 'Null prefix/suffix not allowed'],
    [{ f: [{ 'anything-but': { prefix: 1 } }] }, 'prefix/suffix match pattern must be a string'],
    [{ f: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'a' } } }] }, 'Value of anything-but must be an array or single string/number value.'],
    [{ f: [{ 'anything-but': { 'equals-ignore-case': 1 } }] }, 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.'],
    [{ f: [{ 'anything-but': { wildcard: ['a*', 1] } }] }, 'wildcard match pattern must be a string'],
    [{ f: [{ 'anything-but': { wildcard: 'a**' } }] }, 'Consecutive wildcard characters at pos 2'],
    [{ f: [{ 'anything-but': 'a', prefix: 'b' }] }, 'Too many elements in numeric expression'],
    [{ f: [{ 'anything-but': { prefix: 'a', suffix: 'b' } }] }, 'Too many elements in numeric expression'],
    // cidr (AWS names "prefix" for a non-string operand)
    [{ f: [{ cidr: 10 }] }, 'prefix match pattern must be a string'],
    [{ f: [{ cidr: '10.0.0.0' }] }, "Malformed CIDR, one '/' required"],
    [{ f: [{ cidr: '10.0.0.0/8/8' }] }, "Malformed CIDR, one '/' required"],
    [{ f: [{ cidr: '10.0.0.0/x' }] }, 'Malformed CIDR, mask bits must be an integer'],
    [{ f: [{ cidr: '10.0.0.0/-1' }] }, 'Malformed CIDR, mask bits must not be negative'],
    [{ f: [{ cidr: 'host.example/8' }] }, 'Nonstandard IP address: host.example'],
    [{ f: [{ cidr: '10.0.0.256/8' }] }, 'Invalid IP address: 10.0.0.256'],
    [{ f: [{ cidr: '1::2::3/64' }] }, 'Invalid IP address: 1::2::3'],
    [{ f: [{ cidr: '10.0.0.0/32' }] }, 'IPv4 mask bits must be < 32'],
    [{ f: [{ cidr: '::/128' }] }, 'IPv6 mask bits must be < 128'],
    // wildcard
    [{ f: [{ wildcard: 1 }] }, 'wildcard match pattern must be a string'],
    [{ f: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] }, 'Consecutive wildcard characters at pos 26'],
    [{ f: [{ wildcard: 'é**' }] }, 'Consecutive wildcard characters at pos 3'],
    [{ f: [{ wildcard: 'a\\b' }] }, 'Invalid escape character at pos 2'],
    [{ f: [{ wildcard: 'a\\' }] }, 'Invalid escape character at pos 2'],
  ])('rejects %j', (pattern, reason) => {
    const error = rejection(pattern);
    expect([error.path, error.awsReason]).toEqual(['f', reason]);
    expect(error.reason).toContain('"f"');
  });

  it.each([
    [{ f: [{ numeric: ['>=', -5.5, '<', 1e9] }] }],
    [{ f: [{ 'anything-but': { 'equals-ignore-case': [] } }] }],
    [{ f: [{ 'anything-but': { wildcard: '' } }] }],
    [{ f: [{ wildcard: '' }] }],
    [{ f: [{ prefix: '' }, { suffix: '' }, { 'equals-ignore-case': '' }] }],
    [{ f: [{ cidr: '0.0.0.0/0' }, { cidr: '2001:db8::/127' }] }],
    [{ f: [{ exactly: 'x' }, { exists: false }, null, true, 1.5, 'x'] }],
  ])('accepts %j', (pattern) => {
    expect(() => validateEventPattern(pattern)).not.toThrow();
  });
});

describe('$or', () => {
  it.each([
    [{ $or: { a: ['1'] } }, '$or', 'It must be an Array followed with $or.'],
    [{ $or: [{ a: ['1'] }] }, '$or', 'There must have at least 2 Objects in $or relationship.'],
    [{ detail: { $or: [{ a: ['1'] }, ['b']] } }, 'detail.$or[1]', 'Only JSON object is allowed in array of $or relationship.'],
    [{ $or: [{ a: ['1'] }, {}] }, '$or[1]', 'Empty objects are not allowed'],
    [{ $or: [{ a: ['1'] }, { prefix: ['x'] }] }, '$or[1].prefix', 'prefix is Ruler reserved fieldName which cannot be used inside $or.'],
    [{ $or: [{ a: ['1'] }, { b: { numeric: ['1'] } }] }, '$or[1].b.numeric', 'numeric is Ruler reserved fieldName which cannot be used inside $or.'],
    [{ detail: { $or: [{ a: ['1'] }, { 'c-count': [{ numeric: ['>', 'x'] }] }] } }, 'detail.$or[1].c-count', 'Value of > must be numeric'],
  ])('rejects %j', (pattern, path, reason) => {
    const error = rejection(pattern);
    expect([error.path, error.awsReason]).toEqual([path, reason]);
    expect(error.reason).toContain(JSON.stringify(path));
  });

  it('refuses patterns whose $or lists multiply beyond the safety limit', () => {
    const or = (branches: number) => ({ $or: Array.from({ length: branches }, (_, i) => ({ [`b${i}`]: ['1'] })) });
    const error = rejection({ k0: or(100), k1: or(101) });
    expect(error.path).toBe('k1.$or');
    expect(error.awsReason).toMatch(/^Rule is too complex/);
    expect(() => validateEventPattern({ k0: or(100), k1: or(100) })).not.toThrow();
  });

  it('allows reserved words as field names outside $or', () => {
    expect(() => validateEventPattern({ prefix: ['x'], detail: { numeric: ['1'] } })).not.toThrow();
  });
});

describe('wildcard complexity', () => {
  const tooComplex = 'Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character';

  it('rejects wildcards that keep too many states alive, naming the field', () => {
    const error = rejection({ detail: { arn: [{ wildcard: '*:*:*:*:*:event-bus/*' }] } });
    expect([error.path, error.awsReason]).toEqual(['detail.arn', tooComplex]);
  });

  it('weighs every wildcard of one field together, $or branches included', () => {
    const stacks = (names: string[]) => names.map((n) => ({ wildcard: `*:stack/${n}/*` }));
    expect(() => validateEventPattern({ id: stacks(['Shared', 'Monitoring', 'Api']) })).not.toThrow();
    expect(rejection({ id: stacks(['Shared', 'Monitoring', 'Api', 'Web']) }).awsReason).toBe(tooComplex);
    expect(rejection({ $or: [{ id: stacks(['Shared', 'Monitoring']) }, { id: stacks(['Api', 'Web']) }] }).awsReason).toBe(tooComplex);
  });

  it('accepts repeated literal runs after a single star', () => {
    expect(() => validateEventPattern({ f: [{ wildcard: '/Users/*/dir/dir/dir/dir/dir/doc.txt' }] })).not.toThrow();
  });
});
