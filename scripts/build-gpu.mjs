// Packs what the NVIDIA H100 machine runs into .gpu/ (which travels with the tree; keep it under 64 MiB):
//   .gpu/bench.mjs, .gpu/ort-child.mjs   the benchmark and its onnxruntime child process (minified)
//   .gpu/cli.mjs                         the CLI, when src/cli/main.ts exists
//   .gpu/matmul-tune.mjs                 every matmul tile config on the attention shapes
//   .gpu/attention-tune.mjs              every fused attention tile config beside the materialized core
//   .gpu/ort.tar.xz                      onnxruntime-node's linux-x64 native files and JS, with onnxruntime-common
//                                        (xz -9: 45 MB of libonnxruntime.so.1 become ≈ 12.5 MB)
// Node, the Vulkan loader and Dawn's addon are put there first by scripts/pack-gpu.sh (run here when
// .gpu/env.sh is missing or older than scripts/gpu-env.sh). tfjs is pure JS, bundled in.
//
// Run there (the device command, from the project root):
//   source .gpu/env.sh && mkdir -p /tmp/ort && tar -xJf .gpu/ort.tar.xz -C /tmp/ort &&
//   ORT_NODE_PATH=/tmp/ort/node_modules/onnxruntime-node node .gpu/bench.mjs [flags]
// Without ort.tar.xz (NO_ORT=1 here, or too big), the benchmark reports onnxruntime-webgpu as not available.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, root } from './build.mjs';
import { bundleBench } from './run-bench.mjs';
import { bundleTune } from './run-tune.mjs';

const out = join(root, '.gpu');
const LIMIT = 60 * 2 ** 20; // leave room under the 64 MiB that travels for the tree itself
const MiB = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function du(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + du(join(path, name)), 0);
}

const envSh = join(out, 'env.sh');
if (!existsSync(envSh) || statSync(envSh).mtimeMs < statSync(join(root, 'scripts/gpu-env.sh')).mtimeMs) {
  console.log('running scripts/pack-gpu.sh');
  execFileSync('bash', [join(root, 'scripts/pack-gpu.sh')], { cwd: root, stdio: 'inherit' });
}

const minified = { minify: true, sourcemap: false, legalComments: 'none' };
await bundleBench(out, minified);
await bundleTune('matmul', join(out, 'matmul-tune.mjs'), minified);
await bundleTune('attention', join(out, 'attention-tune.mjs'), minified);
if (existsSync(join(root, 'src/cli/main.ts'))) {
  await bundle({ entryPoints: ['src/cli/main.ts'], outfile: join(out, 'cli.mjs'), platform: 'node', external: ['webgpu'], ...minified });
}

// onnxruntime-node: only what `require('onnxruntime-node')` loads on linux-x64.
const tarball = join(out, 'ort.tar.xz');
const so = join(root, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1');
if (process.env.NO_ORT) rmSync(tarball, { force: true });
else if (!existsSync(so)) console.warn('onnxruntime-node (linux-x64) is not installed: the H100 run will report onnxruntime-webgpu as not available');
else if (!existsSync(tarball) || statSync(tarball).mtimeMs < statSync(so).mtimeMs) {
  console.log('packing onnxruntime-node with xz -9 (about 40 s)');
  const files = [
    'onnxruntime-node/package.json', 'onnxruntime-node/dist', 'onnxruntime-node/bin/napi-v6/linux/x64',
    'onnxruntime-common/package.json', 'onnxruntime-common/dist/cjs',
  ];
  mkdirSync(out, { recursive: true });
  execFileSync('bash', ['-c', `tar -C node_modules -cf - --transform 's,^,node_modules/,' ${files.join(' ')} | xz -9 -T0 > "${tarball}"`], { cwd: root, stdio: 'inherit' });
}

const total = du(out);
for (const name of ['bench.mjs', 'ort-child.mjs', 'cli.mjs', 'matmul-tune.mjs', 'attention-tune.mjs', 'ort.tar.xz']) if (existsSync(join(out, name))) console.log(`.gpu/${name}: ${MiB(du(join(out, name)))}`);
console.log(`.gpu/ is ${MiB(total)}${total > LIMIT ? ` — OVER ${MiB(LIMIT)}: rebuild with NO_ORT=1 (onnxruntime cannot travel)` : ''}`);
