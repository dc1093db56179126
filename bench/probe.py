#!/usr/bin/env python3
"""A reader during a benchmark run: whether each of two tables has a row, every 0.1 s, on one
psql session kept open as an analyst's tool or Metabase's pool keeps its connection (a psql
started for every query cost the machine a fifth of a core, taken from both sides' runs), until
SIGTERM. Prints "dark_seconds longest_wait_seconds reads failed": the time during which one of
the tables could not be read or was empty, and the slowest query (a reader held by a lock; it
reads one row, so CPU contention barely counts)."""
import signal, subprocess, sys, time

url, tables = sys.argv[1], sys.argv[2:]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
END = "__probe_round_end__"


def session():
    # The server's time for each query (\timing), lock waits included. Errors go to stderr, left
    # unread: a query that fails prints no row before its separator.
    s = subprocess.Popen(["psql", "-X", "-At", "-d", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)
    s.stdin.write("\\timing on\n")
    return s


def one_round(s):
    """Per table, whether it gave its row, and the server times seen."""
    for t in tables:
        s.stdin.write(f'SELECT count(*) FROM (SELECT 1 FROM "{t}" LIMIT 1) s;\n\\echo {END}\n')
    s.stdin.flush()
    got, times, lines = [], [], []
    while len(got) < len(tables):
        line = s.stdout.readline()
        if not line:
            raise EOFError
        line = line.rstrip("\n")
        if line == END:
            got.append("1" in lines)
            lines = []
        elif line.startswith("Time: "):
            times.append(float(line.split()[1]) / 1000)
        else:
            lines.append(line)
    return got, times


dark = longest = 0.0
reads = failed = 0
dark_since = None
s = session()
try:
    while not stop:
        t0 = time.monotonic()
        try:
            got, times = one_round(s)
        except (EOFError, BrokenPipeError):
            got, times = [False] * len(tables), []
            s = session()
        reads += len(tables)
        failed += got.count(False)
        longest = max([longest] + times)
        any_bad = not all(got)
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
    s.kill()
