import { describe, expect, it } from 'vitest';
import { compileEventPattern, matchesEventPattern, type EventPattern } from './event-pattern.js';

/** Compiles `pattern` and runs it on each event, so one expectation reads as a truth table. */
function outcomes(pattern: EventPattern, events: readonly unknown[]): boolean[] {
  const matches = compileEventPattern(pattern);
  return events.map((event) => matches(event));
}

describe('exact values', () => {
  it('matches strings exactly, case and whitespace included', () => {
    expect(outcomes({ source: ['orders', 'billing'] }, [{ source: 'orders' }, { source: 'billing' }, { source: 'Orders' }, { source: 'orders ' }])).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('keeps JSON types apart: null, booleans and numbers never equal their string spellings', () => {
    const pattern = { v: [null, true, 5] };
    expect(outcomes(pattern, [{ v: null }, { v: true }, { v: 5 }, { v: 'null' }, { v: 'true' }, { v: '5' }, { v: false }])).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('compares numbers numerically', () => {
    expect(outcomes({ n: [300] }, [{ n: 300.0 }, { n: 3e2 }, { n: 300.5 }])).toEqual([true, true, false]);
  });

  it('matches the empty string only when asked for it', () => {
    expect(outcomes({ name: [''] }, [{ name: '' }, { name: ' ' }, { name: null }, {}])).toEqual([true, false, false, false]);
  });

  it('treats a pattern string that is an IP address as that address in any spelling', () => {
    expect(outcomes({ ip: ['2001:db8::1'] }, [{ ip: '2001:0DB8:0:0:0:0:0:1' }, { ip: '2001:db8::1' }, { ip: '2001:db8::2' }])).toEqual([true, true, false]);
    expect(outcomes({ ip: ['10.0.0.1'] }, [{ ip: '10.0.0.1' }, { ip: '::ffff:a00:1' }, { ip: '10.0.0.10' }])).toEqual([true, true, false]);
  });
});

describe('structure', () => {
  it('ANDs fields and ORs the values listed for one field', () => {
    const pattern = { source: ['a', 'b'], 'detail-type': ['x'] };
    expect(outcomes(pattern, [{ source: 'b', 'detail-type': 'x' }, { source: 'b', 'detail-type': 'y' }, { source: 'c', 'detail-type': 'x' }])).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('recurses into nested objects and never matches a missing field', () => {
    const pattern = { detail: { order: { status: ['filled'] } } };
    expect(
      outcomes(pattern, [
        { detail: { order: { status: 'filled', qty: 5 } } },
        { detail: { order: {} } },
        { detail: { order: 'filled' } },
        { detail: { order: { status: { code: 'filled' } } } },
        {},
      ]),
    ).toEqual([true, false, false, false, false]);
  });

  it('joins keys with dots on both sides, as EventBridge does', () => {
    expect(outcomes({ detail: { 'state.status': ['running'] } }, [{ detail: { state: { status: 'running' } } }, { detail: { 'state.status': 'running' } }])).toEqual([
      true,
      true,
    ]);
    expect(outcomes({ detail: { state: { status: ['running'] } } }, [{ detail: { 'state.status': 'running' } }])).toEqual([true]);
  });

  it('keeps the last of two spellings of the same field, as AWS does', () => {
    const matches = compileEventPattern({ a: { b: ['first'] }, 'a.b': ['second'] });
    expect([matches({ a: { b: 'first' } }), matches({ a: { b: 'second' } })]).toEqual([false, true]);
  });

  it('matches field names case-sensitively', () => {
    expect(outcomes({ Source: ['a'] }, [{ source: 'a' }, { Source: 'a' }])).toEqual([false, true]);
  });

  it('reads the event as JSON: toJSON is honoured and undefined members are absent', () => {
    const when = new Date('2024-03-01T02:00:00Z');
    expect(outcomes({ time: [{ prefix: '2024-03-01' }] }, [{ time: when }])).toEqual([true]);
    expect(outcomes({ gone: [{ exists: false }] }, [{ gone: undefined }, { gone: null }])).toEqual([true, false]);
  });

  it('matches nothing but absences against an event that is not an object', () => {
    expect(outcomes({ a: ['x'] }, [null, 'a', ['x'], 42])).toEqual([false, false, false, false]);
    expect(outcomes({ a: [{ exists: false }] }, [null, ['x']])).toEqual([true, true]);
  });
});

describe('arrays in the event', () => {
  it('matches an array field when any element matches', () => {
    const pattern = { resources: ['arn:b', 'arn:z'] };
    expect(outcomes(pattern, [{ resources: ['arn:a', 'arn:b'] }, { resources: ['arn:a'] }, { resources: 'arn:b' }])).toEqual([true, false, true]);
  });

  it('looks through nested arrays and ignores empty ones', () => {
    expect(outcomes({ tags: ['x'] }, [{ tags: [['a'], ['b', 'x']] }, { tags: [] }, { tags: [[]] }])).toEqual([true, false, false]);
  });

  it('matches fields inside arrays of objects', () => {
    const event = { detail: { fills: [{ venue: 'XNYS' }, { venue: 'XLON', qty: 10 }] } };
    expect(outcomes({ detail: { fills: { venue: ['XLON'] } } }, [event])).toEqual([true]);
  });

  it('takes all fields of one rule from the same array element', () => {
    const event = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };
    expect(outcomes({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, [event])).toEqual([true]);
    expect(outcomes({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, [event])).toEqual([false]);
  });

  it('still combines values from different arrays freely', () => {
    const event = { buys: [{ sym: 'AAPL' }, { sym: 'MSFT' }], sells: [{ sym: 'IBM' }] };
    expect(outcomes({ buys: { sym: ['MSFT'] }, sells: { sym: ['IBM'] } }, [event])).toEqual([true]);
  });

  it('decides exists:false against the array element already chosen', () => {
    const event = { orders: [{ id: 'a', cancelled: true }, { id: 'b' }] };
    // "cancelled" sorts before "id", so the absence is decided first, over the whole array.
    expect(outcomes({ orders: { id: ['b'], cancelled: [{ exists: false }] } }, [event])).toEqual([false]);
    // "note" sorts after "id": only the element holding id "b" is considered.
    expect(outcomes({ orders: { id: ['b'], note: [{ exists: false }] } }, [{ orders: [{ id: 'a' }, { id: 'b', note: 'x' }] }])).toEqual([false]);
    expect(outcomes({ orders: { id: ['a'], note: [{ exists: false }] } }, [{ orders: [{ id: 'a' }, { id: 'b', note: 'x' }] }])).toEqual([true]);
  });
});

describe('prefix and suffix', () => {
  it('match the start or end of string values only', () => {
    expect(outcomes({ f: [{ prefix: 'us-' }] }, [{ f: 'us-east-1' }, { f: 'eu-west-1' }, { f: 1 }, { f: null }])).toEqual([true, false, false, false]);
    expect(outcomes({ f: [{ suffix: '.png' }] }, [{ f: 'a.png' }, { f: 'a.PNG' }, { f: 'a.png.bak' }])).toEqual([true, false, false]);
  });

  it('an empty prefix or suffix matches every string', () => {
    expect(outcomes({ f: [{ prefix: '' }] }, [{ f: '' }, { f: 'x' }, { f: 0 }])).toEqual([true, true, false]);
    expect(outcomes({ f: [{ suffix: '' }] }, [{ f: '' }, { f: 'x' }, { f: false }])).toEqual([true, true, false]);
  });

  it('equals-ignore-case forms ignore case at the start or end', () => {
    expect(outcomes({ s: [{ prefix: { 'equals-ignore-case': 'EventB' } }] }, [{ s: 'eventbridge' }, { s: 'EVENTBUS' }, { s: 'Event' }])).toEqual([
      true,
      true,
      false,
    ]);
    expect(outcomes({ s: [{ suffix: { 'equals-ignore-case': '.png' } }] }, [{ s: 'IMG.PNG' }, { s: 'img.Png' }, { s: 'img.jpg' }])).toEqual([true, true, false]);
  });

  it('compare against the JSON-quoted value, so an operand ending in a quote can reach the end', () => {
    expect(outcomes({ f: [{ prefix: 'ab"' }] }, [{ f: 'ab' }, { f: 'abc' }, { f: 'ab"c' }])).toEqual([true, false, true]);
    expect(outcomes({ f: [{ suffix: '"ab' }] }, [{ f: 'ab' }, { f: 'cab' }])).toEqual([true, false]);
  });
});

describe('equals-ignore-case', () => {
  it('matches strings regardless of case', () => {
    expect(outcomes({ s: [{ 'equals-ignore-case': 'Alice' }] }, [{ s: 'ALICE' }, { s: 'alice' }, { s: 'Alicia' }, { s: null }])).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('lets each character stand for its upper- or lower-case form, even of another length', () => {
    expect(outcomes({ s: [{ 'equals-ignore-case': 'straße' }] }, [{ s: 'STRASSE' }, { s: 'Straße' }, { s: 'strasse' }])).toEqual([true, true, false]);
  });
});

describe('anything-but', () => {
  it('matches any present value except the listed strings', () => {
    const pattern = { state: [{ 'anything-but': ['stopped', 'overloaded'] }] };
    expect(outcomes(pattern, [{ state: 'running' }, { state: 'stopped' }, { state: null }, { state: 7 }, { state: true }, {}])).toEqual([
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
  });

  it('excludes numbers numerically and only numbers', () => {
    const pattern = { n: [{ 'anything-but': [100, 200] }] };
    expect(outcomes(pattern, [{ n: 100.0 }, { n: 150 }, { n: '100' }])).toEqual([false, true, true]);
    expect(outcomes({ n: [{ 'anything-but': 0 }] }, [{ n: 0 }, { n: -0 }, { n: 1 }])).toEqual([false, false, true]);
  });

  it('on an array field, matches when some element is not excluded', () => {
    const pattern = { tags: [{ 'anything-but': 'internal' }] };
    expect(outcomes(pattern, [{ tags: ['internal', 'public'] }, { tags: ['internal'] }, { tags: [] }])).toEqual([true, false, false]);
  });

  it('supports prefix, suffix, equals-ignore-case and wildcard operands', () => {
    expect(outcomes({ r: [{ 'anything-but': { prefix: 'us-' } }] }, [{ r: 'eu-west-1' }, { r: 'us-east-1' }, { r: 3 }])).toEqual([true, false, true]);
    expect(outcomes({ f: [{ 'anything-but': { suffix: ['.tmp', '.bak'] } }] }, [{ f: 'a.csv' }, { f: 'a.bak' }])).toEqual([true, false]);
    expect(outcomes({ s: [{ 'anything-but': { 'equals-ignore-case': ['ok', 'done'] } }] }, [{ s: 'DONE' }, { s: 'failed' }])).toEqual([false, true]);
    expect(outcomes({ p: [{ 'anything-but': { wildcard: '*/lib/*' } }] }, [{ p: '/usr/lib/x' }, { p: '/usr/bin/x' }])).toEqual([false, true]);
  });

  it('an empty operand list excludes nothing', () => {
    expect(outcomes({ s: [{ 'anything-but': { prefix: [] } }] }, [{ s: 'x' }, {}])).toEqual([true, false]);
  });
});

describe('numeric', () => {
  it('supports every comparison and closed or open ranges', () => {
    const events = [-1, 0, 5, 9.99, 10, 11].map((n) => ({ n }));
    expect(outcomes({ n: [{ numeric: ['<', 10] }] }, events)).toEqual([true, true, true, true, false, false]);
    expect(outcomes({ n: [{ numeric: ['<=', 10] }] }, events)).toEqual([true, true, true, true, true, false]);
    expect(outcomes({ n: [{ numeric: ['>', 0] }] }, events)).toEqual([false, false, true, true, true, true]);
    expect(outcomes({ n: [{ numeric: ['>=', 0, '<', 10] }] }, events)).toEqual([false, true, true, true, false, false]);
    expect(outcomes({ n: [{ numeric: ['>', 0, '<=', 10] }] }, events)).toEqual([false, false, true, true, true, false]);
    expect(outcomes({ n: [{ numeric: ['=', 5] }] }, events)).toEqual([false, false, true, false, false, false]);
  });

  it('only matches JSON numbers', () => {
    expect(outcomes({ n: [{ numeric: ['>', 0] }] }, [{ n: '5' }, { n: null }, { n: true }, { n: [1, -1] }])).toEqual([false, false, false, true]);
  });
});

describe('exists', () => {
  it('exists:true needs a leaf value, null included', () => {
    const pattern = { d: { x: [{ exists: true }] } };
    expect(outcomes(pattern, [{ d: { x: 1 } }, { d: { x: null } }, { d: { x: { y: 1 } } }, { d: { x: [] } }, { d: {} }])).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('exists:false matches a missing leaf, and a path that only reaches an object', () => {
    const pattern = { d: { x: [{ exists: false }] } };
    expect(outcomes(pattern, [{ d: {} }, {}, { d: { x: { y: 1 } } }, { d: { x: [] } }, { d: { x: 0 } }, { d: { x: null } }])).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('combines with other alternatives of the same field', () => {
    const pattern = { s: [{ exists: false }, 'a'] };
    expect(outcomes(pattern, [{}, { s: 'a' }, { s: 'b' }])).toEqual([true, true, false]);
  });
});

describe('wildcard', () => {
  it('lets * stand for any run of characters, none included', () => {
    const pattern = { arn: [{ wildcard: 'arn:aws:s3:::bucket/*/data/*.csv' }] };
    expect(
      outcomes(pattern, [{ arn: 'arn:aws:s3:::bucket/2024/data/x.csv' }, { arn: 'arn:aws:s3:::bucket//data/.csv' }, { arn: 'arn:aws:s3:::bucket/2024/data/x.json' }]),
    ).toEqual([true, true, false]);
  });

  it('treats \\* as a literal star and \\\\ as a backslash', () => {
    expect(outcomes({ f: [{ wildcard: 'a\\*b' }] }, [{ f: 'a*b' }, { f: 'axb' }])).toEqual([true, false]);
    expect(outcomes({ f: [{ wildcard: 'a\\\\*' }] }, [{ f: 'a\\xyz' }, { f: 'axyz' }])).toEqual([true, false]);
  });

  it('without a star is an exact match, and matches strings only', () => {
    expect(outcomes({ f: [{ wildcard: 'abc' }] }, [{ f: 'abc' }, { f: 'abcd' }])).toEqual([true, false]);
    expect(outcomes({ f: [{ wildcard: '*' }] }, [{ f: '' }, { f: 'x' }, { f: 1 }, { f: null }])).toEqual([true, true, false, false]);
  });
});

describe('cidr', () => {
  it('matches IPv4 and IPv6 string values inside the range', () => {
    expect(outcomes({ ip: [{ cidr: '10.0.0.0/24' }] }, [{ ip: '10.0.0.7' }, { ip: '10.0.1.7' }, { ip: 'localhost' }, { ip: 167772167 }])).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(outcomes({ ip: [{ cidr: '2001:db8::/32' }] }, [{ ip: '2001:db8:ffff::1' }, { ip: '2001:db9::1' }, { ip: '10.0.0.7' }])).toEqual([true, false, false]);
  });

  it('starts the range at the address as written, as AWS does', () => {
    expect(outcomes({ ip: [{ cidr: '10.0.0.128/24' }] }, [{ ip: '10.0.0.1' }, { ip: '10.0.0.200' }])).toEqual([false, true]);
  });

  it('reads IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(outcomes({ ip: [{ cidr: '10.0.0.0/8' }] }, [{ ip: '::ffff:a01:203' }])).toEqual([true]);
  });
});

describe('$or', () => {
  it('matches when any branch does, at any level', () => {
    const pattern = {
      source: ['nightshift.planner'],
      detail: { $or: [{ status: ['FAILED'] }, { attempts: [{ numeric: ['>=', 3] }] }] },
    };
    expect(
      outcomes(pattern, [
        { source: 'nightshift.planner', detail: { status: 'FAILED' } },
        { source: 'nightshift.planner', detail: { status: 'OK', attempts: 3 } },
        { source: 'nightshift.planner', detail: { status: 'OK', attempts: 1 } },
        { source: 'other', detail: { status: 'FAILED' } },
      ]),
    ).toEqual([true, true, false, false]);
  });

  it('nests, and sibling $or lists multiply out', () => {
    const pattern = {
      $or: [{ a: ['1'] }, { b: ['1'], $or: [{ c: ['1'] }, { d: ['1'] }] }],
      e: { $or: [{ f: ['1'] }, { g: ['1'] }] },
    };
    expect(
      outcomes(pattern, [
        { a: '1', e: { g: '1' } },
        { b: '1', d: '1', e: { f: '1' } },
        { b: '1', e: { f: '1' } },
        { a: '1', e: {} },
      ]),
    ).toEqual([true, true, false, false]);
  });
});

describe('compiled patterns', () => {
  it('do not read the pattern object again after compiling', () => {
    const pattern: EventPattern = { source: ['a'] };
    const matches = compileEventPattern(pattern);
    pattern.source = ['b'];
    expect([matches({ source: 'a' }), matches({ source: 'b' })]).toEqual([true, false]);
  });

  it('agree with matchesEventPattern', () => {
    const pattern = { detail: { n: [{ numeric: ['>', 1] }] } };
    const event = { detail: { n: 2 } };
    expect(matchesEventPattern(pattern, event)).toBe(compileEventPattern(pattern)(event));
  });

  it('match a typical envelope cheaply', () => {
    const matches = compileEventPattern({
      source: ['nightshift.ingestion'],
      'detail-type': [{ prefix: 'Dataset' }],
      detail: { data: { rows: [{ numeric: ['>', 0] }], desk: [{ 'anything-but': ['test'] }] } },
    });
    const event = {
      version: '0',
      id: 'b4a4e7b2',
      'detail-type': 'Dataset Landed',
      source: 'nightshift.ingestion',
      account: '123456789012',
      time: '2024-03-01T02:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: { metadata: { eventId: 'e1', correlationId: 'c1' }, data: { rows: 120_000, desk: 'equities', files: ['a', 'b'] } },
    };
    const rounds = 20_000;
    const started = performance.now();
    let hits = 0;
    for (let i = 0; i < rounds; i++) if (matches(event)) hits++;
    const perMatchMs = (performance.now() - started) / rounds;
    expect(hits).toBe(rounds);
    // Generous bound for a shared CI machine; unloaded this is around a microsecond.
    expect(perMatchMs).toBeLessThan(0.25);
  });
});
