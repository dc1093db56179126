#!/usr/bin/env bash
# debian-root.sh SUITE [--script NAME] [--no-valid-until] PACKAGE...: makes (once) and prints the
# path of a root of Debian's SUITE holding PACKAGE..., beside this Debian 12 machine and never
# mixed into it. Cached (PIXREP_CACHE, default /var/cache/pix-db-replication/SUITE); rebuilt when
# the package list changes. --script names debootstrap's script when its own lacks the suite
# (forky: sid); --no-valid-until lets apt read a mirror whose Release file is past its
# Valid-Until (forky's may be). Run as root.
set -euo pipefail
suite=$1
shift
script= apt_opts=()
while [ $# -gt 0 ]; do
  case $1 in
    --script) script=/usr/share/debootstrap/scripts/$2; shift 2 ;;
    --no-valid-until) apt_opts=(-o Acquire::Check-Valid-Until=false); shift ;;
    *) break ;;
  esac
done
packages=("$@")
cache=${PIXREP_CACHE:-/var/cache/pix-db-replication}
root=$cache/$suite
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
stamp=$root/.pixrep-packages
want="${packages[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$root"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "debian-root: must run as root to build $root" >&2; exit 1; }
for tool in debootstrap patchelf; do
  command -v "$tool" >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$tool" >&2; }
done
mkdir -p "$cache"
exec 9>"$cache/.lock-$suite"
flock 9
if [ ! -x "$root/usr/bin/apt-get" ]; then
  rm -rf "$root.partial"
  echo "debian-root: debootstrap $suite into $root (a few minutes, once)" >&2
  debootstrap --variant=minbase "$suite" "$root.partial" "$mirror" $script >&2
  mv "$root.partial" "$root"
fi
# No service may start inside the root, and no default cluster is wanted: tests make their own.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
echo "debian-root: installing ${#packages[@]} packages into $root" >&2
unshare --mount --propagation private bash -c '
  root=$1 nopts=$2
  shift 2
  opts=("${@:1:nopts}")
  pkgs=("${@:nopts+1}")
  mount -t proc proc "$root/proc"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update -q
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y -q --no-install-recommends "${pkgs[@]}"
  chroot "$root" apt-get clean
' _ "$root" "${#apt_opts[@]}" "${apt_opts[@]}" "${packages[@]}" >&2
echo "$want" >"$stamp"
echo "$root"
