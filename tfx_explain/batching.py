"""Batching, separate from the algorithms: split examples into chunks, run a TF function on each
(under a tf.distribute strategy when given), and gather numpy results.

Every chunk but the last has ``batch_size`` rows; the last is padded by repeating its final row so the
traced function keeps one input signature, and the padding is dropped from the results.
"""
from __future__ import annotations

import math
import weakref

import numpy as np


def _pad(array, size):
    if len(array) == size:
        return array
    reps = np.repeat(array[-1:], size - len(array), axis=0)
    return np.concatenate([array, reps], axis=0)


def progress_bar(total, desc, enabled, unit="batch"):
    """A tqdm bar when ``enabled`` (True, or "auto" on an interactive terminal), else a silent stand-in."""

    if enabled == "auto":
        from ._console import interactive

        enabled = interactive()
    if enabled:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False)
    return _Silent()


class _Silent:
    def update(self, n=1):
        pass

    def close(self):
        pass


def map_batches(fn, arrays, batch_size, *, strategy=None, progress=False, desc="explaining", jit_compile=False):
    """Apply ``fn(*chunks) -> tensor or tuple of tensors`` over aligned arrays; return numpy output(s).

    Args:
        fn: a function of TF tensors whose outputs have the chunk size as first dimension. It is wrapped
            in ``tf.function`` here (once), so it is traced once per input signature.
        arrays: numpy arrays with the same first dimension N.
        batch_size: rows per chunk (global: split across the strategy's replicas).
        strategy: a ``tf.distribute.Strategy`` or None. Under a ``MultiWorkerMirroredStrategy`` every worker
            calls this with the same arrays, computes its replicas' parts, and receives the whole result.
        jit_compile: compile ``fn`` with XLA when this wraps it (an ``fn`` that is already a
            ``tf.function`` keeps its own setting).
    """
    import tensorflow as tf

    n = len(arrays[0])
    batch_size = max(1, min(int(batch_size), n)) if n else 1
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if replicas > 1:
        batch_size = math.ceil(batch_size / replicas) * replicas
        run = _distributed_runner(fn, strategy, replicas)
    else:
        run = fn if hasattr(fn, "get_concrete_function") else tf.function(fn, reduce_retracing=True,
                                                                          jit_compile=jit_compile)
    outputs, single = [], False
    bar = progress_bar(n, desc, progress, unit="img")
    for start in range(0, n, batch_size):
        rows = min(batch_size, n - start)
        chunk = [_pad(np.asarray(a[start : start + rows]), batch_size) for a in arrays]
        out = run(*chunk)
        single = not isinstance(out, (tuple, list))
        out = (out,) if single else tuple(out)
        outputs.append([np.asarray(o)[:rows] for o in out])
        bar.update(rows)
    bar.close()
    if not outputs:
        return None
    merged = tuple(np.concatenate(parts, axis=0) for parts in zip(*outputs))
    return merged[0] if single else merged


# fn -> {strategy -> traced step}: the score functions' compiled functions live as long as their model, and
# a new step per call would retrace once per map_batches call (once per shard of a dataset run).
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _distributed_step(fn, strategy, gather):
    import tensorflow as tf

    try:
        per_fn = _STEPS.setdefault(fn, weakref.WeakKeyDictionary())
    except TypeError:  # fn cannot be weakly referenced (a builtin): trace per call
        per_fn = {}
    if strategy not in per_fn:
        @tf.function(reduce_retracing=True)
        def step(*dist_args):
            out = strategy.run(fn, args=dist_args)
            if gather:
                return tf.nest.map_structure(lambda v: strategy.gather(v, axis=0), out)
            return out

        per_fn[strategy] = step
    return per_fn[strategy]


def _distributed_runner(fn, strategy, replicas):
    """Split each chunk into ``replicas`` equal parts, run ``fn`` on every replica, concatenate in order.

    Across workers the parts are all-gathered (``strategy.gather``, in replica order), so each worker
    returns the whole chunk's result.
    """
    import tensorflow as tf

    from .distribute import is_multi_worker

    gather = is_multi_worker(strategy)
    step = _distributed_step(fn, strategy, gather)

    def run(*chunk):
        per = len(chunk[0]) // replicas

        def value_fn(ctx):
            i = ctx.replica_id_in_sync_group
            return tuple(tf.constant(a[i * per : (i + 1) * per]) for a in chunk)

        dist = strategy.experimental_distribute_values_from_function(value_fn)
        out = step(*dist)
        if gather:
            return tuple(np.asarray(o) for o in out) if isinstance(out, (tuple, list)) else np.asarray(out)
        if isinstance(out, (tuple, list)):
            return tuple(np.concatenate([np.asarray(v) for v in strategy.experimental_local_results(o)])
                         for o in out)
        return np.concatenate([np.asarray(v) for v in strategy.experimental_local_results(out)])

    return run
