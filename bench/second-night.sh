#!/usr/bin/env bash
# The second night: yesterday's replica in place, today's backup holding about 1% new rows in the
# big tables (and new, updated and deleted rows in the small ones). (a) the original pipeline's
# full restore against (b) pix-db-replication with both big tables incremental (BACKUP_MODE), on
# the same archive from the fake Scalingo (throttled as in bench/run.sh), the same server, foreign
# keys and big tables restored, in alternating rounds, each side starting from an identical copy
# of yesterday's replica. After every round both targets are compared with each other and every
# table with today's source. Not part of the test suite.
#
# With --half-unchanged, today's backup leaves two of the four small tables as they were.
#
#   bash bench/second-night.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled] [--half-unchanged]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=3 JOBS=4 THROTTLE=1 HALF=0
. bench/lib.sh
bench_args "bench/second-night.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled] [--half-unchanged]" "$@"
MODE='{"answers": "incremental", "knowledge-elements": "incremental"}'

bench_setup "$SCALE"  # day 1: database "source", dumped to $DUMP
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; bench_cleanup' EXIT
DAY1=$DUMP
echo "== today's source: day 1 plus bench/pix-bench-day2.sql"
psql -X -q -d "$ADMIN/postgres" -c "CREATE DATABASE today TEMPLATE source"
HALF_VAR=(); [ "$HALF" = 1 ] && HALF_VAR=(-v half=1)
psql -X -q -v ON_ERROR_STOP=1 -v scale="$SCALE" "${HALF_VAR[@]}" -d "$ADMIN/today" -f bench/pix-bench-day2.sql
DAY2="$ROOT/pack/$(date -u +%Y%m%d%H%M%S)_pix_bench_day2.pgsql"
pg_dump -Fc -d "$ADMIN/today" -f "$DAY2"
tar czf "$ROOT/backup.tar.gz" -C "$(dirname "$DAY2")" "./$(basename "$DAY2")"
ARCHIVE_BYTES=$(stat -c %s "$ROOT/backup.tar.gz")
NEW_ROWS=$(psql -X -At -d "$ADMIN/today" -c "SELECT (SELECT count(*) FROM answers) - $(psql -X -At -d "$ADMIN/source" -c 'SELECT count(*) FROM answers')")
echo "   archive $((ARCHIVE_BYTES/1048576)) MiB; $NEW_ROWS new answers and as many new knowledge-elements"

echo "== the day before: day 1 with one row of each table that changes every day as it was then"
psql -X -q -d "$ADMIN/postgres" -c "CREATE DATABASE day0 TEMPLATE source"
psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN/day0" -c "UPDATE users SET \"lastName\" = 'day 0' WHERE id = 1" \
  -c "UPDATE assessments SET state = 'day 0' WHERE id = 1"
[ "$HALF" = 1 ] || psql -X -q -v ON_ERROR_STOP=1 -d "$ADMIN/day0" -c "UPDATE \"schooling-registrations\" SET \"firstName\" = 'day 0' WHERE id = 1" \
  -c "UPDATE \"campaign-participations\" SET details = '{}' WHERE id = 1"
DAY0="$ROOT/pack/day0.pgsql"
pg_dump -Fc -d "$ADMIN/day0" -f "$DAY0"
psql -X -q -d "$ADMIN/postgres" -c "DROP DATABASE day0"

echo "== yesterday's replica: a first night of (b) on the day before (big tables loaded in full)"
psql -X -q -d "$ADMIN/postgres" -c "CREATE ROLE replica_n LOGIN PASSWORD 'bench-n'" -c "CREATE DATABASE yesterday OWNER replica_n"
YESTERDAY="postgresql://replica_n:bench-n@127.0.0.1:$PG_PORT/yesterday"
DATABASE_URL="$YESTERDAY" BACKUP_FILE="$DAY0" BACKUP_MODE="$MODE" RESTORE_FK_CONSTRAINTS=true PG_RESTORE_JOBS="$JOBS" \
  REPLICATION_WORK_DIR="$ROOT/work-y" MAX_RETRY_COUNT=0 ./build/pix-db-replication --config config/local.toml --log-format json run \
  >"$ROOT/yesterday.log" 2>&1 || { tail -5 "$ROOT/yesterday.log" >&2; exit 1; }
rm -f "$DAY0"
echo "== day 1, as any night after the first: what the tool keeps of a night is in place (the tables written every day changed)"
DATABASE_URL="$YESTERDAY" BACKUP_FILE="$DAY1" BACKUP_MODE="$MODE" RESTORE_FK_CONSTRAINTS=true PG_RESTORE_JOBS="$JOBS" \
  REPLICATION_WORK_DIR="$ROOT/work-y" MAX_RETRY_COUNT=0 ./build/pix-db-replication --config config/local.toml --log-format json run \
  >"$ROOT/yesterday2.log" 2>&1 || { tail -5 "$ROOT/yesterday2.log" >&2; exit 1; }
