#!/usr/bin/env bash
# Live-source benchmark (issue 19), on one server holding the source and the targets, foreign
# keys and big tables on, JOBS jobs everywhere:
#   (a) the original's latest pipeline: pg_dump -Fc of the source, pg_restore --jobs, its
#       enrichment (the extra indexes and the view);
#   (b) pix-db-replication with config/live.toml (rows COPY'd from one snapshot, no dump on disk);
#   (c) pgcopydb clone from Debian's package, then the same enrichment as (a);
# each ending in identical targets (checked). Then a second night, with about 1% new rows in the
# big tables (bench/pix-bench-day2.sql): (a) again in full, (b) with BACKUP_MODE incremental.
# With --half-unchanged, the second and third days leave two of the four small tables as they were.
# Not part of the test suite.
#
#   bash bench/live-source.sh [--scale N] [--rounds N] [--jobs N] [--half-unchanged]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=1 JOBS=4 HALF=0
. bench/lib.sh
bench_args "bench/live-source.sh [--scale N] [--rounds N] [--jobs N] [--half-unchanged]" "$@"
HALF_VAR=(); [ "$HALF" = 1 ] && HALF_VAR=(-v half=1)
command -v pgcopydb >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgcopydb >/dev/null
MODE='{"answers": "incremental", "knowledge-elements": "incremental"}'

bench_setup "$SCALE"
rm -rf "$ROOT/pack"  # the lib's dump of the source: (a) makes its own, timed
# The role the tool and (a) read with, as Scalingo makes a read-only user.
psql -X -q -d "$ADMIN/source" -c "CREATE ROLE reader LOGIN PASSWORD 'bench-r'" -c "GRANT USAGE ON SCHEMA public TO reader" \
  -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader" -c "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO reader"
SOURCE="postgresql://reader:bench-r@127.0.0.1:$PG_PORT/source"
URL_A=$(bench_target a)
URL_B=$(bench_target b)
URL_C=$(bench_target c)
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-live-scale$SCALE$([ "$HALF" = 1 ] && echo -half-unchanged || true).md"

enrich() {  # what the original ran after its restore
  psql -X -q -d "$1" -v ON_ERROR_STOP=1 \
    -c "CREATE INDEX \"users_createdAt_idx\" ON users ((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)" \
    -c 'CREATE VIEW students AS SELECT * FROM "schooling-registrations"' \
    -c "CREATE INDEX \"knowledge-elements_createdAt_idx\" ON \"knowledge-elements\" ((cast(\"createdAt\" AT TIME ZONE 'UTC+1' AS date)) DESC)" \
    -c 'CREATE INDEX "answers_challengeId_idx" ON answers ("challengeId")'
}

live_a() {  # prints: dump restore enrich total peak_disk
  local W="$ROOT/work-a"; rm -rf "$W"; mkdir -p "$W"
  (
    set -e
    t0=$(now)
    pg_dump -Fc -d "$SOURCE" -f "$W/source.pgsql"
    t1=$(now)
    psql -X -q -d "$URL_A" -c 'DROP OWNED BY CURRENT_USER CASCADE'
    pg_restore "$W/source.pgsql" -l | grep -v ' COMMENT ' >"$W/restore.list"
    pg_restore --jobs "$JOBS" --no-owner --use-list "$W/restore.list" -d "$URL_A" "$W/source.pgsql" 2>"$ROOT/a-restore.log" || true
    rm -f "$W/source.pgsql"
    t2=$(now)
    enrich "$URL_A"
    t3=$(now)
    echo "$(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t2" "$t3") $(secs "$t0" "$t3")" >"$ROOT/a.times"
  ) &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "")
  wait "$pid"
  echo "$(cat "$ROOT/a.times") ${s% *}"
}

