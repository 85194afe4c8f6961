"""The benchmark scripts' one timer (scripts/bench_*.py import it; run them as ``python scripts/<name>.py``)."""
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
