#!/usr/bin/env bash
# The README's second command: installs, builds, and runs every test: unit, plugin and
# integration tests (real PostgreSQL 15, 17 and 18 servers, a fake Scalingo, faults injected, a
# headless browser), the unit and plugin tests again under AddressSanitizer +
# UndefinedBehaviorSanitizer and under ThreadSanitizer, and the build and its unit and plugin
# tests on Debian 13's compiler and libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Debian 13's root (PostgreSQL 17, Debian 13's toolchain) and forky's (PostgreSQL 18) are made
# while the project builds; they are cached for the next run on this machine.
bash scripts/lib/debian13-root.sh >/tmp/pixrep-debian13-root.log 2>&1 &
root_job=$!
bash scripts/lib/forky-root.sh >/tmp/pixrep-forky-root.log 2>&1 &
forky_job=$!
bash scripts/build.sh
wait "$root_job" || { cat /tmp/pixrep-debian13-root.log; exit 1; }
wait "$forky_job" || { cat /tmp/pixrep-forky-root.log; exit 1; }
PIXREP_PG17_BIN=$(bash scripts/lib/pg17.sh)
PIXREP_PG18_BIN=$(bash scripts/lib/pg18.sh)
export PIXREP_PG17_BIN PIXREP_PG18_BIN
# The sanitizer builds and Debian 13's compile while the integration tests run, at the lowest
# priority: those tests mostly wait on their servers and processes (the cores sat about 80% idle
# through them), and when both want a core the tests get it. Their own tests run afterwards.
checks_log=/tmp/pixrep-check-builds.log
setsid nice -n 19 bash -euo pipefail -c '
  for sanitizers in address,undefined thread; do
    dir=build-${sanitizers%%,*}
    echo "== building the unit and plugin tests with -fsanitize=$sanitizers ($dir)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPIXREP_SANITIZE="$sanitizers" >/dev/null
    cmake --build "$dir" -j"$(nproc)" --target unit_tests plugin_tests
  done
  bash scripts/test-debian13.sh --build-only
' >"$checks_log" 2>&1 &
checks_job=$!
trap 'kill -- -"$checks_job" 2>/dev/null || true' EXIT
ctest --test-dir build --output-on-failure --timeout 900
echo "== waiting for the sanitizer and Debian 13 builds"
wait "$checks_job" || { cat "$checks_log"; exit 1; }
for sanitizers in address,undefined thread; do
  dir=build-${sanitizers%%,*}
  echo "== unit and plugin tests under -fsanitize=$sanitizers ($dir)"
  cmake --build "$dir" -j"$(nproc)" --target unit_tests plugin_tests >/dev/null
  ctest --test-dir "$dir" -L 'unit|plugins' --output-on-failure --timeout 900
done
echo "== unit and plugin tests on Debian 13"
bash scripts/test-debian13.sh