live_b() {  # prints: total peak_disk vmhwm_kb source_seconds source_bytes; more VAR=value as arguments
  local W="$ROOT/work-b"; rm -rf "$W"; mkdir -p "$W"
  local t0; t0=$(now)
  env DATABASE_URL="$URL_B" SOURCE_DATABASE_URL="$SOURCE" RESTORE_FK_CONSTRAINTS=true RESTORE_ANSWERS_AND_KES=true \
    PG_RESTORE_JOBS="$JOBS" SOURCE_JOBS="$JOBS" REPLICATION_WORK_DIR="$W" MAX_RETRY_COUNT=0 "$@" \
    ./build/pix-db-replication --config config/live.toml --log-format json run >"$ROOT/b.log" 2>"$ROOT/b.report" &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "$pid")
  wait "$pid" || { echo "side b failed:" >&2; tail -5 "$ROOT/b.log" >&2; exit 1; }
  local t1; t1=$(now)
  python3 - "$ROOT/b.log" "$(secs "$t0" "$t1")" "$s" <<'PY'
import json, sys
rep = [json.loads(l) for l in open(sys.argv[1]) if '"msg":"run report"' in l][-1]
disk, hwm = sys.argv[3].split()
print("%s %s %s %.1f %d" % (sys.argv[2], disk, hwm, rep.get("source_seconds_ms", 0) / 1000, rep.get("source_bytes", 0)))
PY
}

live_c() {  # prints: clone enrich total peak_disk
  local W="$ROOT/work-c"; rm -rf "$W"; mkdir -p "$W"
  (
    set -e
    t0=$(now)
    psql -X -q -d "$URL_C" -c 'DROP OWNED BY CURRENT_USER CASCADE'
    # pgcopydb reads the catalog as a superuser would (pg_roles, its own work tables): the admin URL.
    pgcopydb clone --source "$ADMIN/source" --target "$URL_C" --dir "$W/pgcopydb" --table-jobs "$JOBS" --index-jobs "$JOBS" \
      --no-owner --no-acl --no-comments --skip-extensions >"$ROOT/c.log" 2>&1
    t1=$(now)
    enrich "$URL_C"
    t2=$(now)
    echo "$(secs "$t0" "$t1") $(secs "$t1" "$t2") $(secs "$t0" "$t2")" >"$ROOT/c.times"
  ) &
  local pid=$!
  local s; s=$(sample "$W" "$pid" "")
  wait "$pid" || { echo "side c failed:" >&2; tail -20 "$ROOT/c.log" >&2; exit 1; }
  echo "$(cat "$ROOT/c.times") ${s% *}"
}

same() {  # $1 $2: target URLs
  if diff <(checksums "$1") <(checksums "$2") >"$ROOT/diff.txt"; then echo identical; else cat "$ROOT/diff.txt" >&2; echo DIFFERENT; fi
}

declare -a A B C I
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r: (a) pg_dump -Fc, pg_restore --jobs $JOBS, enrichment"; A[$r]=$(live_a); echo "   ${A[$r]}"
  echo "== round $r: (b) pix-db-replication, config/live.toml"; B[$r]=$(live_b BACKUP_MODE="$MODE"); echo "   ${B[$r]}"
  echo "== round $r: (c) pgcopydb clone, enrichment"; C[$r]=$(live_c); echo "   ${C[$r]}"
  I[$r]="a/b $(same "$URL_A" "$URL_B"), a/c $(same "$URL_A" "$URL_C")"; echo "   targets: ${I[$r]}"
done
cp "$ROOT/b.report" "$ROOT/b-first-report.txt"

echo "== the second night: bench/pix-bench-day2.sql on the source"
psql -X -q -v ON_ERROR_STOP=1 -v scale="$SCALE" "${HALF_VAR[@]}" -d "$ADMIN/source" -f bench/pix-bench-day2.sql
A2=$(live_a); echo "   (a) ${A2}"
B2=$(live_b BACKUP_MODE="$MODE"); echo "   (b) ${B2}"
I2="a/b $(same "$URL_A" "$URL_B")"; echo "   targets: $I2"
cp "$ROOT/b.report" "$ROOT/b-second-report.txt"

# A third night, as any night after the second: the per-range counts kept by the second are in
# place, so only a slice of each kept table is counted on the source. The same change again.
echo "== the third night: the same change again (day 3)"
sed 's/d2/d3/g; s/day2-/day3-/g' bench/pix-bench-day2.sql | psql -X -q -v ON_ERROR_STOP=1 -v scale="$SCALE" "${HALF_VAR[@]}" -d "$ADMIN/source" -f -
# The day's new rows in the big tables, as text (about what COPY sends of them).
NEW3=$(psql -X -At -d "$ADMIN/source" -c "SELECT (SELECT coalesce(sum(length(a::text)), 0) FROM answers a WHERE \"challengeId\" LIKE 'rec-d3-%') + (SELECT coalesce(sum(length(k::text)), 0) FROM \"knowledge-elements\" k WHERE \"skillId\" = 'skill-d3')")
echo "   new rows in the big tables: $NEW3 bytes as text"
A3=$(live_a); echo "   (a) ${A3}"
B3=$(live_b BACKUP_MODE="$MODE"); echo "   (b) ${B3}"
I3="a/b $(same "$URL_A" "$URL_B")"; echo "   targets: $I3"

