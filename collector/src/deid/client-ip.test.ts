import { describe, expect, it } from 'vitest';
import { createClientIpResolver } from './client-ip.ts';

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
});
