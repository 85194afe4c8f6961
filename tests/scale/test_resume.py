"""A real kill: ``tfx-explain explain`` in a child process gets SIGKILL at a random point; what it leaves on disk
is whole files only, and running the command again ends byte-identical to an uninterrupted run."""
import json
import time

import numpy as np

from tfx_explain import scale
from tfx_explain.cli import main
from tfx_explain.scale import store

from .conftest import same_files, start


def _args(model, out):
    return ["explain", "--model", str(model), "--dataset", "digits", "--split", "test", "--image-size", "8",
            "--limit", "96", "--method", "integrated_gradients", "--set", "steps=64", "--baseline", "blur",
            "--target-class", "all", "--shard-size", "8", "--progress", "log", "--out", str(out)]


def _wait_for(condition, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_killed_run_resumes_to_the_bytes_of_an_uninterrupted_run(saved_model, tmp_path, capsys):
    rng = np.random.default_rng()
    killed = tmp_path / "killed"
    committed = int(rng.integers(1, 6))  # kill after 1 to 5 of 12 shards, plus a random fraction of the next
    proc = start(["-c", "import sys; from tfx_explain.cli import main; sys.exit(main())", *_args(saved_model, killed)],
                 tmp_path / "killed.log")
    try:
        _wait_for(lambda: store.read_entry(killed / "shards", committed - 1) is not None, proc, 600,
                  f"shard {committed - 1} to commit")
        time.sleep(rng.uniform(0.0, 0.2))
        assert proc.poll() is None, "the run finished before the kill"
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait()
    assert proc.returncode == -9
    assert not (killed / "manifest.json").exists()
    shards = killed / "shards"
    entries = [e for e in (store.read_entry(shards, s) for s in range(12)) if e is not None]
    assert len(entries) >= committed
    for entry in entries:
        assert store.problems(shards, entry) == []
    for path in shards.glob("[!.]*.npy"):  # every file under its final name is whole, committed or not
        np.load(path, allow_pickle=False)

    assert main(_args(saved_model, killed)) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["skipped"] == len(entries) and resumed["computed"] == 12 - len(entries)
    assert resumed["complete"] and resumed["rows"] == 96 * 9
    assert not list(shards.glob(".*"))  # temporaries of the killed writer are gone

    whole = tmp_path / "whole"
    assert main(_args(saved_model, whole)) == 0
    assert same_files(killed, whole) == []
    assert scale.verify_run(killed) == {}
