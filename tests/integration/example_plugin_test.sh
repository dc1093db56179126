#!/usr/bin/env bash
# Installs the SDK, builds plugins/examples/run-marker out of the tree against it, and has the
# already-built host run it from a config: no rebuild of the host.
set -euo pipefail
src=$1 build=$2 host=$3
tmp=$(mktemp -d /tmp/pixrep-example-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/plugins/examples/run-marker" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null
test -f "$tmp/build/plugins/librun-marker.so"
cat >"$tmp/config.toml" <<TOML
[run]
database_url = "postgres://nobody@127.0.0.1:1/none"
work_dir = "$tmp/work"
plugin_path = ["$tmp/build/plugins"]

[[steps]]
plugin = "run-marker"
path = "\${RUN_MARKER_FILE}"
label = "nightly"
TOML
out=$(RUN_MARKER_FILE="$tmp/marker.txt" "$host" --config "$tmp/config.toml" plugins)
grep -q "run-marker 1.0.0" <<<"$out" || { echo "plugins does not list run-marker: $out"; exit 1; }
grep -q -- "- path (string), required, env RUN_MARKER_FILE" <<<"$out" || { echo "options not listed: $out"; exit 1; }
out=$(RUN_MARKER_FILE="$tmp/marker.txt" "$host" --config "$tmp/config.toml" --log-format json run --dry-run 2>&1)
grep -q '"msg":"run-marker will report to' <<<"$out" || { echo "step did not run: $out"; exit 1; }
grep -q '^nightly success seconds=' "$tmp/marker.txt" || { echo "marker file wrong: $(cat "$tmp/marker.txt")"; exit 1; }
# The installed host finds installed plugins by itself.
out=$("$tmp/prefix/bin/pix-db-replication" --config "$src/config/local.toml" plugins)
grep -q "pg-restore 1.0.0" <<<"$out" || { echo "installed host cannot find installed plugins: $out"; exit 1; }
echo "example plugin built out of tree and run by the host: OK"
