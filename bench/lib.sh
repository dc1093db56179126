# Sourced by the bench scripts: a release build, a throwaway PostgreSQL tuned as a restore target
# would be, and a Pix-shaped source dumped with pg_dump -Fc.
#   bench_setup SCALE   -> ROOT, ADMIN, PG_PORT, DUMP (the .pgsql), DUMP_BYTES, DB_BYTES;
#                          everything is removed on exit (bench_cleanup, chained by the caller)
#   bench_target SIDE   -> creates role replica_SIDE owning database target_SIDE, prints its URL
#   start_fake BPS      -> the fake Scalingo serving $ROOT/backup.tar.gz (ARCHIVE_BYTES), FAKE its URL
#   side_a, side_b      -> one run of (a) the original's pipeline into URL_A, (b) the tool into
#                          URL_B, from the fake; each prints its phases' seconds, peak disk, VmHWM
#   bench_args USAGE "$@" -> SCALE, ROUNDS, JOBS, THROTTLE, ONLY, HALF from the command line (defaults set by the caller)
#   bench_throttle PREP  -> the fake Scalingo started, throttled so that the download takes a sixth of
#                          (a)'s restore, timed by one uncounted run of (a) after PREP (BPS; 0 with --unthrottled)
now() { date +%s.%N; }

bench_args() {
  local usage=$1; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --scale) SCALE=$2; shift 2 ;;
      --rounds) ROUNDS=$2; shift 2 ;;
      --jobs) JOBS=$2; shift 2 ;;
      --unthrottled) THROTTLE=0; shift ;;
      --only) ONLY=$2; shift 2 ;;
      --half-unchanged) HALF=1; shift ;;
      *) echo "usage: $usage" >&2; exit 2 ;;
    esac
  done
}

