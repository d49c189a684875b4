// Debian's headless Chromium with WebGPU on a software adapter, driven by playwright-core
// (never a downloaded browser: none can be fetched here). Two profiles (README.md, "In the browser"):
//   swiftshader  the full (core) WebGPU profile on SwiftShader's Vulkan
//   compat       compatibility mode: Dawn's OpenGL ES backend on ANGLE on lavapipe (faster, lower limits)

import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

export type Profile = 'swiftshader' | 'compat';

// Keep the browser from reaching out (updates, sync, QUIC probes): nothing outside is reachable.
const QUIET = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ARGS: Record<Profile, string[]> = {
  swiftshader: [
    '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
    '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader', ...QUIET,
  ],
  // No --enable-features here: it would replace playwright's own feature list.
  compat: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-angle=vulkan', '--use-webgpu-adapter=opengles', '--force-webgpu-compat', ...QUIET],
};

/** Why a profile cannot run on this machine, or null. A missing browser is a failure to report, not a skip. */
export function missing(profile: Profile): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`;
  if (profile === 'compat' && !existsSync(LAVAPIPE_ICD)) {
    return `${LAVAPIPE_ICD} not found: install lavapipe (bash scripts/install-software-vulkan.sh)`;
  }
  return null;
}

export async function launch(profile: Profile): Promise<Browser> {
  const why = missing(profile);
  if (why) throw new Error(why);
  const runtime = '/tmp/webgpu-attention-xdg';
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const env: Record<string, string> = { ...(process.env as Record<string, string>), XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? runtime };
  if (profile === 'compat') env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS[profile], env, timeout: 60_000 });
}
