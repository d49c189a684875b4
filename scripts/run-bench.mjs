// `npm run bench -- FLAGS`: bundles the benchmark with esbuild (WGSL inlined as text by scripts/build.mjs's
// `bundle`) into dist/bench.mjs and dist/ort-child.mjs (the onnxruntime peer's child process), then runs it
// with the same arguments. `webgpu` (Dawn's addon) and `onnxruntime-node` (native) stay external.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { bundle, root } from './build.mjs';

export const BENCH_EXTERNALS = ['webgpu', 'onnxruntime-node'];
// tfjs's CommonJS modules require Node built-ins (util, …): an ESM bundle has no `require` of its own.
const REQUIRE_SHIM = "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);";

export async function bundleBench(outdir, extra = {}) {
  extra = { banner: { js: REQUIRE_SHIM }, ...extra };
  await Promise.all([
    bundle({ entryPoints: ['bench/run.ts'], outfile: join(outdir, 'bench.mjs'), platform: 'node', external: BENCH_EXTERNALS, ...extra }),
    bundle({ entryPoints: ['bench/peers/ort-child.ts'], outfile: join(outdir, 'ort-child.mjs'), platform: 'node', external: BENCH_EXTERNALS, ...extra }),
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outdir = join(root, 'dist');
  await bundleBench(outdir);
  await import(pathToFileURL(join(outdir, 'bench.mjs')).href);
}
