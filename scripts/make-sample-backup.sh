#!/usr/bin/env bash
# make-sample-backup.sh <source-url> <out.tar.gz> [rows]
# Loads the Pix-shaped sample into <source-url>, dumps it with pg_dump -Fc and packs it as
# Scalingo does: a .tar.gz holding ./<YYYYMMDDHHMMSS>_<name>.pgsql.
set -euo pipefail
src=$1 out=$2 rows=${3:-20000}
here=$(cd "$(dirname "$0")/.." && pwd)
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d "$src" -f "$here/tests/fixtures/pix-shaped.sql" >/dev/null
tmp=$(mktemp -d)
name="$(date -u +%Y%m%d%H%M%S)_pix-sample.pgsql"
pg_dump -Fc -d "$src" -f "$tmp/$name"
tar czf "$out" -C "$tmp" "./$name"
rm -rf "$tmp"
echo "sample backup: $out ($(stat -c %s "$out") bytes, $rows answers)"
