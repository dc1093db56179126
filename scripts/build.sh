#!/usr/bin/env bash
# Configures and builds into build/: the host at build/pix-db-replication, plugins in build/plugins/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)"
