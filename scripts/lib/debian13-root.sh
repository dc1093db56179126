#!/usr/bin/env bash
# debian13-root.sh: makes (once) and prints the path of a Debian 13 (trixie) root holding
# PostgreSQL 17 and this project's build dependencies, for the tests that need PostgreSQL 17 and
# for the build-and-test run on Debian 13's libraries (see debian-root.sh). Run as root.
set -euo pipefail
exec bash "$(dirname "$0")/debian-root.sh" trixie \
  postgresql-17 postgresql-client-17 \
  g++ cmake make pkg-config ca-certificates tzdata python3 binutils \
  libboost-dev libpqxx-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev \
  libcurl4-openssl-dev libarchive-dev libisal-dev zlib1g-dev libgtest-dev libpg-query-dev
