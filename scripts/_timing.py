"""The benchmark scripts' one timer and memory probe (scripts/bench_*.py import them; run them as
``python scripts/<name>.py``)."""
from __future__ import annotations

import statistics
import time


def median_time(fn, repeats):
    """Median wall time in seconds of ``repeats`` calls of ``fn``, after one warm-up call (which traces)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb():
    """This process's peak resident set size in MiB: ``VmHWM`` of /proc/self/status (Linux).

    Not ``getrusage(...).ru_maxrss``: Linux carries ru_maxrss across fork and exec, so a child started from a
    large parent (a pytest run at 3 GB) reports the parent's peak; VmHWM belongs to the child's own address
    space. Falls back to ru_maxrss where /proc is missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource
    import sys

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2 ** 20 if sys.platform == "darwin" else rss / 1024
