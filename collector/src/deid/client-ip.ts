import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses CIDRs (or single addresses) once; a malformed entry is a config error. */
export function parseCidrs(list: string[]): Range[] {
  return list.map((entry) => {
    if (entry.includes('/')) return ipaddr.parseCIDR(entry);
    const addr = ipaddr.parse(entry);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  });
}

function normalize(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(ip)) return null;
  const addr = ipaddr.parse(ip);
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}

/** An address as the collector keys it: IPv4-mapped IPv6 as IPv4, IPv6 in its canonical compact form; null if not an address. */
export function canonicalIp(ip: string): string | null {
  return isDottedQuad(ip) ? ip : (normalize(ip)?.toString() ?? null);
}

/**
 * Four decimal parts of 0-255 without leading zeros: the form nearly every access-log line has, and
 * already canonical, so an import need not parse it (ipaddr.js also reads octal, hex and short forms).
 */
export function isDottedQuad(ip: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || value > 255) return false;
      parts++;
      digits = 0;
      value = 0;
    } else {
      if (c < 48 || c > 57 || (digits === 1 && value === 0) || digits === 3) return false;
      value = value * 10 + c - 48;
      digits++;
    }
  }
  return parts === 4;
}

function inRanges(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: Range[]): boolean {
  return ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
}

/**
 * The visitor's address: the socket peer, unless that peer is a configured trusted proxy,
 * in which case `X-Forwarded-For` is walked from the right and the first untrusted hop wins.
 * Headers from untrusted peers are never read, so a client cannot choose its own address.
 */
export function createClientIpResolver(
  trustedProxies: string[],
): (socketIp: string, forwardedFor: string | string[] | undefined) => string {
  const trusted = parseCidrs(trustedProxies);
  return (socketIp, forwardedFor) => {
    const peer = normalize(socketIp);
    if (!peer) return socketIp;
    if (trusted.length === 0 || !inRanges(peer, trusted) || !forwardedFor) return peer.toString();
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim());
    let current = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]!);
      if (!hop) return current.toString();
      current = hop;
      if (!inRanges(hop, trusted)) return hop.toString();
    }
    return current.toString();
  };
}

/**
 * The client's network as the rare-value gate counts it: an IPv4 /24 or an IPv6 /48 (IPv4-mapped
 * as IPv4), the blocks one household, office or customer is given, so a client rotating addresses
 * within its network stays one. Text that is not an address stands for itself.
 */
export function clientNetwork(ip: string): string {
  if (isDottedQuad(ip)) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const addr = normalize(ip);
  if (!addr) return ip;
  if (addr.kind() === 'ipv4') return `${(addr as ipaddr.IPv4).octets.slice(0, 3).join('.')}.0/24`;
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 3).map((p) => p.toString(16));
  return `${parts.join(':')}::/48`;
}
