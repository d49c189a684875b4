#!/usr/bin/env node
// Entry of the `webgpu-attention` command: the esbuild bundle of src/cli/main.ts.
// `npm run build` (run by `npm start` and on install via `prepare`) creates it.
import { existsSync } from 'node:fs';
const bundle = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(bundle)) {
  console.error('webgpu-attention: dist/cli.mjs is missing; run `npm run build` first');
  process.exit(1);
}
await import(bundle.href);
