#!/usr/bin/env bash
# Side-by-side benchmark: (a) the original pipeline reproduced with standard tools against
# (b) pix-db-replication, alternating, on the same archive, the same PostgreSQL and the same
# options (foreign keys and big tables restored, 4 jobs). Not part of the test suite.
#
#   bash bench/run.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled]
#
# The archive is served by the fake Scalingo on loopback, throttled so that the download takes
# about a sixth of the original's restore time (production's proportion: 1h27 vs 8h51),
# calibrated by a first, uncounted run of (a). Results: bench/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=2 JOBS=4 THROTTLE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --unthrottled) THROTTLE=0; shift ;;
    *) echo "usage: bench/run.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled]" >&2; exit 2 ;;
  esac
done
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
. bench/lib.sh

bench_setup "$SCALE"
FAKE_PID=""
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; bench_cleanup' EXIT
tar czf "$ROOT/backup.tar.gz" -C "$(dirname "$DUMP")" "./$(basename "$DUMP")"
ARCHIVE_BYTES=$(stat -c %s "$ROOT/backup.tar.gz"); rm -rf "$(dirname "$DUMP")"
echo "   archive $((ARCHIVE_BYTES/1048576)) MiB"
URL_A=$(bench_target a)
URL_B=$(bench_target b)
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-scale$SCALE.md"
TOKEN="tk-us-bench-token"

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
  local peak=0 hwm=0 d h
  while kill -0 "$2" 2>/dev/null; do
    d=$(du -sb "$1" 2>/dev/null | cut -f1); [ "${d:-0}" -gt "$peak" ] && peak=$d
    if [ -n "$3" ]; then h=$(awk '/VmHWM/ {print $2}' "/proc/$3/status" 2>/dev/null || true); [ "${h:-0}" -gt "$hwm" ] && hwm=$h; fi
    sleep 0.2
  done
  echo "$peak $hwm"
}

side_a() {  # the original, step by step, with the tools it used
  local W="$ROOT/work-a"; rm -rf "$W"; mkdir -p "$W"
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
  echo "$(cat "$ROOT/a.times") ${s% *} 0"
}

side_b() {
  local W="$ROOT/work-b"; rm -rf "$W"; mkdir -p "$W"
  local t0; t0=$(now)
  DATABASE_URL="$URL_B" SCALINGO_APP=pix-api-production SCALINGO_API_TOKEN="$TOKEN" SCALINGO_AUTH_URL="$FAKE" \
  SCALINGO_API_URL="$FAKE" SCALINGO_DB_URL="$FAKE" RESTORE_FK_CONSTRAINTS=true RESTORE_ANSWERS_AND_KES=true \
  PG_RESTORE_JOBS="$JOBS" REPLICATION_WORK_DIR="$W" MAX_RETRY_COUNT=0 \
    ./build/pix-db-replication --config config/production.toml --log-format json run >"$ROOT/b.log" 2>"$ROOT/b.report" &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "$pid")
  wait "$pid" || { echo "side b failed:" >&2; tail -5 "$ROOT/b.log" >&2; exit 1; }
  local t1; t1=$(now)
  python3 - "$ROOT/b.log" "$(secs "$t0" "$t1")" "$s" <<'PY'
import json, sys
rep = [json.loads(l) for l in open(sys.argv[1]) if '"msg":"run report"' in l][-1]
ms = lambda k: rep.get("step_ms." + k, 0) / 1000
fetch = ms("scalingo-source (prepare)")
drop = ms("drop-objects (prepare)") + ms("drop-objects (execute)")
restore = ms("pg-restore (execute)")
post = ms("post-sql (execute)")
disk, hwm = sys.argv[3].split()
print("%.1f 0.0 %.1f %.1f %.1f %s %s %s" % (fetch, drop, restore, post, sys.argv[2], disk, hwm))
PY
}

if [ "$THROTTLE" = 1 ]; then
  echo "== calibration: one uncounted run of (a), unthrottled"
  start_fake 0
  read -r -a cal <<<"$(side_a)"
  BPS=$(python3 -c "print(int($ARCHIVE_BYTES / max(1.0, ${cal[3]} / 6)))")
  echo "   restore (a) took ${cal[3]} s: throttling the download to $((BPS/1024)) KiB/s (~${cal[3]}/6 s)"
else
  BPS=0
fi
start_fake "$BPS"

declare -a A B
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r: (a) original"
  A[$r]=$(side_a); echo "   ${A[$r]}"
  echo "== round $r: (b) pix-db-replication"
  B[$r]=$(side_b); echo "   ${B[$r]}"
  if diff <(checksums "$URL_A") <(checksums "$URL_B") >"$ROOT/diff.txt"; then IDENT[$r]=identical; else IDENT[$r]=DIFFERENT; cat "$ROOT/diff.txt"; fi
  echo "   targets: ${IDENT[$r]}"
done
cp "$ROOT/b.report" "$ROOT/b-last-report.txt"

python3 - "$OUT" "$SCALE" "$ROUNDS" "$JOBS" "$BPS" "$DB_BYTES" "$DUMP_BYTES" "$ARCHIVE_BYTES" "$(machine)" \
  "${A[*]}" "${B[*]}" "${IDENT[*]}" <<'PY'
import sys, statistics
out, scale, rounds, jobs, bps, dbb, dumpb, archb, machine, a_raw, b_raw, ident = sys.argv[1:]
n = 8
def rows(raw):
    v = [float(x) for x in raw.split()]
    return [v[i:i + n] for i in range(0, len(v), n)]
A, B = rows(a_raw), rows(b_raw)
med = lambda rs, i: statistics.median(r[i] for r in rs)
names = ["download (+extract for b)", "extract", "drop", "restore (+deferred for b)", "extra indexes / post-SQL", "end to end"]
mib = lambda b: float(b) / 1048576
lines = [f"### scale {scale}: {rounds} rounds, jobs {jobs}, {'throttled to %d KiB/s' % (int(bps) // 1024) if int(bps) else 'unthrottled'}", "",
         f"Machine: {machine}. Source database {mib(dbb):.0f} MiB, dump {mib(dumpb):.0f} MiB, "
         f"archive {mib(archb):.0f} MiB.", "",
         "| phase (median, s) | (a) original | (b) pix-db-replication | b/a |", "|---|---:|---:|---:|"]
for i, name in enumerate(names):
    a, b = med(A, i), med(B, i)
    lines.append(f"| {name} | {a:.1f} | {b:.1f} | {(b / a if a else float('nan')):.2f} |")
pa, pb = med(A, 6), med(B, 6)
lines += ["", f"Peak disk in the work directory: (a) {mib(pa):.0f} MiB = {pa / float(dumpb):.2f} x dump, "
          f"(b) {mib(pb):.0f} MiB = {pb / float(dumpb):.2f} x dump.",
          f"Peak memory (VmHWM) of pix-db-replication: {max(r[7] for r in B) / 1024:.1f} MiB.",
          f"Targets after each round: {ident}.", "",
          "Every round, end to end (s): " + ", ".join(f"a {ra[5]:.1f} / b {rb[5]:.1f}" for ra, rb in zip(A, B)), ""]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== last report of (b):"; cat "$ROOT/b-last-report.txt"
echo "results written to $OUT"
