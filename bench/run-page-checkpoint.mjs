// Bundles bench/page-checkpoint.ts (a GPT-2-small-sized checkpoint opened and run in the page in
// headless Chromium) with esbuild into dist/page-checkpoint.mjs and runs it with the same arguments.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, root } from '../scripts/build.mjs';

const outfile = join(root, 'dist', 'page-checkpoint.mjs');
await bundle({ entryPoints: ['bench/page-checkpoint.ts'], outfile, platform: 'node', external: ['playwright-core', 'esbuild', 'js-tiktoken'] });
await import(pathToFileURL(outfile).href);
