#!/usr/bin/env bash
# The README's second command: installs, builds, and runs every test (unit and integration;
# the integration tests start their own PostgreSQL and fake Scalingo on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 900
