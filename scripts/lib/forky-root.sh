#!/usr/bin/env bash
# forky-root.sh: makes (once) and prints the path of a Debian forky root holding PostgreSQL 18,
# for the tests that need a PostgreSQL 18 server and its pg_dump and pg_restore (see
# debian-root.sh; Debian 12's debootstrap has no forky script, sid's serves). Run as root.
set -euo pipefail
exec bash "$(dirname "$0")/debian-root.sh" forky --script sid --no-valid-until postgresql-18 postgresql-client-18 tzdata
