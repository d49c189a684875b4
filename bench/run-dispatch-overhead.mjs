// `node bench/run-dispatch-overhead.mjs [flags]`: bundles bench/dispatch-overhead.ts into dist/ (WGSL
// inlined, as every bundle here) and runs it with the same flags (see that file's header).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, root } from '../scripts/build.mjs';

const outfile = join(root, 'dist', 'dispatch-overhead.mjs');
await bundle({ entryPoints: ['bench/dispatch-overhead.ts'], outfile, platform: 'node', external: ['webgpu'] });
await import(pathToFileURL(outfile).href);
