import { describe, expect, it } from 'vitest';
import ipaddr from 'ipaddr.js';
import { canonicalIp, clientNetwork, createClientIpResolver, isDottedQuad } from './client-ip.ts';

describe('client IP', () => {
  it('uses the socket address and ignores X-Forwarded-For without trusted proxies', () => {
    const resolve = createClientIpResolver([]);
    expect(resolve('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8']);
    expect(resolve('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
  });

  it('takes the first untrusted hop from the right behind trusted proxies', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8', '192.168.1.1']);
    expect(resolve('10.1.2.3', '1.1.1.1, 198.51.100.9, 192.168.1.1')).toBe('198.51.100.9');
    expect(resolve('::ffff:10.1.2.3', ['198.51.100.9'])).toBe('198.51.100.9');
  });

  it('stops at a malformed hop instead of trusting anything left of it', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8']);
    expect(resolve('10.1.2.3', '1.1.1.1, nonsense, 10.9.9.9')).toBe('10.9.9.9');
  });

  it('normalises IPv4-mapped IPv6 socket addresses', () => {
    expect(createClientIpResolver([])('::ffff:203.0.113.7', undefined)).toBe('203.0.113.7');
  });

  it('keys a dotted quad as ipaddr.js writes it, and anything else through ipaddr.js', () => {
    const viaIpaddr = (ip: string) => {
      if (!ipaddr.isValid(ip)) return null;
      const addr = ipaddr.parse(ip);
      return (
        addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
          ? (addr as ipaddr.IPv6).toIPv4Address()
          : addr
      ).toString();
    };
    let seed = 12;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pieces = ['0', '1', '9', '00', '01', '10', '99', '255', '256', '300', '999', '0x1f', '', '.', ':', 'a', ' '];
    let quads = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = random() < 0.6 ? 4 : 1 + Math.floor(random() * 5);
      const ip = Array.from({ length: n }, () => pieces[Math.floor(random() * pieces.length)]).join(
        random() < 0.9 ? '.' : ':',
      );
      if (isDottedQuad(ip)) {
        quads++;
        expect(viaIpaddr(ip)).toBe(ip);
      }
      expect(canonicalIp(ip)).toBe(viaIpaddr(ip));
    }
    expect(quads).toBeGreaterThan(100);
    expect(canonicalIp('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalIp('2001:0db8:0000::0001')).toBe('2001:db8::1');
  });

  it('names the network the rare-value gate counts: an IPv4 /24, an IPv6 /48', () => {
    expect(clientNetwork('203.0.113.77')).toBe('203.0.113.0/24');
    expect(clientNetwork('203.0.113.1')).toBe(clientNetwork('203.0.113.254'));
    expect(clientNetwork('::ffff:203.0.113.9')).toBe('203.0.113.0/24');
    expect(clientNetwork('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(clientNetwork('2001:0db8:abcd:ffff:0:0:0:2')).toBe(clientNetwork('2001:db8:abcd::9'));
    expect(clientNetwork('2001:db8:abce::1')).not.toBe(clientNetwork('2001:db8:abcd::1'));
  });
});
