import { createHash } from 'node:crypto';

/**
 * The UInt64 fed into ClickHouse's uniq states: a hash of the envelope's keyed visitor
 * hash, so not even the keyed hash is written, and uniq's own hashing sees a spread value.
 */
export function visitorHash(visitor: string): bigint {
  return createHash('sha256').update(visitor).digest().readBigUInt64LE(0);
}
