import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Reader } from 'mmdb-lib';

export type CountryLookup = (ip: string) => string;

/** The CC0 IP-to-country database shipped in `@ip-location-db/geo-whois-asn-country-mmdb`. */
export function defaultCountryDbPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/** Country only (ISO code), `ZZ` when unknown: nothing finer is ever derived from the address. */
export function createCountryLookup(dbPath = defaultCountryDbPath()): CountryLookup {
  // This database's records are `{ country_code }`, not the MaxMind shapes mmdb-lib types.
  const reader = new Reader(readFileSync(dbPath)) as unknown as { get(ip: string): { country_code?: string } | null };
  return (ip) => {
    try {
      const code = reader.get(ip)?.country_code;
      return code && /^[A-Z]{2}$/.test(code) ? code : 'ZZ';
    } catch {
      return 'ZZ';
    }
  };
}