python3 - "$OUT" "$SCALE" "$ROUNDS" "$JOBS" "$DB_BYTES" "$(machine)" "${A[*]}" "${B[*]}" "${C[*]}" "${I[*]}" "$A2" "$B2" "$I2" "$A3" "$B3" "$I3" "$NEW3" <<'PY'
import sys, statistics
out, scale, rounds, jobs, dbb, machine, a_raw, b_raw, c_raw, ident, a2, b2, ident2, a3, b3, ident3, new3 = sys.argv[1:]
def rows(raw, n):
    v = [float(x) for x in raw.split()]
    return [v[i:i + n] for i in range(0, len(v), n)]
A, B, C = rows(a_raw, 5), rows(b_raw, 5), rows(c_raw, 4)
a2, b2 = [float(x) for x in a2.split()], [float(x) for x in b2.split()]
a3, b3 = [float(x) for x in a3.split()], [float(x) for x in b3.split()]
med = lambda rs, i: statistics.median(r[i] for r in rs)
mib = lambda b: float(b) / 1048576
a, b, c = med(A, 3), med(B, 0), med(C, 2)
lines = [f"### live source, scale {scale}: {rounds} round(s), {jobs} jobs", "",
         f"Machine: {machine}; the source and the three targets on that one server. Source database {mib(dbb):.0f} MiB.", "",
         "| end to end (median, s) | time | against (a) |", "|---|---:|---:|",
         f"| (a) pg_dump -Fc {med(A, 0):.1f} + pg_restore --jobs {jobs} {med(A, 1):.1f} + enrichment {med(A, 2):.1f} | {a:.1f} | 1.00 |",
         f"| (b) pix-db-replication, config/live.toml | {b:.1f} | {b / a:.2f} |",
         f"| (c) pgcopydb clone {med(C, 0):.1f} + enrichment {med(C, 1):.1f} | {c:.1f} | {c / a:.2f} |", "",
         f"(b)/(c) = {b:.1f} / {c:.1f} = {b / c:.2f}.",
         f"Second night, about 1% new rows in the big tables: (a) {a2[3]:.1f} s in full, (b) {b2[0]:.1f} s incremental: "
         f"(b)/(a) = {b2[0] / a2[3]:.2f}; targets {ident2}.",
         f"Third night, the same change again (per-range counts in place): (a) {a3[3]:.1f} s in full, (b) {b3[0]:.1f} s incremental: "
         f"(b)/(a) = {b3[0] / a3[3]:.2f}; targets {ident3}; rows read from the source {mib(b3[4]):.1f} MiB, "
         f"against {mib(new3):.1f} MiB of new rows in the big tables "
         f"(snapshot held {b3[3]:.1f} s).",
         f"Peak disk in the work directory: (a) {mib(med(A, 4)):.0f} MiB (its dump), (b) {mib(med(B, 1)):.1f} MiB "
         f"(pg_dump's schema only), (c) {mib(med(C, 3)):.0f} MiB.",
         f"Peak memory (VmHWM) of pix-db-replication: {max(r[2] for r in B) / 1024:.1f} MiB (second night {b2[2] / 1024:.1f} MiB).",
         f"Source: snapshot held {med(B, 3):.1f} s, {mib(med(B, 4)):.0f} MiB of rows read (second night {b2[3]:.1f} s, {mib(b2[4]):.1f} MiB).",
         f"Targets after each round: {ident}.", ""]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== first report of (b):"; cat "$ROOT/b-first-report.txt"
echo "== second-night report of (b):"; cat "$ROOT/b-second-report.txt"
echo "== third-night report of (b):"; cat "$ROOT/b.report"
echo "results written to $OUT"
