import { createHmac } from 'node:crypto';

/**
 * Keyed PRF over the identifying parts. Each part is length-prefixed so ("ab","c") and
 * ("a","bc") never collide. Without the salt the output cannot be linked to its inputs;
 * once the salt is deleted nobody can recompute it.
 */
export function visitorKey(salt: Buffer, parts: readonly string[]): string {
  const mac = createHmac('sha256', salt);
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    mac.update(len).update(bytes);
  }
  return mac.digest('hex').slice(0, 32);
}
