#!/usr/bin/env bash
# The masked night against the unmasked one: pix-db-replication twice on the same local dump
# (config/local.toml, big tables and foreign keys restored, 4 jobs), once as it is and once with
# bench/masking-rules.toml (users' id hashed, so every key referencing it is masked too), in
# alternating rounds into fresh targets. Not part of the test suite.
#
#   bash bench/masking.sh [--scale N] [--rounds N] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=2 JOBS=4 THROTTLE=0
. bench/lib.sh
bench_args "bench/masking.sh [--scale N] [--rounds N] [--jobs N]" "$@"
bench_setup "$SCALE"
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-masking-scale$SCALE.md"
KEY="bench masking key, long enough: at least 32 characters"
night() {  # $1 = plain|masked; prints the run's seconds
  psql -X -q -d "$ADMIN/postgres" -c "DROP DATABASE IF EXISTS target_m" -c "CREATE DATABASE target_m OWNER replica_m"
  local extra=() t
  [ "$1" = masked ] && extra=(MASKING_RULES=bench/masking-rules.toml MASKING_KEY="$KEY")
  t=$(now)
  env DATABASE_URL="postgresql://replica_m:bench-m@127.0.0.1:$PG_PORT/target_m" BACKUP_FILE="$DUMP" RESTORE_ANSWERS_AND_KES=true \
    RESTORE_FK_CONSTRAINTS=true PG_RESTORE_JOBS="$JOBS" REPLICATION_WORK_DIR="$ROOT/work" MAX_RETRY_COUNT=0 "${extra[@]}" \
    ./build/pix-db-replication --config config/local.toml --log-format json run >"$ROOT/$1.log" 2>&1 || { tail -5 "$ROOT/$1.log" >&2; exit 1; }
  secs "$t" "$(now)"
}
psql -X -q -d "$ADMIN/postgres" -c "CREATE ROLE replica_m LOGIN PASSWORD 'bench-m'"
declare -a P M
for r in $(seq 1 "$ROUNDS"); do
  P[$r]=$(night plain); echo "== round $r: plain ${P[$r]} s"
  M[$r]=$(night masked); echo "== round $r: masked ${M[$r]} s"
  left=$(psql -X -At -d "postgresql://replica_m:bench-m@127.0.0.1:$PG_PORT/target_m" -c "SELECT count(*) FROM users WHERE email LIKE '%@example.net'")
  [ "$left" = 0 ] || { echo "masked night left $left original e-mails" >&2; exit 1; }
done
python3 - "$OUT" "$SCALE" "$ROUNDS" "$JOBS" "$DB_BYTES" "$(machine)" "${P[*]}" "${M[*]}" <<'PY'
import sys, statistics
out, scale, rounds, jobs, dbb, machine, p, m = sys.argv[1:]
P, M = [float(x) for x in p.split()], [float(x) for x in m.split()]
mp, mm = statistics.median(P), statistics.median(M)
lines = [f"### masked night, scale {scale}: {rounds} rounds, jobs {jobs}, local dump", "",
         f"Machine: {machine}. Source {int(dbb) / 1048576:.0f} MiB.", "",
         "| night (median, s) | plain | masked | masked/plain |", "|---|---:|---:|---:|",
         f"| end to end | {mp:.1f} | {mm:.1f} | {mm:.1f} / {mp:.1f} = {mm / mp:.2f} |", "",
         "Every round (s): " + ", ".join(f"plain {a:.1f} / masked {b:.1f}" for a, b in zip(P, M)), ""]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== values masked in the last masked night:"; grep -o '"masked\.[^"]*":[0-9.]*' "$ROOT/masked.log" | sort -u || true
echo "results written to $OUT"
