#!/usr/bin/env bash
# Builds the project with Debian 13's compiler and libraries (GCC 14, libpqxx 7.10, Boost 1.83,
# CMake 3.31, toml++ 3.4, CLI11 2.4) inside the Debian 13 root, then runs its unit and plugin
# tests there: the closest stand-in reachable from here for Scalingo's Ubuntu 24.04 and 26.04
# stacks (libpqxx 7.8/7.10, Boost 1.83/1.88, GCC 13/15). The root and its build directory are
# cached between runs; a Debug build, which compiles in about half the time and checks the same
# headers and libraries. Run as root. With --build-only it stops after the build (scripts/test.sh
# compiles it while the integration tests run, and tests it afterwards).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build_only=0
[ "${1:-}" = --build-only ] && build_only=1
root=$(bash "$src/scripts/lib/debian13-root.sh")
# A private mount namespace: the bind mounts vanish with this script, whatever happens.
unshare --mount --propagation private bash -euo pipefail -c '
  root=$1 src=$2 jobs=$3 build_only=$4
  mkdir -p "$root/pixrep/src" "$root/pixrep/build"
  mount --bind "$src" "$root/pixrep/src"
  mount -o remount,bind,ro "$root/pixrep/src"
  mount -t proc proc "$root/proc"
  mount -t tmpfs tmpfs "$root/tmp"
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash -euo pipefail -c "
    g++ --version | head -1; cmake --version | head -1
    cmake -S /pixrep/src -B /pixrep/build -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build /pixrep/build -j$jobs --target unit_tests plugin_tests
    [ $build_only = 1 ] || ctest --test-dir /pixrep/build -L \"unit|plugins\" --output-on-failure --timeout 600
  "
' _ "$root" "$src" "$(nproc)" "$build_only"
[ "$build_only" = 1 ] && echo "test-debian13: built on Debian 13 (trixie)" || echo "test-debian13: built and tested on Debian 13 (trixie)"
