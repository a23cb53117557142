import { describe, expect, it } from 'vitest';
import {
  deniedAddress,
  isLoopbackAddress,
  nonGlobalReason,
} from '../../../../src/lib/domain/addresses.ts';

describe('nonGlobalReason: the IANA IPv4 Special-Purpose Address Registry', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.1.2.3', '10.0.0.0/8'],
    ['100.64.0.1', '100.64.0.0/10'],
    ['100.127.255.254', '100.64.0.0/10'],
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.255.254', '127.0.0.0/8'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.1', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.1', '192.0.0.0/24'],
    ['192.0.0.9', '192.0.0.0/24'],
    ['192.0.0.170', '192.0.0.0/24'],
    ['192.0.2.1', '192.0.2.0/24'],
    ['192.31.196.1', '192.31.196.0/24'],
    ['192.52.193.1', '192.52.193.0/24'],
    ['192.88.99.1', '192.88.99.0/24'],
    ['192.168.1.1', '192.168.0.0/16'],
    ['192.175.48.1', '192.175.48.0/24'],
    ['198.18.0.1', '198.18.0.0/15'],
    ['198.19.255.255', '198.18.0.0/15'],
    ['198.51.100.7', '198.51.100.0/24'],
    ['203.0.113.9', '203.0.113.0/24'],
    ['224.0.0.1', '224.0.0.0/4'],
    ['239.255.255.250', '224.0.0.0/4'],
    ['240.0.0.1', '240.0.0.0/4'],
    ['255.255.255.255', '255.255.255.255/32'],
  ])('denies %s (%s)', (address, range) => {
    expect(nonGlobalReason(address)).toContain(range);
  });
});

describe('nonGlobalReason: the IANA IPv6 Special-Purpose Address Registry and address space', () => {
  it.each([
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['::7f00:1', '::/96'],
    ['::808:808', '::/96'],
    ['64:ff9b:1::a00:1', '64:ff9b:1::/48'],
    ['100::1', '100::/64'],
    ['100:0:0:1::1', '100:0:0:1::/64'],
    ['2001:1::1', '2001::/23'],
    ['2001:2::1', '2001::/23'],
    ['2001:3::1', '2001::/23'],
    ['2001:4:112::1', '2001::/23'],
    ['2001:10::1', '2001::/23'],
    ['2001:20::1', '2001::/23'],
    ['2001:30::1', '2001::/23'],
    ['2001:db8::1', '2001:db8::/32'],
    ['2620:4f:8000::1', '2620:4f:8000::/48'],
    ['3fff::1', '3fff::/20'],
    ['5f00::1', '5f00::/16'],
    ['fc00::1', 'fc00::/7'],
    ['fd12:3456::1', 'fc00::/7'],
    ['fe80::1', 'fe80::/10'],
    ['fe80::1%eth0', 'fe80::/10'],
    ['fec0::1', 'fec0::/10'],
    ['ff02::1', 'ff00::/8'],
    ['4000::1', '2000::/3'],
    ['1::1', '2000::/3'],
  ])('denies %s (%s)', (address, range) => {
    expect(nonGlobalReason(address)).toContain(range);
  });

  it.each([
    // IPv4-mapped: the IPv4 host itself, in either spelling.
    ['::ffff:127.0.0.1', 'IPv4-mapped of 127.0.0.1'],
    ['::ffff:7f00:1', 'IPv4-mapped of 127.0.0.1'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped of 169.254.169.254'],
    ['0:0:0:0:0:ffff:10.0.0.1', 'IPv4-mapped of 10.0.0.1'],
    // IPv4-compatible (deprecated): denied, naming the address it embeds.
    ['::127.0.0.1', '::/96 IPv4-compatible, deprecated (RFC 4291 §2.5.5.1) of 127.0.0.1'],
    // NAT64 well-known prefix: the embedded IPv4 address decides.
    ['64:ff9b::a9fe:a9fe', 'NAT64 64:ff9b::/96 (RFC 6052) of 169.254.169.254'],
    ['64:ff9b::10.0.0.1', 'NAT64 64:ff9b::/96 (RFC 6052) of 10.0.0.1'],
    // 6to4: the IPv4 address in bits 16-47.
    ['2002:7f00:1::1', '6to4 2002::/16 (RFC 3056) of 127.0.0.1'],
    ['2002:c0a8:101::', '6to4 2002::/16 (RFC 3056) of 192.168.1.1'],
    // Teredo: the server in clear, the client inverted.
    ['2001:0:7f00:1::', 'Teredo 2001::/32 (RFC 4380) of 127.0.0.1'],
    ['2001:0:808:808::f5ff:fffe', 'Teredo 2001::/32 (RFC 4380) of 10.0.0.1'],
  ])('unmaps %s and denies what it embeds', (address, reason) => {
    expect(nonGlobalReason(address)).toContain(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '192.0.3.1',
    '198.20.0.1',
    '223.255.255.254',
    '2606:4700::1',
    '2001:4860:4860::8888',
    '2a00:1450:4001:81b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:808:808::f7f7:f7f7',
  ])('lets the globally routable %s through', (address) => {
    expect(nonGlobalReason(address)).toBeUndefined();
  });

  it('denies what is not an IP address', () => {
    expect(nonGlobalReason('example.com')).toBe('not an IP address');
    expect(nonGlobalReason('')).toBe('not an IP address');
  });
});

describe('loopback in the sandbox', () => {
  it('knows loopback in every spelling, and only loopback', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['::7f00:1', '10.0.0.1', '::', '0.0.0.0', 'localhost'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });

  it('allows loopback when asked, and nothing else that is not public', () => {
    expect(deniedAddress('127.0.0.1', true)).toBeUndefined();
    expect(deniedAddress('::1', true)).toBeUndefined();
    expect(deniedAddress('127.0.0.1', false)).toContain('loopback');
    expect(deniedAddress('169.254.169.254', true)).toContain('169.254.0.0/16');
    expect(deniedAddress('::7f00:1', true)).toContain('::/96');
  });
});
