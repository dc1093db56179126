#!/usr/bin/env bash
# pg-tree.sh MAJOR ROOT_SCRIPT: prints the bin directory of a PostgreSQL MAJOR (server and client
# tools) that runs on this Debian 12 machine: the binaries of the root ROOT_SCRIPT makes, copied
# out of it and pointed at that root's loader and libraries with patchelf. The tree keeps
# PostgreSQL's layout (lib/, share/ beside bin/), which it finds relative to itself. Made once,
# cached beside the root. Run as root.
set -euo pipefail
major=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(bash "$here/$2")
out=$(dirname "$root")/pg$major
bin=$out/usr/lib/postgresql/$major/bin
if [ -f "$out/.from" ] && cmp -s "$out/.from" "$root/.pixrep-packages" && [ -x "$bin/postgres" ]; then
  echo "$bin"
  exit 0
fi
command -v patchelf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends patchelf >&2
rm -rf "$out.partial"
mkdir -p "$out.partial/usr/lib/postgresql" "$out.partial/usr/share/postgresql"
cp -a "$root/usr/lib/postgresql/$major" "$out.partial/usr/lib/postgresql/"
cp -a "$root/usr/share/postgresql/$major" "$out.partial/usr/share/postgresql/"
for f in "$out.partial/usr/lib/postgresql/$major/bin/"*; do
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
