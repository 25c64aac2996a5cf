#!/usr/bin/env bash
# Installs what building and testing need, idempotently, on a fresh Debian
# machine: the Debian packages the tests use as independent peers and the C
# build needs, then the npm packages from the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libcoap3-bin tshark protobuf-compiler libmbedtls-dev cmake gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm valgrind clang libclang-rt-dev llvm)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.setup-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
  touch "$stamp"
fi
