// `node bench/run-decode-variants.mjs [flags]`: bundles bench/decode-variants.ts into dist/ (WGSL
// inlined, as every bundle here) and runs it with the same flags (see that file's header).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, root } from '../scripts/build.mjs';

const outfile = join(root, 'dist', 'decode-variants.mjs');
await bundle({ entryPoints: ['bench/decode-variants.ts'], outfile, platform: 'node', external: ['webgpu'] });
await import(pathToFileURL(outfile).href);
