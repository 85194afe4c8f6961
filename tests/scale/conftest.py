"""Fixtures of the scale tests: a tiny classifier of 8x8 digits, saved, and the helpers that start processes."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY_GANMEX = dict(width=4, res_blocks=1, d_width=4, checkpoint_every=0, sample_every=0, log_every=1,
                   batch_per_class=2, epsilon=1e-2)


def tiny_classifier():
    """A small softmax CNN of 8x8 digits, trained for two epochs: deterministic for a seed."""
    import keras

    import tfx_explain as tx

    keras.utils.set_random_seed(0)
    x, y = tx.data.load("digits", "train", image_size=8)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax()])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:300], y[:300], epochs=2, verbose=0)
    return model


@pytest.fixture(scope="session")
def small_digits():
    import tfx_explain as tx

    x, y = tx.data.load("digits", "test", image_size=8)
    return x[:48], y[:48]


@pytest.fixture(scope="session")
def small_model():
    return tiny_classifier()


@pytest.fixture(scope="session")
def saved_model(small_model, tmp_path_factory):
    from tfx_explain.models import save_model

    return save_model(small_model, tmp_path_factory.mktemp("model") / "clf.keras")


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (bound together, then released for the workers)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def child_env(**extra):
    """The environment of a child Python: this worktree first on the path, quiet TensorFlow, one device."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args, log, **env):
    return subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, env=child_env(**env),
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def same_files(a, b, ignore=("run.json",)):
    """Relative paths of files that differ (content or presence) between directories a and b."""
    def listing(root):
        return {p.relative_to(root): p for p in Path(root).rglob("*") if p.is_file() and p.name not in ignore
                and "workers" not in p.parts}
    left, right = listing(a), listing(b)
    return sorted(str(k) for k in set(left) | set(right)
                  if k not in left or k not in right or left[k].read_bytes() != right[k].read_bytes())


@pytest.fixture
def rng_seed():
    return np.random.default_rng()
