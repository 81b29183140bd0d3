import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

export type BuiltSnippet = { code: Buffer; gzip: Buffer; etag: string };

export const SNIPPET_MAX_GZIP_BYTES = 1024;
const SOURCE = fileURLToPath(new URL('./snippet.ts', import.meta.url));

let built: BuiltSnippet | null = null;

/** Builds the snippet once per process (esbuild takes milliseconds) into a minified IIFE. */
export function buildSnippet(): BuiltSnippet {
  if (built) return built;
  const result = buildSync({
    entryPoints: [SOURCE],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    write: false,
    legalComments: 'none',
  });
  const code = Buffer.from(result.outputFiles[0]!.contents);
  const gzip = gzipSync(code, { level: 9 });
  if (gzip.length > SNIPPET_MAX_GZIP_BYTES)
    throw new Error(`snippet is ${gzip.length} bytes gzipped; the budget is ${SNIPPET_MAX_GZIP_BYTES}`);
  built = { code, gzip, etag: `"${createHash('sha256').update(code).digest('hex').slice(0, 16)}"` };
  return built;
}
