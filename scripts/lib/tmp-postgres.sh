# Sourced: a throwaway PostgreSQL on a free loopback port in a temporary directory.
#   tmp_pg_start   -> sets PG_DIR, PG_PORT, PG_BIN; registers its own stop on EXIT
#                     (PG_SERVER_OPTS adds server settings, PG_TMP_ROOT chooses where it lives)
#   tmp_pg_stop
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | head -1)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
tmp_pg_start() {
  PG_DIR=$(mktemp -d "${PG_TMP_ROOT:-/tmp}/pixrep-pg-XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  trap tmp_pg_stop EXIT
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/server.log" \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 ${PG_SERVER_OPTS:-}" start >/dev/null
}
tmp_pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
