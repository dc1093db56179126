#!/usr/bin/env bash
# The README's second command: installs, builds, and runs every test: unit, plugin and
# integration tests (real PostgreSQL servers, a fake Scalingo, faults injected), then the unit
# and plugin tests again under AddressSanitizer + UndefinedBehaviorSanitizer and under
# ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900
for sanitizers in address,undefined thread; do
  dir=build-${sanitizers%%,*}
  echo "== unit and plugin tests under -fsanitize=$sanitizers ($dir)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPIXREP_SANITIZE="$sanitizers" >/dev/null
  cmake --build "$dir" -j"$(nproc)" --target unit_tests plugin_tests
  ctest --test-dir "$dir" -L 'unit|plugins' --output-on-failure --timeout 900
done
