#!/usr/bin/env bash
# The README's first command: installs, builds, then runs one real local replication into a
# throwaway PostgreSQL from a generated Pix-shaped backup, and shows what is in the target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
. scripts/lib/tmp-postgres.sh
tmp_pg_start
admin="postgresql://postgres@127.0.0.1:$PG_PORT"
psql -X -q -d "$admin/postgres" -c "CREATE DATABASE pix_source" \
  -c "CREATE ROLE pix_replica LOGIN PASSWORD 'demo-password'" -c "CREATE DATABASE pix_replica OWNER pix_replica"
work=$(mktemp -d /tmp/pixrep-demo-XXXXXX)
trap 'tmp_pg_stop; rm -rf "$work"' EXIT
bash scripts/make-sample-backup.sh "$admin/pix_source" "$work/backup.tar.gz" "${DEMO_ROWS:-20000}"

DATABASE_URL="postgresql://pix_replica:demo-password@127.0.0.1:$PG_PORT/pix_replica" \
BACKUP_FILE="$work/backup.tar.gz" REPLICATION_WORK_DIR="$work/work" \
  ./build/pix-db-replication --config config/local.toml --log-format "${LOG_FORMAT:-text}" run

echo
echo "== target database after the replication (answers and knowledge-elements are left out by default) =="
psql -X -d "postgresql://pix_replica:demo-password@127.0.0.1:$PG_PORT/pix_replica" -c "
  SELECT c.relname AS table, c.reltuples::bigint AS rows, obj_description(c.oid) AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
