#!/usr/bin/env bash
# Side-by-side benchmark: (a) the original pipeline reproduced with standard tools against
# (b) pix-db-replication, alternating, on the same archive, the same PostgreSQL and the same
# options (foreign keys and big tables restored, 4 jobs). Not part of the test suite.
#
#   bash bench/run.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled]
#
# The archive is served by the fake Scalingo on loopback, throttled so that the download takes
# 12% of the original's whole run (Pix's night: retrieval 1h28 of 11h58), calibrated by a first,
# uncounted run of (a). A reader queries two tables every 0.1 s during each run: the dark window
# (reads failed or empty) and the longest read are reported. Results: bench/results/<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=1 ROUNDS=2 JOBS=4 THROTTLE=1
. bench/lib.sh
bench_args "bench/run.sh [--scale N] [--rounds N] [--jobs N] [--unthrottled]" "$@"

bench_setup "$SCALE"
trap '[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; bench_cleanup' EXIT
tar czf "$ROOT/backup.tar.gz" -C "$(dirname "$DUMP")" "./$(basename "$DUMP")"
ARCHIVE_BYTES=$(stat -c %s "$ROOT/backup.tar.gz"); rm -rf "$(dirname "$DUMP")"
echo "   archive $((ARCHIVE_BYTES/1048576)) MiB"
URL_A=$(bench_target a)
URL_B=$(bench_target b)
mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M)-scale$SCALE.md"

bench_throttle true
echo "== an uncounted run of (b): yesterday's copy, for its readers"
side_b >/dev/null

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
  "${A[*]}" "${B[*]}" "${IDENT[*]}" "$(cat "$ROOT/b.log.sizes")" <<'PY'
import sys, statistics
out, scale, rounds, jobs, bps, dbb, dumpb, archb, machine, a_raw, b_raw, ident, sizes = sys.argv[1:]
n = 10
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
          f"Readers' dark window (reads failed or empty), median: (a) {med(A, 8):.1f} s, (b) {med(B, 8):.1f} s; "
          f"longest query of the reader: (a) {max(r[9] for r in A):.2f} s, (b) {max(r[9] for r in B):.2f} s.",
          f"Target size: yesterday's copy {mib(sizes.split()[0]):.0f} MiB, tonight's built beside it {mib(sizes.split()[1]):.0f} MiB: "
          f"peak {mib(int(sizes.split()[0]) + int(sizes.split()[1])):.0f} MiB during (b)'s build, against one copy for (a).",
          f"Targets after each round: {ident}.", "",
          "Every round, end to end (s): " + ", ".join(f"a {ra[5]:.1f} / b {rb[5]:.1f}" for ra, rb in zip(A, B)), ""]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
echo "== last report of (b):"; cat "$ROOT/b-last-report.txt"
echo "results written to $OUT"
