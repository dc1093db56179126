#!/usr/bin/env bash
# pg18.sh: prints the bin directory of a PostgreSQL 18 that runs on this Debian 12 machine,
# Debian forky's (see pg-tree.sh). Run as root.
exec bash "$(dirname "$0")/pg-tree.sh" 18 forky-root.sh
