# Sourced by the bench scripts: a release build, a throwaway PostgreSQL tuned as a restore target
# would be, and a Pix-shaped source dumped with pg_dump -Fc.
#   bench_setup SCALE   -> ROOT, ADMIN, PG_PORT, DUMP (the .pgsql), DUMP_BYTES, DB_BYTES;
#                          everything is removed on exit (bench_cleanup, chained by the caller)
#   bench_target SIDE   -> creates role replica_SIDE owning database target_SIDE, prints its URL
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

bench_setup() {
  bash scripts/install-deps.sh >/dev/null
  BUILD_TYPE=Release bash scripts/build.sh >/dev/null
  ROOT=$(mktemp -d /tmp/pixrep-bench-XXXXXX)
  chmod 755 "$ROOT"  # the server runs as the postgres user
  export PG_TMP_ROOT=$ROOT PG_SERVER_OPTS="-c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min"
  . scripts/lib/tmp-postgres.sh
  tmp_pg_start
  trap bench_cleanup EXIT
  ADMIN="postgresql://postgres@127.0.0.1:$PG_PORT"
  echo "== building the source at scale $1"
  local t; t=$(now)
  psql -X -q -d "$ADMIN/postgres" -c "CREATE DATABASE source"
  psql -X -q -v ON_ERROR_STOP=1 -v scale="$1" -d "$ADMIN/source" -f bench/pix-bench.sql
  mkdir -p "$ROOT/pack"
  DUMP="$ROOT/pack/$(date -u +%Y%m%d%H%M%S)_pix_bench.pgsql"
  pg_dump -Fc -d "$ADMIN/source" -f "$DUMP"
  DUMP_BYTES=$(stat -c %s "$DUMP")
  DB_BYTES=$(psql -X -At -d "$ADMIN/source" -c "SELECT pg_database_size('source')")
  echo "   source $((DB_BYTES/1048576)) MiB, dump $((DUMP_BYTES/1048576)) MiB, built in $(secs "$t" "$(now)") s"
}
bench_cleanup() { tmp_pg_stop; rm -rf "$ROOT"; }

bench_target() {
  psql -X -q -d "$ADMIN/postgres" -c "CREATE ROLE replica_$1 LOGIN PASSWORD 'bench-$1'" -c "CREATE DATABASE target_$1 OWNER replica_$1"
  echo "postgresql://replica_$1:bench-$1@127.0.0.1:$PG_PORT/target_$1"
}

machine() { echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $(psql -X -At -d "$ADMIN/postgres" -c 'SHOW server_version')"; }

checksums() {  # per table: rows and an order-independent content hash; plus constraint and index counts
  psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM %I t', tablename, tablename)
FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename \gexec
SELECT 'constraints ' || string_agg(contype::text || ':' || n, ',' ORDER BY contype::text) FROM (SELECT contype, count(*) n FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = 'public' GROUP BY contype) x;
SELECT 'indexes ' || count(*) FROM pg_indexes WHERE schemaname = 'public';
SELECT 'views ' || count(*) FROM pg_views WHERE schemaname = 'public';
SQL
}
