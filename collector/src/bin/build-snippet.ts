// `npm run build -w @confidant/collector`: writes the tracking snippet to collector/dist for static
// hosting and fails when it exceeds its 1 KB gzipped budget (the collector also serves it at /s.js).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSnippet, SNIPPET_MAX_GZIP_BYTES } from '../snippet/build-snippet.ts';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const snippet = buildSnippet();
mkdirSync(dist, { recursive: true });
writeFileSync(`${dist}s.js`, snippet.code);
writeFileSync(`${dist}s.js.gz`, snippet.gzip);
process.stdout.write(
  `dist/s.js: ${snippet.code.length} bytes, ${snippet.gzip.length} gzipped (budget ${SNIPPET_MAX_GZIP_BYTES})\n`,
);
