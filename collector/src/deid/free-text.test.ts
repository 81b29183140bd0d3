import { describe, expect, it } from 'vitest';
import { freeTextValue, OTHER_VALUE } from './free-text.ts';

describe('free-text values (campaign, ref, properties)', () => {
  it.each([
    ['newsletter', 'newsletter'],
    ['Google', 'google'],
    ['cpc', 'cpc'],
    ['spring-2026', 'spring-2026'],
    ['flu_shot_2025', 'flu_shot_2025'],
    ['m.facebook.com', 'facebook.com'],
    ['google.com', 'google.com'],
    ['clinic-blog.netlify.app', 'netlify.app'],
  ])('keeps the safe value %s as %s', (raw, kept) => {
    expect(freeTextValue(raw)).toBe(kept);
  });

  it.each([
    'jane.doe',
    'jane-doe',
    'Jane Doe',
    'Jane+Doe',
    'maria_garcia',
    'wei.zhang',
    'oluwaseun-adeyemi',
    'fatima-al-sayed',
    'Booked Jane Doe',
    'spring sale',
    'x'.repeat(70),
    'a<b>',
  ])('replaces %s by (other)', (raw) => {
    expect(freeTextValue(raw)).toBe(OTHER_VALUE);
  });

  it('replaces identifying values by their placeholder', () => {
    expect(freeTextValue('mrn MRN-00123')).toBe(':id');
    expect(freeTextValue('jane%40x.org')).toBe(':email');
    expect(freeTextValue('recall-555-0199-1234')).toBe(':phone');
    expect(freeTextValue('dob-12-mar-1984')).toBe(':date');
    expect(freeTextValue('jane-doe-5551234567.netlify.app')).toBe(':id');
  });

  it('is null for empty values', () => {
    expect(freeTextValue('')).toBeNull();
    expect(freeTextValue('%20+')).toBeNull();
  });
});
