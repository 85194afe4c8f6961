"""MDTS served from a generated 100,000-image tf.data.Dataset (never materialised): peak RSS measured in a
subprocess (VmHWM) stays under 1.5 GB (issue 18 §2), and grows by far less than the dataset's size."""
import json
import os
import subprocess
import sys
from pathlib import Path

IMAGES = 100_000
DATASET_BYTES = IMAGES * 28 * 28 * 4  # 314 MB as float32

SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
from tfx_explain.baselines import dataset
from tfx_explain.baselines.source import TrainingData

def generated(n, block=1000):
    # batches of generated images, a function of their position only: nothing holds the dataset
    def make(start):
        seed = tf.stack([start, tf.constant(7, tf.int64)])
        images = tf.random.stateless_uniform((block, 28, 28, 1), seed)
        return images, (start + tf.range(block, dtype=tf.int64)) % 10
    return tf.data.Dataset.range(0, n, block).map(make)

def peak_mb():  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) pytest parent
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024

queries = np.random.default_rng(0).random((64, 28, 28, 1)).astype(np.float32)
classes = np.arange(64) % 10
dataset.mdts(queries, classes, (classes + 1) % 10, TrainingData(dataset=generated(4000)))  # warm up TF and tf.data
before = peak_mb()
stats = {}
_, index = dataset.mdts(queries, classes, (classes + 1) % 10, TrainingData(dataset=generated(int(sys.argv[1]))),
                        stats=stats)
print(json.dumps({"before_mb": before, "peak_mb": peak_mb(), "max_index": int(index.max()), **stats}))
"""


def test_mdts_over_a_generated_dataset_stays_in_memory_bounds():
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(IMAGES)], env=env, cwd=root, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["peak_mb"] < 1536, result
    assert (result["peak_mb"] - result["before_mb"]) * 2**20 < DATASET_BYTES / 4, result  # never materialised
    assert result["passes"] == 1 and result["max_index"] > IMAGES * 0.9, result  # one pass read it all
