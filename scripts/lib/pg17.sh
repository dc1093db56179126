#!/usr/bin/env bash
# pg17.sh: prints the bin directory of a PostgreSQL 17 that runs on this Debian 12 machine,
# Debian 13's (see pg-tree.sh). Run as root.
exec bash "$(dirname "$0")/pg-tree.sh" 17 debian13-root.sh
