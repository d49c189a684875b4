# Sourced first by every command on a bare GPU machine, from the project root:
#   source .gpu/env.sh && node .gpu/cli.mjs info
# (scripts/pack-gpu.sh copies this file to .gpu/env.sh.) It unpacks the Vulkan and GL loaders
# carried in .gpu/debs (the machine has the NVIDIA driver but no loader; needs root), points the
# loader at NVIDIA's driver, unpacks node and Dawn's addon from their xz copies into
# /tmp/webgpu-attention-node and puts node on PATH, with .gpu/node_modules (Dawn) on NODE_PATH.

_gpu=$PWD/.gpu
if [ ! -f "$_gpu/node.xz" ]; then
  echo ".gpu/env.sh: source it from the project root (no .gpu/node.xz under $PWD)" >&2
  return 1 2>/dev/null || exit 1
fi

# The loaders, unless the machine already has one.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  for f in "$_gpu"/debs/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi

# NVIDIA's Vulkan ICD and EGL vendor files: where the container runtime mounts them, else the
# distribution's places. A machine with none of them keeps the loader's own search.
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
         /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$f" ] && { export VK_DRIVER_FILES=$f; break; }
done
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -f "$f" ] && { export __EGL_VENDOR_LIBRARY_FILENAMES=$f; break; }
done

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

# node, once per machine.
_nodebin=/tmp/webgpu-attention-node
mkdir -p "$_nodebin"
if [ ! -x "$_nodebin/node" ] || [ "$("$_nodebin/node" --version 2>/dev/null)" != "$(cat "$_gpu/node.version")" ]; then
  xz -dc "$_gpu/node.xz" > "$_nodebin/node.tmp" && chmod +x "$_nodebin/node.tmp" && mv "$_nodebin/node.tmp" "$_nodebin/node"
fi
export PATH=$_nodebin:$PATH

# Dawn's addon: unpacked once per machine outside the tree (so .gpu/ keeps its size), and linked
# where the webgpu package loads it from.
_addon=$_gpu/node_modules/webgpu/dist/linux-x64/dawn.node
if [ -f "$_addon.xz" ]; then
  if [ ! -s "$_nodebin/dawn.node" ] || [ "$_addon.xz" -nt "$_nodebin/dawn.node" ]; then
    xz -dc "$_addon.xz" > "$_nodebin/dawn.node.tmp" && mv "$_nodebin/dawn.node.tmp" "$_nodebin/dawn.node"
  fi
  ln -sfn "$_nodebin/dawn.node" "$_addon"
fi
export NODE_PATH=$_gpu/node_modules
unset _gpu _nodebin _addon
