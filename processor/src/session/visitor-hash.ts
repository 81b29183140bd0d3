import { createHash } from 'node:crypto';

/**
 * The value fed into ClickHouse's uniq states: 32 bits of a hash of the envelope's keyed visitor
 * hash, so not even the keyed hash is written. `uniq` keeps 32-bit hashes itself, so nothing is lost.
 */
export function visitorHash(visitor: string): number {
  return createHash('sha256').update(visitor).digest().readUInt32LE(0);
}
