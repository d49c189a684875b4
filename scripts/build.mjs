// Bundles the engine with esbuild: WGSL files are inlined as text (the `text` loader), so the
// same sources run in Node (Dawn) and in the browser (navigator.gpu).
//   dist/cli.mjs        the `webgpu-attention` command (Node; `webgpu` stays external)
//   dist/index.js       the library, platform-neutral (browser and Node)
//   dist/node.js        the library plus Node's Dawn adapter
//   dist/types/         the library's declarations (tsconfig.build.json), with `--types` (`--types-only`: just these)
// `npm pack` and `npm publish` run `node scripts/build.mjs --types` first (package.json's prepack),
// so the package always carries what its "exports" and "bin" name.
// Other bundles (the browser page, the H100 bundle) add their entry points in their own scripts
// and reuse `bundle` from here.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
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

/** dist/types afresh (a module removed from src leaves no stale declaration behind). */
export function buildTypes() {
  rmSync(new URL('../dist/types', import.meta.url), { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc'); // a devDependency: packing needs `npm ci`
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const unknown = args.find((a) => a !== '--types' && a !== '--types-only');
  if (unknown) {
    console.error(`build: unknown argument ${unknown} (--types: the bundles and dist/types; --types-only: dist/types)`);
    process.exit(2);
  }
  if (!args.includes('--types-only')) await buildAll();
  if (args.includes('--types') || args.includes('--types-only')) buildTypes();
}