bench_throttle() {
  BPS=0
  if [ "${THROTTLE:-1}" = 1 ]; then
    echo "== calibration: one uncounted run of (a), unthrottled"
    start_fake 0
    "$@"
    local cal; read -r -a cal <<<"$(side_a)"
    # Pix's night: the retrieval is 12% of the original's whole run (1h28 of 11h58).
    local rest; rest=$(python3 -c "print(max(1.0, ${cal[5]} - ${cal[0]}))")
    BPS=$(python3 -c "print(int($ARCHIVE_BYTES / ($rest * 0.12 / 0.88)))")
    echo "   (a) took $rest s besides its download: throttling the download to $((BPS/1024)) KiB/s (12% of its whole run)"
  fi
  start_fake "$BPS"
}
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
bench_cleanup() { tmp_pg_stop; [ -n "${BENCH_KEEP:-}" ] && cp -r "$ROOT"/*.log /tmp/bench-logs/ 2>/dev/null; rm -rf "$ROOT"; }

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

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
TOKEN="tk-us-bench-token"
FAKE_PID=""

start_fake() {  # $1 = throttle in bytes/s (0 = none)
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null || true
  python3 - "$ROOT/state.json" "$ARCHIVE_BYTES" "$ROOT/backup.tar.gz" "$1" "$TOKEN" <<'PY'
import json, sys, datetime
state_path, size, archive, throttle, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
json.dump({"api_token": token, "range": True, "redirect": True, "throttle_bps": throttle or None,
           "apps": {"pix-api-production": [{"id": "ad-pg", "addon_provider": {"id": "postgresql", "name": "PostgreSQL"}}]},
           "backups": {"ad-pg": [{"id": "bk-1", "name": "bench", "status": "done", "created_at": now, "size": size}]},
           "archives": {"bk-1": archive}}, open(state_path, "w"))
PY
  rm -f "$ROOT/fake.port"
  python3 tests/fake_scalingo/fake_scalingo.py "$ROOT/state.json" "$ROOT/requests.log" >"$ROOT/fake.port" &
  FAKE_PID=$!
  while [ ! -s "$ROOT/fake.port" ]; do sleep 0.1; done
  FAKE="http://127.0.0.1:$(head -1 "$ROOT/fake.port")"
}

sample() {  # $1 = dir, $2 = pid to watch, $3 = pid whose VmHWM to read ("" = none); prints "peak_disk peak_hwm_kb"
  # One process polling, not du, awk and sleep started five times a second beside the run.
  python3 - "$@" <<'PY'
import os, sys, time
d, pid, hwm_pid = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
peak = hwm = 0
def size(top):
    n = 0
    for root, dirs, files in os.walk(top):
        for f in files:
            try: n += os.lstat(os.path.join(root, f)).st_size
            except OSError: pass
    return n
def alive():
    try: return "(zombie)" not in open("/proc/%d/status" % pid).read()
    except OSError: return False
while alive():
    peak = max(peak, size(d))
    if hwm_pid:
        try: hwm = max(hwm, int(next(l.split()[1] for l in open("/proc/%s/status" % hwm_pid) if l.startswith("VmHWM"))))
        except (OSError, StopIteration): pass
    time.sleep(0.2)
print(peak, hwm)
PY
}

probe_start() {  # $1 = target URL: a reader on users and answers during the run
  python3 bench/probe.py "$1" users answers >"$ROOT/probe.out" &
  PROBE_PID=$!
}
probe_stop() {  # not in a $(...): it must wait for its own child; then probe_result prints "dark_seconds longest_wait_seconds"
  kill -TERM "$PROBE_PID"; wait "$PROBE_PID" || true
}
probe_result() { local p; p=$(cut -d' ' -f1,2 "$ROOT/probe.out"); echo "${p:-nan nan}"; }

side_a() {  # the original, step by step, with the tools it used
  local W="$ROOT/work-a"; rm -rf "$W"; mkdir -p "$W"
  probe_start "$URL_A"
  (
    set -e
    t0=$(now)
    # What `scalingo addons`, `backups` and `backups-download` did, through the same API.
    bearer=$(curl -sf -u ":$TOKEN" -X POST "$FAKE/v1/tokens/exchange" | json 'd["token"]')
    addon=$(curl -sf -H "Authorization: Bearer $bearer" "$FAKE/v1/apps/pix-api-production/addons" | json '[a["id"] for a in d["addons"] if a["addon_provider"]["id"] == "postgresql"][0]')
    atok=$(curl -sf -X POST -H "Authorization: Bearer $bearer" -d '{}' "$FAKE/v1/apps/pix-api-production/addons/$addon/token" | json 'd["addon"]["token"]')
    bid=$(curl -sf -H "Authorization: Bearer $atok" "$FAKE/api/databases/$addon/backups" | json '[b["id"] for b in d["database_backups"] if b["status"] == "done"][0]')
    url=$(curl -sf -H "Authorization: Bearer $atok" "$FAKE/api/databases/$addon/backups/$bid/archive" | json 'd["download_url"]')
    curl -sfL -o "$W/backup.tar.gz" "$url"
    t1=$(now)
    tar xzf "$W/backup.tar.gz" -C "$W" --wildcards '*.pgsql'
    file=$(find "$W" -name '*.pgsql' | head -1)
    t2=$(now)
    psql -X -q -d "$URL_A" -c 'DROP OWNED BY CURRENT_USER CASCADE'
    t3=$(now)
    pg_restore "$file" -l | grep -v ' COMMENT ' >"$W/restore.list"
    pg_restore --verbose --jobs "$JOBS" --no-owner --use-list "$W/restore.list" -d "$URL_A" "$file" 2>"$ROOT/a-restore.log" || true
    rm -f "$file"
    t4=$(now)
    psql -X -q -d "$URL_A" -v ON_ERROR_STOP=1 \
      -c "CREATE INDEX \"users_createdAt_idx\" ON users ((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)" \
      -c 'CREATE VIEW students AS SELECT * FROM "schooling-registrations"' \
      -c "CREATE INDEX \"knowledge-elements_createdAt_idx\" ON \"knowledge-elements\" ((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)" \
      -c 'CREATE INDEX "answers_challengeId_idx" ON answers ("challengeId")'
    t5=$(now)
    echo "$(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t2" "$t3") $(secs "$t3" "$t4") $(secs "$t4" "$t5") $(secs "$t0" "$t5")" >"$ROOT/a.times"
  ) &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "")
  wait "$pid"
  probe_stop
  echo "$(cat "$ROOT/a.times") ${s% *} 0 $(probe_result)"
}

side_b() {  # pix-db-replication from the fake Scalingo; arguments: more VAR=value for its environment
  local W="$ROOT/work-b"; rm -rf "$W"; mkdir -p "$W"
  probe_start "$URL_B"
  local t0; t0=$(now)
  env DATABASE_URL="$URL_B" SCALINGO_APP=pix-api-production SCALINGO_API_TOKEN="$TOKEN" SCALINGO_AUTH_URL="$FAKE" \
  SCALINGO_API_URL="$FAKE" SCALINGO_DB_URL="$FAKE" RESTORE_FK_CONSTRAINTS=true RESTORE_ANSWERS_AND_KES=true \
  PG_RESTORE_JOBS="$JOBS" REPLICATION_WORK_DIR="$W" MAX_RETRY_COUNT=0 "$@" \
    ./build/pix-db-replication --config config/production.toml --log-format json run >"$ROOT/b.log" 2>"$ROOT/b.report" &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "$pid")
  wait "$pid" || { echo "side b failed:" >&2; tail -5 "$ROOT/b.log" >&2; exit 1; }
  local t1; t1=$(now)
  probe_stop
  python3 - "$ROOT/b.log" "$(secs "$t0" "$t1")" "$s" "$(probe_result)" <<'PY'
import json, sys
rep = [json.loads(l) for l in open(sys.argv[1]) if '"msg":"run report"' in l][-1]
ms = lambda k: rep.get("step_ms." + k, 0) / 1000
fetch = ms("scalingo-source (prepare)")
drop = ms("drop-objects (prepare)") + ms("drop-objects (execute)") + ms("drop-objects (commit)")
restore = ms("pg-restore (execute)") + ms("pg-restore (commit)")
post = ms("post-sql (execute)")
disk, hwm = sys.argv[3].split()
print("%.1f 0.0 %.1f %.1f %.1f %s %s %s %s" % (fetch, drop, restore, post, sys.argv[2], disk, hwm, sys.argv[4]))
print("%d %d" % (rep.get("live_copy_bytes", 0), rep.get("build_bytes", 0)), file=open(sys.argv[1] + ".sizes", "w"))
PY
}
