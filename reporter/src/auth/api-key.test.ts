import { describe, expect, test } from 'vitest';
import { bearerToken, generateApiKey, hashesMatch, hashSecret, parseApiKey } from './api-key.ts';

describe('API keys', () => {
  test('generated keys parse back and their hash matches', () => {
    const k = generateApiKey();
    expect(k.key).toMatch(/^cf_[0-9a-f]{16}_[0-9a-f]{64}$/);
    const parsed = parseApiKey(k.key)!;
    expect(parsed).toEqual({ keyId: k.keyId, secret: k.secret });
    expect(hashesMatch(hashSecret(parsed.secret), k.hash)).toBe(true);
    expect(k.hash).not.toContain(k.secret);
  });

  test('keys are unique', () => {
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey().key));
    expect(keys.size).toBe(100);
  });

  test('a wrong secret does not match', () => {
    const k = generateApiKey();
    expect(hashesMatch(hashSecret(`${k.secret.slice(0, -1)}x`), k.hash)).toBe(false);
    expect(hashesMatch('abcd', k.hash)).toBe(false);
  });

  test('malformed keys are refused', () => {
    for (const bad of [
      '',
      'cf_',
      'cf_0123456789abcdef',
      `cf_0123456789ABCDEF_${'a'.repeat(64)}`,
      `cf_0123456789abcdef_${'a'.repeat(63)}`,
      `xx_0123456789abcdef_${'a'.repeat(64)}`,
    ]) {
      expect(parseApiKey(bad), bad).toBeNull();
    }
  });

  test('bearer token extraction', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
  });
});
