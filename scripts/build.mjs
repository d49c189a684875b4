// Bundles the engine with esbuild: WGSL files are inlined as text (the `text` loader), so the
// same sources run in Node (Dawn) and in the browser (navigator.gpu).
//   dist/cli.mjs        the `webgpu-attention` command (Node; `webgpu` stays external)
//   dist/index.js       the library, platform-neutral (browser and Node)
//   dist/node.js        the library plus Node's Dawn adapter
// Other bundles (the browser page, the H100 bundle) add their entry points in their own scripts
// and reuse `bundle` from here.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export function bundle(options) {
  return build({
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    sourcemap: true,
    logLevel: 'warning',
    ...options,
  });
}

export async function buildAll() {
  await Promise.all([
    bundle({ entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.mjs', platform: 'node', external: ['webgpu'], sourcemap: false }),
    bundle({ entryPoints: ['src/index.ts'], outfile: 'dist/index.js', platform: 'neutral' }),
    bundle({ entryPoints: ['src/node/index.ts'], outfile: 'dist/node.js', platform: 'node', external: ['webgpu'] }),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAll();
