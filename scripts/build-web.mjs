// Builds the browser page into dist/web/: app.js (the page), worker.js (the CPU reference in a
// Web Worker), shared chunks, index.html and styles.css. Platform 'browser': a Node built-in
// reaching the bundle fails the build, and so does anything under src/node/ (Dawn, files).
//   node scripts/build-web.mjs          build once
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, root } from './build.mjs';

export const webDir = join(root, 'dist', 'web');

export async function buildWeb({ outdir = webDir, minify = false } = {}) {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await bundle({
    entryPoints: { app: 'web/app.ts', worker: 'web/worker.ts' },
    outdir,
    platform: 'browser',
    // Module workers can import chunks, so the engine code shared by page and worker loads once,
    // and the tokenizer's rank file is a chunk fetched on first use.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify,
    metafile: true,
  });
  const nodeOnly = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('src/node/') || f.startsWith('node:'));
  if (nodeOnly.length) throw new Error(`Node-only modules reached the browser bundle: ${nodeOnly.join(', ')}`);
  await Promise.all(['index.html', 'styles.css'].map((f) => copyFile(join(root, 'web', f), join(outdir, f))));
  return { outdir, outputs: Object.keys(result.metafile.outputs) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { outdir, outputs } = await buildWeb();
  console.log(`built ${outputs.filter((o) => !o.endsWith('.map')).length} files into ${outdir}`);
}
