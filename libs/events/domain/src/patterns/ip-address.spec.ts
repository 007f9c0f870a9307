import { describe, expect, it } from 'vitest';
import { ipInRange, parseCidr, parseIpAddress } from './ip-address.js';

const bytes = (text: string) => Array.from(parseIpAddress(text) ?? []);

describe('parseIpAddress', () => {
  it('reads IPv4 as four decimal octets', () => {
    expect(bytes('10.0.0.255')).toEqual([10, 0, 0, 255]);
    expect(bytes('010.0.0.1')).toEqual([10, 0, 0, 1]);
    expect(parseIpAddress('10.0.0.256')).toBeUndefined();
    expect(parseIpAddress('10.0.0')).toBeUndefined();
    expect(parseIpAddress(' 10.0.0.1')).toBeUndefined();
  });

  it('reads IPv6 with at most one ::', () => {
    expect(bytes('::')).toEqual(new Array(16).fill(0));
    expect(bytes('2001:db8::1')).toEqual([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
    expect(bytes('2001:DB8:0:0:0:0:0:1')).toEqual(bytes('2001:db8::1'));
    expect(bytes('1:2:3:4:5:6:7::')).toHaveLength(16);
    for (const bad of ['1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', '::1:2:3:4:5:6:7:8', 'fe80::1%eth0', '::ffff:10.0.0.1']) {
      expect(parseIpAddress(bad)).toBeUndefined();
    }
  });

  it('collapses IPv4-mapped IPv6 to IPv4, as Java does', () => {
    expect(bytes('::ffff:a00:1')).toEqual([10, 0, 0, 1]);
  });
});

describe('parseCidr', () => {
  it('spans from the written address to the last address of its block', () => {
    const range = parseCidr('10.1.2.3/16');
    expect(Array.from(range.bottom)).toEqual([10, 1, 2, 3]);
    expect(Array.from(range.top)).toEqual([10, 1, 255, 255]);
  });

  it('handles masks that do not fall on a byte boundary, and IPv6', () => {
    expect(Array.from(parseCidr('192.168.0.0/22').top)).toEqual([192, 168, 3, 255]);
    const v6 = parseCidr('2001:db8:1234:1a00::/56');
    expect(ipInRange(parseIpAddress('2001:db8:1234:1aff:ffff::1') as Uint8Array, v6)).toBe(true);
    expect(ipInRange(parseIpAddress('2001:db8:1234:1b00::') as Uint8Array, v6)).toBe(false);
  });

  it('never mixes address families', () => {
    expect(ipInRange(parseIpAddress('::a00:1') as Uint8Array, parseCidr('10.0.0.0/8'))).toBe(false);
  });
});
