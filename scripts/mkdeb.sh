#!/usr/bin/env bash
# Build the minishim Debian package with dpkg-deb alone (no network, no
# debhelper): make install PREFIX=/usr into a staging tree, then the
# control file, copyright, changelog and md5sums Debian policy asks for.
#   mkdeb.sh BUILD_DIR   writes BUILD_DIR/minishim_VERSION_amd64.deb and
#                        prints its path
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: mkdeb.sh BUILD_DIR}
read -r version commit < <("$top/scripts/version.sh")
stage="$build/deb/minishim"
rm -rf "$stage" && mkdir -p "$stage/DEBIAN"
env -u MAKEFLAGS -u MFLAGS make -s -C "$top" BUILD="$build" install PREFIX=/usr DESTDIR="$stage" >/dev/null

doc="$stage/usr/share/doc/minishim"
cat > "$doc/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: minishim
Comment: Built from commit $commit.

Files: *
Copyright: 2026 the minishim authors
License: other
 No licence has been chosen for minishim yet; until one is, the authors
 keep all rights. The image links newlib (Debian's newlib-source), whose
 parts are under BSD-style licences: see /usr/share/doc/newlib-source on
 a Debian system.
COPY
date=$(git -C "$top" log -1 --format=%aD 2>/dev/null || date -R)
printf 'minishim (%s) unstable; urgency=medium\n\n  * Build of commit %s.\n\n -- minishim developers <minishim-devel@example.org>  %s\n' \
  "$version" "$commit" "$date" | gzip -9n > "$doc/changelog.gz"   # native: no Debian revision

# The image is a hypervisor loaded by Xen's PVH loader (or QEMU), not a
# program: static linking is what it must be.
mkdir -p "$stage/usr/share/lintian/overrides"
printf '%s\n' "# A PVH kernel image, not a userspace program." \
  "minishim: statically-linked-binary [usr/lib/minishim/minishim.elf]" \
  > "$stage/usr/share/lintian/overrides/minishim"

size_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CTRL
Package: minishim
Version: $version
Architecture: amd64
Maintainer: minishim developers <minishim-devel@example.org>
Installed-Size: $size_kb
Section: admin
Priority: optional
Suggests: xen-utils-4.17
Description: PV shim running one 64-bit Xen PV guest inside a PVH domain
 minishim is a small hypervisor that boots as a PVH guest of an L0
 hypervisor (Xen 4.17, or Hyper-V) and runs one unmodified 64-bit Xen PV
 guest inside it, as Xen's own pv-shim does. xl uses it with pvshim=1 and
 pvshim_path="/usr/lib/minishim/minishim.elf" (see
 /usr/share/doc/minishim/deploy.md).
CTRL
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage/usr" -type f -exec chmod 0644 {} +
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
deb="$build/minishim_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
