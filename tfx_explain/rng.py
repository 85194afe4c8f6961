"""Every seeded random draw of the package: counter-based Philox streams keyed by numpy's ``SeedSequence``.

A draw is a pure function of (seed, stream, key...): ``stream`` names what is drawn (EG references, a noise
filler, MP's initial masks, one GAN training input, ...) and ``key`` says for whom (a sample index, a shard, a
training step). So results never depend on batch size, chunking, sharding or how far a run has got, and a
resumed run draws exactly what the uninterrupted one would.

Host-side draws use numpy's ``Philox`` bit generator; in-graph draws (the GAN training loops) use TensorFlow's
stateless ops, whose default algorithm is also Philox, with the key that ``SeedSequence`` derives from
(seed, stream). ``RNG_VERSION`` names this scheme; run directories record it and a run written under another
version is refused (:func:`check_version`) rather than resumed with other draws. Version 1 was a hand-rolled
splitmix64 hash (before this module).
"""
from __future__ import annotations

import numpy as np

from .errors import MismatchError

RNG_VERSION = 2

# the streams: one name per kind of draw, so two kinds never share numbers
STREAMS = {"references": 0, "uniform_baseline": 1, "random_target": 2, "eg_alpha": 3, "mp_init": 5,
           "mp_jitter": 6, "noise_filler": 7, "shard": 11, "gradient_noise": 12, "rise_masks": 17}


def _entropy(seed):
    return int(seed) % 2 ** 64  # SeedSequence takes non-negative ints; negative seeds wrap as uint64


def generator(seed, stream, *key):
    """A numpy Generator (Philox) whose numbers depend only on (seed, stream, key...)."""
    spawn_key = (STREAMS[stream] if isinstance(stream, str) else int(stream),) + tuple(int(k) for k in key)
    return np.random.Generator(np.random.Philox(np.random.SeedSequence(_entropy(seed), spawn_key=spawn_key)))


def uniform(seed, stream, keys, shape=()):
    """(len(keys),) + shape float64 in [0, 1): row i from :func:`generator` (seed, stream, keys[i]).

    One generator per key: a row never depends on which other keys are drawn with it.
    """
    keys = np.asarray(keys, np.int64).reshape(-1)
    out = np.empty((len(keys),) + tuple(shape), np.float64)
    for i, k in enumerate(keys):
        out[i] = generator(seed, stream, k).random(shape)
    return out


def tf_key(seed, stream):
    """The int64 key of TensorFlow stateless ops for (seed, stream): ``seed=[tf_key(seed, stream), step]``."""
    state = np.random.SeedSequence(_entropy(seed), spawn_key=(int(stream),)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))  # 63 bits: a non-negative int64


def tf_seeds(seed, stream, keys):
    """(len(keys), 2) int64 seeds of TensorFlow's stateless ops: row i is [tf_key(seed, stream), keys[i]]."""
    root = tf_key(seed, STREAMS[stream] if isinstance(stream, str) else int(stream))
    keys = np.asarray(keys, np.int64).reshape(-1)
    return np.stack([np.full(len(keys), root, np.int64), keys], axis=1)


def tf_normal(seeds, shape):
    """(len(seeds),) + shape float32 standard normals from TensorFlow's stateless Philox, in a graph or eagerly.

    Row i is ``stateless_normal(shape, seed=seeds[i])`` with ``seeds`` from :func:`tf_seeds`: a pure function of
    (seed, stream, key, shape), so it never depends on which other keys are drawn with it (chunking, padding),
    and a traced draw equals an eager one. The seeds are a tensor argument, so a traced function serves every
    seed. Used for the noisy copies of :mod:`tfx_explain.attribution.smoothgrad`.
    """
    import tensorflow as tf

    shape = tuple(int(d) for d in shape)
    return tf.map_fn(lambda s: tf.random.stateless_normal(shape, seed=s), tf.cast(seeds, tf.int64),
                     fn_output_signature=tf.float32)


def check_version(recorded, where):
    """Refuse a run written under another randomness scheme; ``recorded`` is its ``rng_version`` (None: absent)."""
    if recorded != RNG_VERSION:
        raise MismatchError(f"out_dir: {where} was written with rng_version {recorded or 1}, this version draws with "
                            f"rng_version {RNG_VERSION}; resuming would mix two sets of random draws. Use a new "
                            "out_dir")
