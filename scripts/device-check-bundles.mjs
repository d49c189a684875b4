// Bundles what scripts/device-check.sh runs, as scripts/build-gpu.mjs puts it into .gpu/ (same entry points,
// same esbuild options, minified), into another folder: the dry run (`device-check.sh --dry-run`) uses it on
// this machine, where there is no packed .gpu/. A `node_modules` link to the project's own lets the bundles'
// external imports (webgpu, onnxruntime-node) resolve from there.
//   node scripts/device-check-bundles.mjs DIR
//   DIR/cli.mjs  bench.mjs  ort-child.mjs  matmul-tune.mjs  attention-tune.mjs  node_modules -> ../node_modules
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, root } from './build.mjs';
import { bundleBench } from './run-bench.mjs';
import { bundleTune } from './run-tune.mjs';

/** The options scripts/build-gpu.mjs bundles .gpu/ with. */
export const GPU_BUNDLE_OPTIONS = { minify: true, sourcemap: false, legalComments: 'none' };

export async function bundleDeviceCheck(outdir) {
  mkdirSync(outdir, { recursive: true });
  await Promise.all([
    bundleBench(outdir, GPU_BUNDLE_OPTIONS),
    bundleTune('matmul', join(outdir, 'matmul-tune.mjs'), GPU_BUNDLE_OPTIONS),
    bundleTune('attention', join(outdir, 'attention-tune.mjs'), GPU_BUNDLE_OPTIONS),
    bundle({ entryPoints: ['src/cli/main.ts'], outfile: join(outdir, 'cli.mjs'), platform: 'node', external: ['webgpu'], ...GPU_BUNDLE_OPTIONS }),
  ]);
  const link = join(outdir, 'node_modules');
  if (!existsSync(link)) symlinkSync(join(root, 'node_modules'), link, 'dir');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir || process.argv.length > 3) {
    console.error('usage: node scripts/device-check-bundles.mjs DIR');
    process.exit(2);
  }
  await bundleDeviceCheck(resolve(dir));
}
