// `npm start`: make sure an adapter exists (installing a software Vulkan driver where there is
// no GPU), build, then run GPT-3-shaped attention sized to the adapter: the full preset on a
// GPU, GPT-3's widths with a short sequence and two layers on a software adapter (under a minute).
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startArgs } from './start-args.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.env.XDG_RUNTIME_DIR ??= '/tmp';

async function adapterInfo() {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const i = adapter.info;
  return [i.vendor, i.architecture, i.device, i.description].join(' ');
}

// Probe in a child process: Dawn reads the Vulkan drivers once per process.
const probe = () => spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--probe'], { encoding: 'utf8' });

if (process.argv[2] === '--probe') {
  const name = await adapterInfo();
  console.log(name ?? '');
  process.exit(name ? 0 : 3);
}

let found = probe();
if (found.status !== 0) {
  console.error('no WebGPU adapter found: installing a software Vulkan driver (lavapipe)…');
  execFileSync('bash', [`${root}/scripts/install-software-vulkan.sh`], { stdio: ['ignore', 'ignore', 'inherit'] });
  found = probe();
  if (found.status !== 0) {
    console.error('still no WebGPU adapter after installing a software Vulkan driver; see README.md');
    process.exit(1);
  }
}
execFileSync(process.execPath, [`${root}/scripts/build.mjs`], { stdio: 'inherit' });
const software = /llvmpipe|lavapipe|swiftshader/i.test(found.stdout);
const args = startArgs(process.argv.slice(2), software);
console.error(`webgpu-attention ${args.join(' ')}`);
const run = spawnSync(process.execPath, [`${root}/dist/cli.mjs`, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
