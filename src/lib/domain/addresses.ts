import { BlockList, isIP } from 'node:net';

/*
 * Which IP addresses a webhook may reach: only globally routable unicast ones. The tables are the
 * IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890, RFC 8190; iana.org/assignments/
 * iana-ipv4-special-registry and iana-ipv6-special-registry), plus what the address-space
 * registries keep out of global unicast (multicast, reserved, site-local). Every entry is denied,
 * even the few the registry marks globally reachable (anycast for PCP/TURN/AS112/AMT): no webhook
 * receiver lives there, and a shorter allow-list is easier to trust.
 *
 * Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are judged by the IPv4
 * address they lead to as well, so `::ffff:7f00:1` is loopback and `64:ff9b::a9fe:a9fe` is the
 * instance metadata service.
 */

type Range = readonly [prefix: string, bits: number, name: string];

const IPV4_DENIED: readonly Range[] = [
  ['0.0.0.0', 8, '"this network" (RFC 791 §3.2; 0.0.0.0/32 RFC 1122 §3.2.1.3)'],
  ['10.0.0.0', 8, 'private-use (RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space, carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0', 8, 'loopback (RFC 1122 §3.2.1.3)'],
  ['169.254.0.0', 16, 'link-local, instance metadata (RFC 3927)'],
  ['172.16.0.0', 12, 'private-use (RFC 1918)'],
  // 192.0.0.0/24 holds 192.0.0.0/29 IPv4 service continuity (RFC 7335), 192.0.0.8/32 dummy
  // (RFC 7600), .9 PCP anycast (RFC 7723), .10 TURN anycast (RFC 8155), .170/.171 NAT64/DNS64
  // discovery (RFC 8880, RFC 7050).
  ['192.0.0.0', 24, 'IETF protocol assignments (RFC 6890 §2.1)'],
  ['192.0.2.0', 24, 'documentation, TEST-NET-1 (RFC 5737)'],
  ['192.31.196.0', 24, 'AS112-v4 (RFC 7535)'],
  ['192.52.193.0', 24, 'AMT (RFC 7450)'],
  ['192.88.99.0', 24, 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0', 16, 'private-use (RFC 1918)'],
  ['192.175.48.0', 24, 'direct delegation AS112 service (RFC 7534)'],
  ['198.18.0.0', 15, 'benchmarking (RFC 2544)'],
  ['198.51.100.0', 24, 'documentation, TEST-NET-2 (RFC 5737)'],
  ['203.0.113.0', 24, 'documentation, TEST-NET-3 (RFC 5737)'],
  // Not in the special-purpose registry but never a unicast destination (IPv4 address space).
  ['224.0.0.0', 4, 'multicast (RFC 5771)'],
  ['240.0.0.0', 4, 'reserved (RFC 1112 §4)'],
  ['255.255.255.255', 32, 'limited broadcast (RFC 8190, RFC 919 §7)'],
];

const IPV6_DENIED: readonly Range[] = [
  ['::', 128, 'unspecified (RFC 4291)'],
  ['::1', 128, 'loopback (RFC 4291)'],
  ['::', 96, 'IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)'],
  ['::ffff:0:0', 96, 'IPv4-mapped (RFC 4291)'],
  ['64:ff9b:1::', 48, 'local-use IPv4/IPv6 translation (RFC 8215)'],
  ['100::', 64, 'discard-only (RFC 6666)'],
  ['100:0:0:1::', 64, 'dummy IPv6 prefix (RFC 9780)'],
  // 2001::/23 holds 2001:1::1-3 anycast (RFC 7723, RFC 8155, RFC 9665), 2001:2::/48 benchmarking
  // (RFC 5180), 2001:3::/32 AMT (RFC 7450), 2001:4:112::/48 AS112-v6 (RFC 7535), 2001:10::/28
  // ORCHID (RFC 4843), 2001:20::/28 ORCHIDv2 (RFC 7343), 2001:30::/28 DRIP DETs (RFC 9374).
  // Teredo, 2001::/32, is inside it but judged by the IPv4 addresses it embeds, below.
  ['2001::', 23, 'IETF protocol assignments (RFC 2928)'],
  ['2001:db8::', 32, 'documentation (RFC 3849)'],
  ['2620:4f:8000::', 48, 'direct delegation AS112 service (RFC 7534)'],
  ['3fff::', 20, 'documentation (RFC 9637)'],
  ['5f00::', 16, 'SRv6 SIDs (RFC 9602)'],
  ['fc00::', 7, 'unique-local (RFC 4193)'],
  ['fe80::', 10, 'link-local (RFC 4291)'],
  ['fec0::', 10, 'site-local, deprecated (RFC 3879)'],
  ['ff00::', 8, 'multicast (RFC 4291)'],
];

interface Rule {
  name: string;
  list: BlockList;
}

function rules(ranges: readonly Range[], type: 'ipv4' | 'ipv6'): Rule[] {
  // Most specific first, so a reason names the narrowest range (255.255.255.255/32, not 240/4).
  return [...ranges]
    .sort((a, b) => b[1] - a[1])
    .map(([prefix, bits, name]) => {
      const list = new BlockList();
      list.addSubnet(prefix, bits, type);
      return { name: `${prefix}/${bits} ${name}`, list };
    });
}

interface Lists {
  v4: Rule[];
  v6: Rule[];
  globalUnicast: BlockList;
  loopback: BlockList;
}

let built: Lists | undefined;

/**
 * Built on the first check, not at import: a submit checks an address only when its callbackUrl
 * names an IP literal, and every submitting handler imports this module (a BlockList a range).
 */
function lists(): Lists {
  if (built) return built;
  // IANA allocates global unicast from 2000::/3 only (RFC 4291 §2.4, IPv6 address space registry).
  const globalUnicast = new BlockList();
  globalUnicast.addSubnet('2000::', 3, 'ipv6');
  const loopback = new BlockList();
  loopback.addSubnet('127.0.0.0', 8, 'ipv4');
  loopback.addAddress('::1', 'ipv6');
  built = {
    v4: rules(IPV4_DENIED, 'ipv4'),
    v6: rules(IPV6_DENIED, 'ipv6'),
    globalUnicast,
    loopback,
  };
  return built;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted tail folded in). */
function groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const [head = '', tail] = text.split('::');
  const before = parse(head);
  if (tail === undefined) return before;
  const after = parse(tail);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function ipv4(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The IPv4 addresses an IPv6 address leads to, with the form that embeds them. */
function embeddedIPv4(g: number[]): { form: string; addresses: string[] } | undefined {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, , g5 = 0, g6 = 0, g7 = 0] = g;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g5 === 0xffff) return { form: 'IPv4-mapped', addresses: [ipv4(g6, g7)] };
  if (zero(0, 6)) return { form: 'IPv4-compatible', addresses: [ipv4(g6, g7)] };
  if (g0 === 0x64 && g1 === 0xff9b && zero(2, 6)) {
    return { form: 'NAT64 64:ff9b::/96 (RFC 6052)', addresses: [ipv4(g6, g7)] };
  }
  if (g0 === 0x2002) return { form: '6to4 2002::/16 (RFC 3056)', addresses: [ipv4(g1, g2)] };
  if (g0 === 0x2001 && g1 === 0) {
    // Teredo: the server's address in clear, the client's inverted (RFC 4380 §4).
    return {
      form: 'Teredo 2001::/32 (RFC 4380)',
      addresses: [ipv4(g2, g3), ipv4(~g6 & 0xffff, ~g7 & 0xffff)],
    };
  }
  return undefined;
}

