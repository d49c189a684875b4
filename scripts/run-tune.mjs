// `npm run tune -- FLAGS`: bundles bench/matmul-tune.ts (every matmul tile config on the attention
// shapes, each output spot-checked) into dist/matmul-tune.mjs and runs it with the same arguments.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { bundle, root } from './build.mjs';

export const bundleTune = (outfile, extra = {}) =>
  bundle({ entryPoints: ['bench/matmul-tune.ts'], outfile, platform: 'node', external: ['webgpu'], ...extra });

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outfile = join(root, 'dist', 'matmul-tune.mjs');
  await bundleTune(outfile);
  await import(pathToFileURL(outfile).href);
}
