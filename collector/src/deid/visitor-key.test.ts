import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemorySaltStore, periodOf } from './salt-store.ts';
import { visitorKey } from './visitor-key.ts';

describe('visitor key', () => {
  const salt = randomBytes(32);

  it('is stable for the same inputs and salt, 32 hex chars', () => {
    const a = visitorKey(salt, ['p1', '203.0.113.7', 'UA']);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(visitorKey(salt, ['p1', '203.0.113.7', 'UA'])).toBe(a);
  });

  it('changes with the salt, the practice, the IP and the user agent', () => {
    const a = visitorKey(salt, ['p1', '203.0.113.7', 'UA']);
    expect(visitorKey(randomBytes(32), ['p1', '203.0.113.7', 'UA'])).not.toBe(a);
    expect(visitorKey(salt, ['p2', '203.0.113.7', 'UA'])).not.toBe(a);
    expect(visitorKey(salt, ['p1', '203.0.113.8', 'UA'])).not.toBe(a);
    expect(visitorKey(salt, ['p1', '203.0.113.7', 'UB'])).not.toBe(a);
  });

  it('is the HMAC-SHA256 of the parts, each after its UTF-8 length as 4 bytes big-endian', () => {
    const reference = (key: Buffer, parts: string[]) => {
      const mac = createHmac('sha256', key);
      for (const part of parts) {
        const bytes = Buffer.from(part, 'utf8');
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        mac.update(length).update(bytes);
      }
      return mac.digest('hex').slice(0, 32);
    };
    const alphabet = ['a', 'Z', '0', '.', ':', ' ', '\u0000', 'é', 'ü', '🩺', '中'];
    for (let i = 0; i < 500; i++) {
      const parts = Array.from({ length: 1 + (i % 4) }, (_, j) =>
        Array.from({ length: (i * 7 + j * 13) % 150 }, (_, k) => alphabet[(i + j * 3 + k * 5) % alphabet.length]).join(
          '',
        ),
      );
      const key = randomBytes(32);
      expect(visitorKey(key, parts)).toBe(reference(key, parts));
    }
  });

  it('does not collide when parts shift boundaries', () => {
    expect(visitorKey(salt, ['ab', 'c'])).not.toBe(visitorKey(salt, ['a', 'bc']));
  });

  it('rotates daily and monthly salts at UTC period boundaries', async () => {
    const store = new MemorySaltStore();
    const day1 = Date.UTC(2025, 0, 31, 23, 59);
    const day2 = Date.UTC(2025, 1, 1, 0, 1);
    expect(await store.saltFor('daily', day1)).toBe(await store.saltFor('daily', Date.UTC(2025, 0, 31, 0, 0)));
    expect(await store.saltFor('daily', day1)).not.toEqual(await store.saltFor('daily', day2));
    expect(await store.saltFor('monthly', day1)).not.toEqual(await store.saltFor('monthly', day2));
    expect(periodOf('daily', day1)).toEqual({ id: 'd20250131', endsAt: Date.UTC(2025, 1, 1) });
    expect(periodOf('monthly', Date.UTC(2025, 11, 15))).toEqual({ id: 'm202512', endsAt: Date.UTC(2026, 0, 1) });
  });
});
