#!/usr/bin/env node
// Entry of the `webgpu-attention` command: the esbuild bundle of src/cli/main.ts.
// `npm run build` creates it in a checkout (`npm start` runs it); a package made by `npm pack` or
// `npm publish` carries it, built by the `prepack` script.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(bundle)) {
  console.error('webgpu-attention: dist/cli.mjs is missing; in a checkout, run `npm run build` first');
  process.exit(1);
}
await import(bundle.href);
