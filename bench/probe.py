#!/usr/bin/env python3
"""A reader during a benchmark run: whether each of two tables has a row, every 0.1 s through
psql, until SIGTERM. Prints "dark_seconds longest_wait_seconds reads failed": the time during
which one of the tables could not be read or was empty, and the slowest query (a reader held by
a lock; it reads one row, so CPU contention barely counts)."""
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
try:
    while not stop:
        t0 = time.monotonic()
        any_bad = False
        for t in tables:
            # The server's time for the query alone (psql's \timing), lock waits included,
            # without psql's start and connection, which a loaded machine slows down.
            r = subprocess.run(["psql", "-X", "-At", "-d", url, "-c", "\\timing on", "-c",
                                f'SELECT count(*) FROM (SELECT 1 FROM "{t}" LIMIT 1) s'], capture_output=True, text=True)
            lines = r.stdout.split("\n")
            times = [float(l.split()[1]) / 1000 for l in lines if l.startswith("Time: ")]
            reads += 1
            longest = max([longest] + times)
            bad = r.returncode != 0 or "1" not in lines
            failed += bad
            any_bad = any_bad or bad
        # Dark while any of the tables is missing or empty, from the round that saw it so.
        if any_bad and dark_since is None:
            dark_since = t0
        elif not any_bad and dark_since is not None:
            dark += t0 - dark_since
            dark_since = None
        time.sleep(0.1)
finally:
    if dark_since is not None:
        dark += time.monotonic() - dark_since
    print("%.1f %.2f %d %d" % (dark, longest, reads, failed), flush=True)
