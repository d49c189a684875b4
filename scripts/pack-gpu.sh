#!/usr/bin/env bash
# Packs, into .gpu/ (ignored; it travels with the tree to a bare GPU machine, so it stays well under
# 64 MiB), what a machine with only the NVIDIA driver needs to run the bundles:
#   .gpu/node.xz, node.version          this machine's node, xz-compressed (≈ 23 MiB)
#   .gpu/debs/*.deb                     the Vulkan and GL loaders (libvulkan1, libglvnd's EGL/GL)
#   .gpu/node_modules/webgpu            Dawn for linux-x64, its addon xz-compressed (21 → ≈ 5 MiB),
#                                       with the packages it requires
#   .gpu/env.sh                         scripts/gpu-env.sh: unpacks all of it there
# Usage, from anywhere in the checkout, after `npm ci` (x86-64 Linux with apt; Debian's loaders):
#   bash scripts/pack-gpu.sh [FILE ...]     (FILEs are copied into .gpu/ too)
# There:  source .gpu/env.sh && node .gpu/cli.mjs info      (bundles: scripts/build-gpu.mjs)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=.gpu

[ "$(uname -m)" = x86_64 ] || { echo "pack-gpu: the GPU machine is x86-64 and this one is $(uname -m): node and Dawn would not run there" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "pack-gpu: node_modules/webgpu (linux-x64) is missing: run npm ci first" >&2; exit 1; }
for tool in xz apt-get; do command -v "$tool" >/dev/null || { echo "pack-gpu: $tool is needed" >&2; exit 1; }; done
mkdir -p "$out/debs" "$out/node_modules"

# node: recompressed only when this machine's version changes.
if [ ! -s "$out/node.xz" ] || [ "$(cat "$out/node.version" 2>/dev/null)" != "$(node --version)" ]; then
  echo "packing node $(node --version) with xz (about 30 s)"
  xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > "$out/node.xz.tmp"
  mv "$out/node.xz.tmp" "$out/node.xz"
  node --version > "$out/node.version"
fi

# The loaders, as Debian packages for amd64 (env.sh unpacks them with dpkg -x). apt-get download
# needs the package lists; a private list directory keeps this from touching the system's.
debs=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
missing=()
for p in "${debs[@]}"; do ls "$out/debs/${p}_"*.deb >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "downloading ${missing[*]}"
  if ! (cd "$out/debs" && apt-get download "${missing[@]}" >/dev/null 2>&1); then
    lists=$(mktemp -d)
    mkdir -p "$lists/partial"
    apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
    apt-get "${apt[@]}" update -qq
    (cd "$out/debs" && apt-get "${apt[@]}" download "${missing[@]}")
    rm -rf "$lists"
  fi
fi

# Dawn: the package's loader, its linux-x64 addon (compressed), and what it requires at run time.
rm -rf "$out/node_modules/webgpu"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > "$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
for dep in debug ms @webgpu/types; do
  if [ -d "node_modules/$dep" ]; then
    rm -rf "${out:?}/node_modules/$dep"
    mkdir -p "$out/node_modules/$(dirname "$dep")"
    cp -r "node_modules/$dep" "$out/node_modules/$dep"
  fi
done

cp scripts/gpu-env.sh "$out/env.sh"
for f in "$@"; do cp -r "$f" "$out/"; done

size=$(du -sb "$out" | cut -f1)
echo ".gpu/ is $((size / 1048576)) MiB (what travels must stay under 64 MiB)"
[ "$size" -lt $((64 * 1048576)) ] || { echo "pack-gpu: .gpu/ is over 64 MiB" >&2; exit 1; }
