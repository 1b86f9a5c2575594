#!/usr/bin/env bash
# make test-deb: the package and the install as a user gets them.
#  1. make deb; its Version field is scripts/version.sh's version;
#  2. it holds /usr/lib/minishim/minishim.elf and the docs, unpacked with
#     ar + tar as the bed's dom0 does (tests/bed) and with dpkg-deb -x;
#  3. the installed (stripped) image boots the hello guest under QEMU and
#     its banner carries the package's version and commit;
#  4. make install PREFIX=/opt/minishim DESTDIR=... puts the same files
#     under that prefix;
#  5. lintian --fail-on error (scripts/deps.sh installs it; a machine
#     without it skips this step and says so).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}
work="$build/test-deb"
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL test-deb: $*"; exit 1; }

read -r version commit < <("$top/scripts/version.sh")
deb=$("$top/scripts/mkdeb.sh" "$build")
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
  fail "package version $(dpkg-deb -f "$deb" Version), expected $version"
[ "$(dpkg-deb -f "$deb" Package)" = minishim ] || fail "package name"

mkdir -p "$work/ar" "$work/dpkg"
(cd "$work/ar" && ar x "$deb" && tar -xf data.tar.xz)
dpkg-deb -x "$deb" "$work/dpkg"
for root in "$work/ar" "$work/dpkg"; do
  for f in usr/lib/minishim/minishim.elf usr/share/doc/minishim/deploy.md \
           usr/share/doc/minishim/README.md usr/share/doc/minishim/copyright \
           usr/share/doc/minishim/changelog.gz; do
    [ -s "$root/$f" ] || fail "$f missing from the package (${root##*/} unpack)"
  done
done
cmp -s "$work/ar/usr/lib/minishim/minishim.elf" "$work/dpkg/usr/lib/minishim/minishim.elf" ||
  fail "ar/tar and dpkg-deb unpack differ"

log="$work/boot.log"
"$top/tests/qemu/run-shim.sh" --quiet --timeout "${QEMU_TIMEOUT:-60}" --log "$log" \
  --image "$work/dpkg/usr/lib/minishim/minishim.elf" --guest "$build/guests/hello.elf" ||
  fail "installed image did not power off cleanly (log: $log)"
grep -aqF "minishim $version: PV shim" "$log" || fail "banner lacks version $version (log: $log)"
grep -aqF "(commit $commit)" "$log" || fail "banner lacks commit $commit (log: $log)"
grep -aqF "RESULT hello PASS" "$log" || fail "guest did not pass (log: $log)"

env -u MAKEFLAGS -u MFLAGS make -s -C "$top" BUILD="$build" install PREFIX=/opt/minishim DESTDIR="$work/inst" >/dev/null
cmp -s "$work/inst/opt/minishim/lib/minishim/minishim.elf" "$work/dpkg/usr/lib/minishim/minishim.elf" ||
  fail "make install PREFIX=/opt/minishim: image missing or different"
[ -s "$work/inst/opt/minishim/share/doc/minishim/deploy.md" ] || fail "make install: docs missing"

if command -v lintian >/dev/null; then
  lintian --fail-on error "$deb" > "$work/lintian.log" 2>&1 ||
    { cat "$work/lintian.log"; fail "lintian reports errors"; }
  echo "test-deb: lintian: no errors ($(grep -c '^W:' "$work/lintian.log" || true) warnings)"
else
  echo "test-deb: lintian not installed; skipped (apt-get install lintian)"
fi
echo "PASS test-deb: ${deb#$top/} ($version) installs and boots a guest"
