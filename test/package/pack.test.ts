// @module-tag slow (npm pack and install): `npm test` runs it, `npm run test:fast` does not.
// The package as someone who installs it gets it: `npm pack` from a copy of the checkout with no
// dist/ (so the prepack script must build what "exports" and "bin" name), the tarball installed
// into a scratch project (its dependency `webgpu` from npm's cache or the registry), then the
// README's library example run there verbatim, its types checked, and the command run through npx.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../../scripts/build.mjs';

/** The README's "Library" code block: the example this test runs, so the README cannot drift from it. */
function libraryExample(readme: string): string {
  const section = readme.split(/^## Library\n/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Library" section');
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`README.md's "Library" section has ${blocks.length} js code blocks; the test runs exactly one`);
  return blocks[0]!;
}

// The variables an enclosing `npm test` sets describe this project (npm_config_local_prefix would make
// the scratch install land in the checkout): dropped. Registry, cache and other settings stay.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(package_|lifecycle_|command$|config_local_prefix$|config_call$)/i.test(k)));
env.XDG_RUNTIME_DIR ??= '/tmp';

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}
const must = (r: SpawnSyncReturns<string>, what: string) => {
  expect(r.status, `${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};

let tmp = '';
let scratch = '';
let tarball = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wa-pack-'));
  // A clean checkout: the files git knows (committed, or new and not ignored), no dist/; the
  // installed node_modules linked in, as `npm ci` would have made them.
  const checkout = join(tmp, 'checkout');
  const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  must(listed, 'git ls-files');
  for (const file of listed.stdout.split('\0')) {
    if (!file || !existsSync(join(root, file))) continue; // deleted in the work tree, not yet in git
    mkdirSync(dirname(join(checkout, file)), { recursive: true });
    copyFileSync(join(root, file), join(checkout, file));
  }
  expect(existsSync(join(checkout, 'dist'))).toBe(false);
  symlinkSync(join(root, 'node_modules'), join(checkout, 'node_modules'), 'dir');

  const out = join(tmp, 'out');
  mkdirSync(out);
  must(run('npm', ['pack', '--pack-destination', out, '--loglevel', 'error'], checkout), 'npm pack');
  const tgz = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toHaveLength(1);
  tarball = join(out, tgz[0]!);

  scratch = join(tmp, 'scratch');
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  must(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel', 'error', tarball], scratch), 'npm install');
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('carries the bundles, the declarations and the command that package.json names', () => {
    const listing = must(run('tar', ['-tzf', tarball], tmp), 'tar').stdout.split('\n');
    for (const f of ['dist/cli.mjs', 'dist/index.js', 'dist/node.js', 'dist/types/index.d.ts', 'dist/types/node/index.d.ts', 'bin/webgpu-attention.mjs']) {
      expect(listing, f).toContain(`package/${f}`);
    }
    // Every target of "exports" and "bin" in the installed copy.
    const installed = join(scratch, 'node_modules', 'webgpu-attention');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    const targets: string[] = [...Object.values(pkg.bin as Record<string, string>)];
    const walk = (e: unknown): void => {
      if (typeof e === 'string') targets.push(e);
      else if (e && typeof e === 'object') Object.values(e).forEach(walk);
    };
    walk(pkg.exports);
    expect(targets.length).toBeGreaterThan(5);
    for (const t of targets) expect(existsSync(join(installed, t)), t).toBe(true);
    // Nothing of the browser page or the GPU machine's bundles.
    expect(listing.filter((f) => f.startsWith('package/dist/web/'))).toEqual([]);
  });

  it("runs the README's library example: two causal layers on this adapter, verified against float64", () => {
    const example = libraryExample(readFileSync(join(root, 'README.md'), 'utf8'));
    writeFileSync(join(scratch, 'example.mjs'), example);
    const r = must(run(process.execPath, ['example.mjs'], scratch), 'the README example');
    expect(r.stdout).toMatch(/: 2 layers in [\d.]+ ms\n/);
    expect(r.stdout).toMatch(/^verification passed: 2 layer\(s\), every output element/m);
  });

  it("type-checks the same example against the package's declarations", () => {
    const example = libraryExample(readFileSync(join(root, 'README.md'), 'utf8'));
    writeFileSync(join(scratch, 'example.ts'), example);
    writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        // A Node project has @types/node; this one borrows the checkout's.
        typeRoots: [join(root, 'node_modules', '@types')], types: ['node'],
      },
      files: ['example.ts'],
    }));
    must(run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], scratch), 'tsc on the example');
  });

  it('installs the command: npx webgpu-attention params --preset gpt3', () => {
    const r = must(run('npx', ['--no', 'webgpu-attention', 'params', '--preset', 'gpt3'], scratch), 'npx webgpu-attention');
    expect(r.stdout).toContain('total (96 layers): 57,982,058,496 attention parameters');
  });
});
