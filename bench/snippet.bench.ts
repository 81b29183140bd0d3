/** Snippet: gzipped bytes of `/s.js` as a running collector serves it. */
import { startCollector } from './collector.bench.ts';
import { openNamespace } from './support/namespace.ts';
import type { Bench } from './support/result.ts';

export const snippetBench: Bench = {
  name: 'snippet',
  async run() {
    const ns = await openNamespace('snippet');
    const collector = await startCollector(ns);
    try {
      const sizes: number[] = [];
      let plain = 0;
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${collector.url}/s.js`, { headers: { 'accept-encoding': 'gzip' } });
        if (!response.ok || response.headers.get('content-encoding') !== 'gzip')
          throw new Error(
            `/s.js answered ${response.status} ${response.headers.get('content-encoding') ?? 'uncompressed'}`,
          );
        // fetch decodes the gzip body; Content-Length is the size on the wire.
        const body = Buffer.from(await response.arrayBuffer());
        sizes.push(Number(response.headers.get('content-length') ?? body.length));
        plain = body.length;
      }
      const gz = sizes[0]!;
      return {
        rows: [
          {
            metric: 'gzipped /s.js',
            unit: 'B',
            ours: sizes,
            baseline: null,
            better: 'lower',
            goal: '≤ 1024 B',
            met: gz <= 1024,
          },
        ],
        details: [
          `\`GET /s.js\` with \`Accept-Encoding: gzip\` from a running collector: ${gz} B on the wire (Content-Length), ${plain} B after decompression.`,
        ],
        bottleneck:
          gz > 1024 ? ['The snippet is over budget; `collector/src/snippet/` builds it (esbuild, minified).', ''] : [],
      };
    } finally {
      await collector.stop();
      await ns.cleanup();
    }
  },
};
