"""Several workers on one dataset run: who takes which shard, heartbeats, and the chief's wait.

Worker ``i`` of ``W`` (from ``TF_CONFIG``, see :func:`tfx_explain.distribute.worker_info`) explains the
shards ``s`` with ``s % W == i`` and commits each one by itself; no collective op is involved, so a
worker never blocks on another. A worker publishes ``workers/worker-<i>.json`` every few seconds from a
background thread (a counter, its status and, when it fails, the error). The chief, once its own shards
are done, waits for everyone else's and then writes the manifest. It raises :class:`WorkerError`, rather
than waiting for ever, when a worker reports a failure, or when a worker whose shards are missing has not
changed its heartbeat for ``timeout`` seconds (it was killed, its machine died, or it hangs). The chief
judges silence by its own clock, so workers' clocks need not agree.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from .._io import write_json
from ..errors import TfxExplainError
from .store import read_entry

WORKER_TIMEOUT = 60.0  # seconds of heartbeat silence before the chief gives a worker up


class WorkerError(TfxExplainError, RuntimeError):
    """Another worker of a multi-worker run failed or stopped answering."""


def heartbeat_path(out_dir, index):
    return Path(out_dir) / "workers" / f"worker-{index:05d}.json"


class Heartbeat:
    """Publishes this worker's state every ``interval`` seconds from a daemon thread (it dies with the process)."""

    def __init__(self, out_dir, worker, interval):
        self.path = heartbeat_path(out_dir, worker.index)
        self.state = {"worker": worker.index, "workers": worker.count, "status": "running", "beat": 0,
                      "shards_done": 0, "host": socket.gethostname(), "pid": os.getpid()}
        self.interval = float(interval)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tfx-explain-heartbeat", daemon=True)

    def __enter__(self):
        self._write()
        self._thread.start()
        return self

    def __exit__(self, kind, error, trace):
        if error is not None and not isinstance(error, KeyboardInterrupt):
            self.update(status="failed", error=f"{type(error).__name__}: {error}")
        self._stop.set()
        self._thread.join()
        return False

    def update(self, **fields):
        with self._lock:
            self.state.update(fields)
        self._write()

    def _write(self):
        with self._lock:
            self.state["beat"] += 1
            state = dict(self.state)
        write_json(self.path, state)

    def _run(self):
        while not self._stop.wait(self.interval):
            self._write()


def read_heartbeat(out_dir, index):
    try:
        return json.loads(heartbeat_path(out_dir, index).read_text())
    except (FileNotFoundError, ValueError):
        return None


def snapshot(out_dir, worker):
    """Every other worker's heartbeat as it is now: what the chief saw before this attempt began."""
    return {w: read_heartbeat(out_dir, w) for w in range(worker.count) if w != worker.index}


def wait_for_shards(out_dir, shards_dir, n_shards, worker, timeout, before, poll=0.5, clock=time.monotonic):
    """Block until every shard in ``range(n_shards)`` is committed; raise :class:`WorkerError` when a worker
    that owns a missing shard failed or fell silent for ``timeout`` seconds.

    ``before`` is :func:`snapshot` taken when this attempt began: a heartbeat left over from an earlier
    attempt is not taken as a sign of life, nor its status as news.
    """
    seen = {w: (content, clock()) for w, content in before.items()}
    while True:
        missing = [s for s in range(n_shards) if read_entry(shards_dir, s) is None]
        if not missing:
            return
        now = clock()
        for w in sorted({s % worker.count for s in missing}):
            content = read_heartbeat(out_dir, w)
            last, since = seen[w]
            if content != last:
                seen[w] = (content, now)
                _check_news(w, content, shards_dir, [s for s in missing if s % worker.count == w])
            elif now - since > timeout:
                owned = [s for s in missing if s % worker.count == w]
                last_words = ""
                if content is not None:
                    last_words = f" (its last heartbeat, from before: {content.get('status')}"
                    last_words += f", {content['error']})" if content.get("error") else ")"
                raise WorkerError(
                    f"worker {w}: no heartbeat for {now - since:.0f} s while its shard(s) {owned[:8]} are missing"
                    f"{last_words}; it died or hangs. Start it again (same command and TF_CONFIG) and the run resumes")
        time.sleep(poll)


def _check_news(w, content, shards_dir, owned):
    if content is None:
        return
    if content.get("status") == "failed":
        raise WorkerError(f"worker {w} failed: {content.get('error', 'no message')}")
    if content.get("status") == "done":
        still = [s for s in owned if read_entry(shards_dir, s) is None]  # its last commit may have raced our read
        if still:
            raise WorkerError(f"worker {w} finished, but its shard(s) {still[:8]} are missing (did it run with "
                              "another TF_CONFIG or dataset?)")
