#!/usr/bin/env bash
# One lever at a time: pix-db-replication restores the same local dump (no download, so only the
# restore is timed) with its defaults and with one setting changed, the variants interleaved
# round after round so that drift on the machine hits them all alike. Each variant's target is
# compared with the defaults' (row counts and content checksums per table). Not part of the suite.
#
#   bash bench/levers.sh [--scale N] [--rounds N] [--jobs N] [--only I,J,...]
# --only times the defaults (0) and the variants numbered I, J... (in the order listed below).
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=3 JOBS=4
. bench/lib.sh
bench_args "bench/levers.sh [--scale N] [--rounds N] [--jobs N] [--only I,J,...]" "$@"
bench_setup "$SCALE"
URL=$(bench_target b)
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-levers-scale$SCALE.md"

# label | line added to pg-restore's options in config/local.toml | environment
VARIANTS=(
  "defaults||"
  "foreign keys validated (FK_NOT_VALID=false)||FK_NOT_VALID=false"
  "keys as constraints (pk_as_unique_index = false)|pk_as_unique_index = false|"
  "no deferred SQL beside pg_restore (pool_jobs_during_restore = 0)|pool_jobs_during_restore = 0|"
  "two deferred jobs beside pg_restore (pool_jobs_during_restore = 2)|pool_jobs_during_restore = 2|"
  "maintenance_work_mem 256MB||RESTORE_MAINTENANCE_WORK_MEM=256MB"
  "maintenance_work_mem 1GB||RESTORE_MAINTENANCE_WORK_MEM=1GB"
  "no parallel index workers (max_parallel_maintenance_workers = 0)|max_parallel_maintenance_workers = 0|"
  "synchronous_commit as the server (on)|synchronous_commit = \"\"|"
  "lz4 for large values (default_toast_compression=lz4)||RESTORE_PGOPTIONS=-c default_toast_compression=lz4"
  "jobs = cores ($(nproc))||PG_RESTORE_JOBS=$(nproc)"
  "no ANALYZE after each table's load (ANALYZE_AFTER_LOAD=false)||ANALYZE_AFTER_LOAD=false"
)
IDX=("${!VARIANTS[@]}")
[ -n "${ONLY:-}" ] && IFS=, read -r -a IDX <<<"0,$ONLY"
for i in "${IDX[@]}"; do
  IFS='|' read -r _ line _ <<<"${VARIANTS[$i]}"
  sed "s|^jobs = \"\${PG_RESTORE_JOBS:-0}\"|&\n$line|" config/local.toml >"$ROOT/v$i.toml"
done

declare -A TIMES SAME
for r in $(seq 1 "$ROUNDS"); do
  for i in "${IDX[@]}"; do
    IFS='|' read -r label _ envs <<<"${VARIANTS[$i]}"
    t=$(now)
    env DATABASE_URL="$URL" BACKUP_FILE="$DUMP" RESTORE_FK_CONSTRAINTS=true RESTORE_ANSWERS_AND_KES=true PG_RESTORE_JOBS="$JOBS" \
      REPLICATION_WORK_DIR="$ROOT/work" MAX_RETRY_COUNT=0 ${envs:+"$envs"} \
      ./build/pix-db-replication --config "$ROOT/v$i.toml" --log-format json run >"$ROOT/run.log" 2>&1 \
      || { echo "$label failed:" >&2; tail -3 "$ROOT/run.log" >&2; exit 1; }
    TIMES[$i]="${TIMES[$i]:-} $(secs "$t" "$(now)")"
    if [ "$i" = 0 ] && [ "$r" = 1 ]; then checksums "$URL" >"$ROOT/reference.txt"; fi
    if checksums "$URL" | diff -q - "$ROOT/reference.txt" >/dev/null; then SAME[$i]=${SAME[$i]:-identical}; else SAME[$i]=DIFFERENT; fi
    echo "   round $r: $label: ${TIMES[$i]##* } s (${SAME[$i]})"
  done
done

{
  echo "### levers at scale $SCALE: $ROUNDS rounds, jobs $JOBS, restore of a local dump"
  echo
  echo "Machine: $(machine). Source database $((DB_BYTES/1048576)) MiB, dump $((DUMP_BYTES/1048576)) MiB."
  echo
  echo "| variant | median run (s) | every run (s) | vs defaults | target |"
  echo "|---|---:|---|---:|---|"
  for i in "${IDX[@]}"; do
    IFS='|' read -r label _ _ <<<"${VARIANTS[$i]}"
    python3 - "$label" "${TIMES[$i]}" "${TIMES[0]}" "${SAME[$i]}" <<'PY'
import statistics, sys
label, runs, base, same = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()], sys.argv[4]
m, b = statistics.median(runs), statistics.median(base)
print(f"| {label} | {m:.1f} | {' / '.join('%.1f' % x for x in runs)} | {m:.1f} / {b:.1f} = {m / b:.2f} | {same} |")
PY
  done
} | tee "$OUT"
echo "results written to $OUT"
