// `node bench/run-estimate.mjs [flags]`: bundles bench/estimate.ts into dist/ (WGSL inlined, as every bundle here)
// and runs it with the same flags (see that file's header).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, root } from '../scripts/build.mjs';

const outfile = join(root, 'dist', 'estimate.mjs');
await bundle({ entryPoints: ['bench/estimate.ts'], outfile, platform: 'node', external: ['webgpu'] });
await import(pathToFileURL(outfile).href);
