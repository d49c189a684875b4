// `npm run tune -- FLAGS`: bundles a tuning script into dist/ and runs it with the same arguments:
//   bench/tune/matmul.ts     every matmul tile config on the attention shapes, each output spot-checked
//   bench/tune/attention.ts  with --attention: every fused attention tile config beside the materialized core
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { bundle, root } from './build.mjs';

export const TUNERS = { matmul: 'bench/tune/matmul.ts', attention: 'bench/tune/attention.ts' };

export const bundleTune = (kind, outfile, extra = {}) =>
  bundle({ entryPoints: [TUNERS[kind]], outfile, platform: 'node', external: ['webgpu'], ...extra });

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kind = process.argv.includes('--attention') ? 'attention' : 'matmul';
  const outfile = join(root, 'dist', `${kind}-tune.mjs`);
  await bundleTune(kind, outfile);
  await import(pathToFileURL(outfile).href);
}
