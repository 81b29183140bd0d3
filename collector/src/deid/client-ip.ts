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
  return normalize(ip)?.toString() ?? null;
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