rm -f "$DAY1"
URL_A="postgresql://replica_n:bench-n@127.0.0.1:$PG_PORT/target_a"
URL_B="postgresql://replica_n:bench-n@127.0.0.1:$PG_PORT/target_b"
fresh() {  # an identical copy of yesterday's replica for side $1 (not timed)
  psql -X -q -d "$ADMIN/postgres" -c "DROP DATABASE IF EXISTS target_$1" -c "CREATE DATABASE target_$1 TEMPLATE yesterday OWNER replica_n"
}
tables() { checksums "$1" | grep -v -E '^(constraints|indexes|views) '; }
tables "$ADMIN/today" >"$ROOT/today.txt"
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-second-night-scale$SCALE$([ "$HALF" = 1 ] && echo -half-unchanged || true).md"

bench_throttle fresh a

declare -a A B SAME
for r in $(seq 1 "$ROUNDS"); do
  fresh a; fresh b
  echo "== round $r: (a) original, full restore"
  A[$r]=$(side_a); echo "   ${A[$r]}"
  echo "== round $r: (b) pix-db-replication, big tables incremental"
  B[$r]=$(side_b BACKUP_MODE="$MODE"); echo "   ${B[$r]}"
  grep -q '"msg":"new rows appended"' "$ROOT/b.log" || { echo "(b) appended nothing: not a second night" >&2; exit 1; }
  verdict=identical
  diff <(checksums "$URL_A") <(checksums "$URL_B") >"$ROOT/diff.txt" || { verdict="a and b DIFFER"; cat "$ROOT/diff.txt"; }
  tables "$URL_A" | diff -q - "$ROOT/today.txt" >/dev/null || verdict="$verdict; a DIFFERS from today's source"
  tables "$URL_B" | diff -q - "$ROOT/today.txt" >/dev/null || verdict="$verdict; b DIFFERS from today's source"
  SAME[$r]=$verdict
  echo "   targets: $verdict"
done
cp "$ROOT/b.report" "$ROOT/b-last-report.txt"

HALF=$HALF python3 - "$OUT" "$SCALE" "$ROUNDS" "$JOBS" "$BPS" "$DB_BYTES" "$ARCHIVE_BYTES" "$NEW_ROWS" "$(machine)" "${A[*]}" "${B[*]}" \
  "$(IFS='|'; echo "${SAME[*]}")" <<'PY'
import sys, statistics
out, scale, rounds, jobs, bps, dbb, archb, new_rows, machine, a_raw, b_raw, same = sys.argv[1:]
n = 10
rows = lambda raw: [[float(x) for x in raw.split()][i:i + n] for i in range(0, len(raw.split()), n)]
A, B = rows(a_raw), rows(b_raw)
med = lambda rs, i: statistics.median(r[i] for r in rs)
mib = lambda b: float(b) / 1048576
names = ["download (+extract for b)", "extract", "drop", "restore (b: + appends, deferred work)", "extra indexes / post-SQL", "end to end"]
import os
half = " (half the small tables unchanged)" if os.environ.get("HALF") == "1" else ""
lines = [f"### second night, scale {scale}{half}: {rounds} rounds, jobs {jobs}, "
         f"{'throttled to %d KiB/s' % (int(bps) // 1024) if int(bps) else 'unthrottled'}", "",
         f"Machine: {machine}. Day-1 source {mib(dbb):.0f} MiB; today's archive {mib(archb):.0f} MiB, "
         f"with {new_rows} new rows in each big table.", "",
         "| phase (median, s) | (a) original, full | (b) incremental | b/a |", "|---|---:|---:|---:|"]
for i, name in enumerate(names):
    a, b = med(A, i), med(B, i)
    lines.append(f"| {name} | {a:.1f} | {b:.1f} | " + (f"{b:.1f} / {a:.1f} = {b / a:.2f}" if a else "-") + " |")
lines += ["", f"Readers' dark window (reads failed or empty), median: (a) {med(A, 8):.1f} s, (b) {med(B, 8):.1f} s; "
          f"longest query of the reader: (a) {max(r[9] for r in A):.2f} s, (b) {max(r[9] for r in B):.2f} s.",
          "Every round, end to end (s): " + ", ".join(f"a {ra[5]:.1f} / b {rb[5]:.1f}" for ra, rb in zip(A, B)),
          "Targets after each round: " + "; ".join(same.split("|")) + ".", ""]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== last report of (b):"; cat "$ROOT/b-last-report.txt"
echo "results written to $OUT"
