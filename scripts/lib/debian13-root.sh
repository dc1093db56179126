#!/usr/bin/env bash
# debian13-root.sh: makes (once) and prints the path of a Debian 13 (trixie) root holding
# PostgreSQL 17 and this project's build dependencies, for the tests that need PostgreSQL 17 and
# for the build-and-test run on Debian 13's libraries. Debian 13 stays inside that root: nothing
# of it is mixed into this Debian 12 machine. Cached between runs (PIXREP_CACHE, default
# /var/cache/pix-db-replication); rebuilt when the package list below changes. Run as root.
set -euo pipefail
cache=${PIXREP_CACHE:-/var/cache/pix-db-replication}
root=$cache/trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(
  postgresql-17 postgresql-client-17
  g++ cmake make pkg-config ca-certificates tzdata python3 binutils
  libboost-dev libpqxx-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libcurl4-openssl-dev libarchive-dev libgtest-dev
)
stamp=$root/.pixrep-packages
want="${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$root"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "debian13-root: must run as root to build $root" >&2; exit 1; }
for tool in debootstrap patchelf; do
  command -v "$tool" >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$tool" >&2; }
done
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -x "$root/usr/bin/apt-get" ]; then
  rm -rf "$root.partial"
  echo "debian13-root: debootstrap trixie into $root (a few minutes, once)" >&2
  debootstrap --variant=minbase trixie "$root.partial" "$mirror" >&2
  mv "$root.partial" "$root"
fi
# No service may start inside the root, and no default cluster is wanted: tests make their own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
echo "debian13-root: installing ${#packages[@]} packages into $root" >&2
unshare --mount --propagation private bash -c '
  mount -t proc proc "$1/proc"
  chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${@:2}"
  chroot "$1" apt-get clean
' _ "$root" "${packages[@]}" >&2
echo "$want" >"$stamp"
echo "$root"
