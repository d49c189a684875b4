#!/usr/bin/env bash
# Installs a software Vulkan driver when the machine has no usable one, so Dawn finds an adapter.
# lavapipe (Mesa >= 24 from bookworm-backports) first: Debian 12's own Mesa 22.3 is too old for Dawn.
# SwiftShader (shipped inside Debian's chromium package) is the fallback.
# Idempotent; needs root (or sudo) for apt-get. Prints the ICD file to use on its last line.
set -euo pipefail
LVP=/usr/share/vulkan/icd.d/lvp_icd.json
SWS=/usr/lib/chromium/vk_swiftshader_icd.json
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && [ -f "$LVP" ] && dpkg --compare-versions "$v" ge 24 && dpkg -s libvulkan1 >/dev/null 2>&1
}

if mesa_ok; then echo "$LVP"; exit 0; fi

if command -v apt-get >/dev/null; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
  if [ -n "$mirror" ] && [ "$codename" = bookworm ]; then
    echo "deb $mirror bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/webgpu-attention-backports.list >/dev/null
    $SUDO apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >&2 || true
  else
    $SUDO apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >&2 || true
  fi
  if mesa_ok; then echo "$LVP"; exit 0; fi
  echo "lavapipe unavailable or too old; falling back to SwiftShader from Debian's chromium" >&2
  [ -f "$SWS" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libvulkan1 >&2
  if [ -f "$SWS" ]; then echo "$SWS"; exit 0; fi
fi
echo "no software Vulkan driver could be installed (need apt-get: Debian/Ubuntu)" >&2
exit 1