function firstMatch(list: readonly Rule[], address: string, type: 'ipv4' | 'ipv6') {
  return list.find((r) => r.list.check(address, type))?.name;
}

/**
 * Why an address is not globally routable (the range that denies it), or undefined when it is.
 * Anything that is not an IP address at all is denied too.
 */
export function nonGlobalReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return firstMatch(lists().v4, bare, 'ipv4');
  if (family !== 6) return 'not an IP address';
  const g = groups(bare);
  const full = g.map((x) => x.toString(16)).join(':');
  const embedded = embeddedIPv4(g);
  if (embedded && embedded.form !== 'IPv4-compatible') {
    // An IPv4-mapped address is the IPv4 host itself; NAT64, 6to4 and Teredo lead to public
    // hosts once the addresses they embed are public.
    for (const v4 of embedded.addresses) {
      const reason = firstMatch(lists().v4, v4, 'ipv4');
      if (reason) return `${embedded.form} of ${v4}: ${reason}`;
    }
    return undefined;
  }
  const reason = firstMatch(lists().v6, full, 'ipv6');
  if (reason && embedded && reason.startsWith('::/96'))
    return `${reason} of ${embedded.addresses[0]}`;
  if (reason) return reason;
  if (!lists().globalUnicast.check(full, 'ipv6'))
    return 'outside 2000::/3 global unicast (RFC 4291)';
  return undefined;
}

/** Loopback: 127.0.0.0/8, ::1 and the IPv4-mapped form of 127.0.0.0/8. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return lists().loopback.check(bare, 'ipv4');
  if (family !== 6) return false;
  const g = groups(bare);
  const embedded = embeddedIPv4(g);
  if (embedded?.form === 'IPv4-mapped') {
    return lists().loopback.check(embedded.addresses[0]!, 'ipv4');
  }
  return lists().loopback.check(g.map((x) => x.toString(16)).join(':'), 'ipv6');
}

/** Why a webhook may not connect to this address, or undefined when it may. */
export function deniedAddress(address: string, allowLoopback: boolean): string | undefined {
  if (allowLoopback && isLoopbackAddress(address)) return undefined;
  return nonGlobalReason(address);
}
