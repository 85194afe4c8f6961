"""Two worker processes on 127.0.0.1 under MultiWorkerMirroredStrategy (tests/scale/_worker.py)."""
import json
import os
import shutil
import signal
import time

import numpy as np

import tfx_explain as tx
from tfx_explain import ganmex, scale

from .conftest import ROOT, TINY_GANMEX, free_ports, same_files, start

WORKER = ROOT / "tests" / "scale" / "_worker.py"
# Seconds of silence after which TensorFlow's coordination service declares a worker dead. A loaded machine
# may starve a live worker's heartbeats for longer; raise it there (the kill test then takes that much longer).
HEARTBEAT = float(os.environ.get("TFX_EXPLAIN_TEST_HEARTBEAT", "10"))


def _launch(mode, out, heartbeat_timeout):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    return [start([WORKER, mode, out, heartbeat_timeout], out / f"worker-{i}.log",
                  TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
            for i in range(2)]


def _finish(procs, timeout):
    """Return codes; a worker still running after ``timeout`` seconds is killed and counts as a hang."""
    deadline = time.monotonic() + timeout
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout=max(1.0, deadline - time.monotonic())))
        except Exception:
            proc.kill()
            proc.wait()
            codes.append("hung")
    return codes


def _log(out, i):
    return (out / f"worker-{i}.log").read_text()[-3000:]


def test_two_workers_train_identically_explain_together_and_split_a_run(saved_model, small_model, tmp_path):
    shutil.copy(saved_model, tmp_path / "clf.keras")
    codes = _finish(_launch("identity", tmp_path, max(HEARTBEAT, 30)), timeout=900)
    assert codes == [0, 0], _log(tmp_path, 0) + _log(tmp_path, 1)

    weights = [np.load(tmp_path / f"weights-{i}.npz") for i in range(2)]
    for key in weights[0].files:  # the same bits on both workers
        np.testing.assert_array_equal(weights[0][key], weights[1][key])
    x, y = tx.data.load("digits", "train", image_size=8)
    single = ganmex.train(small_model, (x[:200], y[:200]), steps=3, verbose=0, **TINY_GANMEX)
    for key, value in zip(weights[0].files, single.generator.get_weights() + single.gan.discriminator.get_weights()):
        np.testing.assert_allclose(weights[0][key], value, atol=1e-6)  # one process, the same global batch
    assert (tmp_path / "gan" / "generator" / "metadata.json").exists() and not (tmp_path / "gan" / ".workers").exists()

    xt, yt = tx.data.load("digits", "test", image_size=8)
    together = [np.load(tmp_path / f"attributions-{i}.npy") for i in range(2)]
    alone = tx.explain_keras(small_model, xt[:6], method="integrated_gradients", steps=8, target_class=3,
                             original_class=[0, 1, 2, 4, 5, 6], progress=False).attributions
    np.testing.assert_array_equal(together[0], together[1])
    np.testing.assert_allclose(together[0], alone, atol=1e-6)

    summaries = [json.loads((tmp_path / f"summary-{i}.json").read_text()) for i in range(2)]
    assert summaries[0]["complete"] and not summaries[1]["complete"]
    assert [s["computed"] for s in summaries] == [2, 1]  # shards 0, 2 and shard 1 of three
    scale.explain_dataset(small_model, (xt[:40], yt[:40]), tmp_path / "single", method="integrated_gradients",
                          steps=8, target_class="all", shard_size=16, progress=False)
    assert same_files(tmp_path / "run", tmp_path / "single") == []


def test_a_killed_training_worker_fails_the_other_loudly(saved_model, tmp_path):
    """SIGKILL one worker mid-training: the other raises within the heartbeat timeout instead of hanging."""
    shutil.copy(saved_model, tmp_path / "clf.keras")
    procs = _launch("train", tmp_path, HEARTBEAT)
    try:
        deadline = time.monotonic() + 600
        while not list((tmp_path / "gan" / "checkpoints").glob("ckpt-2.index")):
            assert all(p.poll() is None for p in procs), _log(tmp_path, 0) + _log(tmp_path, 1)
            assert time.monotonic() < deadline, "training did not start"
            time.sleep(0.1)
        procs[1].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        codes = _finish(procs, timeout=HEARTBEAT + 120)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert codes[1] == -9
    assert codes[0] not in (0, "hung"), _log(tmp_path, 0)
    log = _log(tmp_path, 0)
    assert "task:1" in log and ("heartbeat" in log or "Unavailable" in log or "unhealthy" in log), log
    print(f"worker 0 failed {time.monotonic() - killed_at:.1f} s after the kill")  # shown with pytest -s
