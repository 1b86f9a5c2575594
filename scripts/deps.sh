#!/usr/bin/env bash
# Install the Debian packages minishim's build, run and tests need.
# Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

PKGS=(
  make gcc binutils xz-utils            # toolchain
  libxen-dev                            # Xen public headers (/usr/include/xen)
  newlib-source                         # C library for the image, built by make
  linux-source-6.1 gzip zstd lz4        # kernel decompressors (built by make) and their test inputs
  libcriterion-dev pkg-config           # unit tests
  qemu-system-x86                       # QEMU-direct runs and the Xen bed
  clang libclang-rt-14-dev              # libFuzzer targets
  xen-hypervisor-4.17-amd64 xen-utils-4.17   # Xen bed: L0 and the reference shim
  linux-image-amd64 busybox-static cpio      # Xen bed: dom0 kernel and initramfs
  gnuplot-nox                           # make bench: plots
  lintian                               # make test-deb: the package is lintian-clean
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
