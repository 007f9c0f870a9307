/**
 * IP address literals the way EventBridge's matcher (aws/event-ruler, Java) reads them.
 *
 * Only strings that look like an IPv4 or IPv6 literal are considered at all (the same two regular
 * expressions as Ruler, because anything else would make Java's InetAddress try DNS); those are then
 * parsed like InetAddress does: IPv4 as four decimal octets, IPv6 with at most one `::`, and an
 * IPv4-mapped IPv6 address (`::ffff:a00:1`) collapsing to its IPv4 address.
 */

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** True when `text` has the shape of an IP literal (Ruler only ever tries to parse those). */
export function looksLikeIpAddress(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

/**
 * The address bytes (4 or 16) of an IP literal, or `undefined` when `text` is not one.
 * An IPv4-mapped IPv6 literal yields the 4 IPv4 bytes, as Java's InetAddress does.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  if (IPV4_SHAPE.test(text)) return parseIpv4(text);
  if (IPV6_SHAPE.test(text)) return parseIpv6(text);
  return undefined;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    // Long runs of digits are never <= 255; checking the length first avoids float rounding.
    if (part.length > 3 && !/^0*\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const groups = head.length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return undefined;

  const bytes = new Uint8Array(16);
  head.forEach((g, i) => writeGroup(bytes, i, g));
  tail.forEach((g, i) => writeGroup(bytes, 8 - tail.length + i, g));

  const mappedV4 = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mappedV4 ? bytes.slice(12) : bytes;
}

function groupsOf(part: string): number[] | undefined {
  if (part === '') return [];
  const groups: number[] = [];
  for (const g of part.split(':')) {
    if (!HEX_GROUP.test(g)) return undefined;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

function writeGroup(bytes: Uint8Array, index: number, group: number): void {
  bytes[index * 2] = group >> 8;
  bytes[index * 2 + 1] = group & 0xff;
}

/** An inclusive range of addresses of one family (both bounds have the same length). */
export interface IpRange {
  readonly bottom: Uint8Array;
  readonly top: Uint8Array;
}

/** Whether `address` falls in `range`; addresses of the other family never do. */
export function ipInRange(address: Uint8Array, range: IpRange): boolean {
  return address.length === range.bottom.length && compareBytes(address, range.bottom) >= 0 && compareBytes(address, range.top) <= 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

/** Why a `cidr` value was rejected; the text is AWS's. */
export class CidrSyntaxError extends Error {}

/**
 * Parses a `cidr` operand. As in Ruler the range starts at the address as written (host bits are
 * not cleared) and ends at that address with every host bit set; a mask must be below the address
 * width (`/32` and `/128` are rejected).
 */
export function parseCidr(text: string): IpRange {
  const parts = text.split('/');
  // Java's String.split drops trailing empty strings; "a/b/" therefore still counts as one '/'.
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length !== 2) throw new CidrSyntaxError("Malformed CIDR, one '/' required");
  if (!/^[+-]?\d+$/.test(parts[1]) || Math.abs(Number(parts[1])) > 2147483647) {
    throw new CidrSyntaxError('Malformed CIDR, mask bits must be an integer');
  }
  const maskBits = Number(parts[1]);
  if (maskBits < 0) throw new CidrSyntaxError('Malformed CIDR, mask bits must not be negative');

  const [ip] = parts;
  if (!looksLikeIpAddress(ip)) throw new CidrSyntaxError(`Nonstandard IP address: ${ip}`);
  const address = parseIpAddress(ip);
  if (address === undefined) throw new CidrSyntaxError(`Invalid IP address: ${ip}`);
  if (address.length === 4 && maskBits > 31) throw new CidrSyntaxError('IPv4 mask bits must be < 32');
  if (address.length === 16 && maskBits > 127) throw new CidrSyntaxError('IPv6 mask bits must be < 128');

  const top = address.slice();
  let hostBits = address.length * 8 - maskBits;
  for (let i = top.length - 1; i >= 0 && hostBits > 0; i--, hostBits -= 8) {
    top[i] |= hostBits >= 8 ? 0xff : (1 << hostBits) - 1;
  }
  return { bottom: address, top };
}
