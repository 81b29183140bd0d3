import murmurhash3js from 'murmurhash3js';

/**
 * The value fed into ClickHouse's uniq states: a 32-bit MurmurHash3 of the envelope's keyed visitor
 * hash, so not even the keyed hash is written. Its input is already a keyed PRF output, so a fast
 * non-cryptographic hash loses nothing; `uniq` keeps 32-bit hashes itself, so nothing is lost either.
 */
export function visitorHash(visitor: string): number {
  return murmurhash3js.x86.hash32(visitor);
}
