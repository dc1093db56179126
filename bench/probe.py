#!/usr/bin/env python3
"""A reader during a benchmark run: `SELECT count(*)` on two tables every 0.1 s through psql,
until SIGTERM. Prints "dark_seconds longest_wait_seconds reads failed": the time during which
reads failed or found an empty table, and the slowest read (a reader held by a lock)."""
import signal, subprocess, sys, time

url, tables = sys.argv[1], sys.argv[2:]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
dark = longest = 0.0
reads = failed = 0
dark_since = None
while not stop:
    for t in tables:
        t0 = time.monotonic()
        r = subprocess.run(["psql", "-X", "-At", "-d", url, "-c", f'SELECT count(*) FROM "{t}"'], capture_output=True, text=True)
        t1 = time.monotonic()
        reads += 1
        longest = max(longest, t1 - t0)
        bad = r.returncode != 0 or r.stdout.strip() in ("", "0")
        failed += bad
        if bad and dark_since is None:
            dark_since = t0
        elif not bad and dark_since is not None:
            dark += t0 - dark_since
            dark_since = None
    time.sleep(0.1)
if dark_since is not None:
    dark += time.monotonic() - dark_since
print("%.1f %.2f %d %d" % (dark, longest, reads, failed))
