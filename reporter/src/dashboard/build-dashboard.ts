import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export type DashboardAssets = { js: string; css: string; etag: string };

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Bundles the page's script with uPlot once per process (esbuild takes milliseconds). */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const result = await build({
    entryPoints: [here('./dashboard-client.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    write: false,
    legalComments: 'eof',
    // uPlot's MIT notice is a plain comment, which minifying drops.
    banner: { js: '/*! uPlot, Copyright (c) Leon Sorokin, MIT licence, https://github.com/leeoniya/uPlot */' },
  });
  const js = result.outputFiles[0]!.text;
  const uplotCss = await readFile(createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const css = `${uplotCss}\n${await readFile(here('./dashboard.css'), 'utf8')}`;
  return { js, css, etag: `"${createHash('sha256').update(js).update(css).digest('hex').slice(0, 16)}"` };
}
