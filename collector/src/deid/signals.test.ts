import { describe, expect, it } from 'vitest';
import { isDirectionsLink } from './signals.ts';

describe('isDirectionsLink', () => {
  it('knows the map services by host and path, and nothing else as directions', () => {
    const directions = [
      'https://maps.google.com/?q=12+Main+St',
      'https://maps.google.co.uk/maps?daddr=x',
      'https://www.google.de/maps/place/x',
      'https://google.com/maps',
      'https://maps.app.goo.gl/AbC',
      'https://goo.gl/maps/AbC',
      'https://maps.apple.com/?address=x',
      'https://www.bing.com/maps?where1=x',
      'https://www.openstreetmap.org/#map=17/40.7/-74',
      'https://waze.com/ul?ll=1,2',
      'https://www.waze.com/live-map/directions?to=x',
      'https://wego.here.com/directions/drive',
      'https://www.mapquest.com/directions/to/x',
    ];
    for (const href of directions) expect([href, isDirectionsLink(href)]).toEqual([href, true]);
    const others = [
      'https://maps.example.com/place',
      'https://www.google.com/search?q=maps',
      'https://www.google.com/mapsearch',
      'https://www.bing.com/search?q=maps',
      'https://goo.gl/other',
      'https://www.apple.com/maps/',
      'https://example.com/maps/',
      'ftp://maps.google.com/',
      'tel:+15550102000',
      'mailto:a@b.example',
    ];
    for (const href of others) expect([href, isDirectionsLink(href)]).toEqual([href, false]);
  });
});
