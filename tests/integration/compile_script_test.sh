#!/usr/bin/env bash
# The deployment's compile script, run as the buildpack runs it: on a fresh copy of the sources.
set -euo pipefail
src=$1
# The Aptfile fits Scalingo's current stacks: no release-specific repository line (the stack's
# own PGDG repository is used), a PostgreSQL client that reads every backup (17 or newer).
! grep -q '^:repo:' "$src/Aptfile" || { echo "Aptfile has a :repo: line"; exit 1; }
grep -Eq '^postgresql-client-(1[7-9]|[2-9][0-9])$' "$src/Aptfile" || { echo "Aptfile lacks postgresql-client-17 or newer"; exit 1; }
for pkg in $(cat "$src/Aptfile"); do
  grep -q "\b$pkg\b" "$src/README.md" || { echo "README's deploy section does not mention $pkg"; exit 1; }
done
tmp=$(mktemp -d /tmp/pixrep-compile-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/app" "$tmp/cache" "$tmp/env"
tar -C "$src" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$tmp/app" -xf -
"$tmp/app/bin/compile" "$tmp/app" "$tmp/cache" "$tmp/env" >"$tmp/compile.log" 2>&1 || { cat "$tmp/compile.log"; exit 1; }
cd "$tmp/app"
for p in scalingo-source local-file drop-objects pg-restore fk-constraints answers-kes post-sql webhook; do
  test -f "build/plugins/lib$p.so" || { echo "missing plugin $p"; exit 1; }
done
# Both Procfile processes start from what was built (checked with `check`, which touches nothing).
grep -q '^web: ./build/pix-db-replication serve$' Procfile
grep -q '^background: ./build/pix-db-replication schedule$' Procfile
DATABASE_URL=postgres://u:p@127.0.0.1:1/db SCALINGO_APP=pix-api-production SCALINGO_API_TOKEN=tk-us-x REGION_NAME=osc-secnum-fr1 \
  ./build/pix-db-replication --config config/production.toml check | grep -q "configuration valid"
test -f .profile.d/pix-db-replication.sh
echo "bin/compile built a working host and every plugin into a fresh directory: OK"
