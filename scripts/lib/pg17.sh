#!/usr/bin/env bash
# pg17.sh: prints the bin directory of a PostgreSQL 17 (server and client tools) that runs on
# this Debian 12 machine: Debian 13's binaries, copied out of the Debian 13 root (made by
# debian13-root.sh) and pointed at that root's loader and libraries with patchelf. The tree
# keeps PostgreSQL's layout (lib/, share/ beside bin/), which it finds relative to itself.
# Made once, cached beside the root. Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(bash "$here/debian13-root.sh")
out=$(dirname "$root")/pg17
bin=$out/usr/lib/postgresql/17/bin
if [ -f "$out/.from" ] && cmp -s "$out/.from" "$root/.pixrep-packages" && [ -x "$bin/postgres" ]; then
  echo "$bin"
  exit 0
fi
command -v patchelf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends patchelf >&2
rm -rf "$out.partial"
mkdir -p "$out.partial/usr/lib/postgresql" "$out.partial/usr/share/postgresql"
cp -a "$root/usr/lib/postgresql/17" "$out.partial/usr/lib/postgresql/"
cp -a "$root/usr/share/postgresql/17" "$out.partial/usr/share/postgresql/"
for f in "$out.partial/usr/lib/postgresql/17/bin/"*; do
  if head -c 4 "$f" | grep -q ELF; then
    patchelf --set-interpreter "$root/usr/lib64/ld-linux-x86-64.so.2" --force-rpath \
      --set-rpath "$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" "$f"
  fi
done
cp "$root/.pixrep-packages" "$out.partial/.from"
rm -rf "$out"
mv "$out.partial" "$out"
"$bin/pg_restore" --version >&2
echo "$bin"
