"""tf.distribute strategies by name, and logical CPU devices for tests and demos.

- ``None`` / ``"default"``: the current (default) strategy: one device.
- ``"mirrored"``: ``MirroredStrategy`` over all local GPUs (or the CPU when there is none).
- ``"multiworker"``: ``MultiWorkerMirroredStrategy``; the cluster comes from ``TF_CONFIG``.
- ``"cpu:N"``: ``MirroredStrategy`` over N logical CPU devices (see :func:`configure_logical_cpus`).
- a list of device names: ``MirroredStrategy`` over them.
- a ``tf.distribute.Strategy`` object passes through.

Every ``MirroredStrategy`` made here gets its own collective-key range. TensorFlow starts the keys of each
new ``MirroredStrategy`` at 1 and caches a collective's shape by its key for the life of the process, so a
second strategy in the same process (a notebook that trains a classifier, then a GAN) fails with "Shape
mismatch in the collective instance". Strategies made with :func:`mirrored` do not.
"""
from __future__ import annotations

import itertools

from .errors import InputError

# Far apart so that one strategy's group and instance keys never reach the next strategy's range.
_KEY_RANGE = 1_000_000
_key_bases = itertools.count(_KEY_RANGE, _KEY_RANGE)


def configure_logical_cpus(n=2):
    """Split the physical CPU into ``n`` logical devices; returns their names.

    Must run before TensorFlow initialises its devices (before the first op). When the devices were
    already configured with at least ``n`` logical CPUs, this is a no-op.
    """
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        pass  # already initialised; checked below
    logical = tf.config.list_logical_devices("CPU")
    if len(logical) < n:
        raise RuntimeError(f"n: asked for {n} logical CPU devices but TensorFlow was initialised with "
                           f"{len(logical)}; call configure_logical_cpus before any TensorFlow op")
    return [d.name for d in logical[:n]]


def mirrored(devices=None):
    """``tf.distribute.MirroredStrategy(devices)`` with collective keys that no other strategy uses.

    On CPU-only device lists the gradients are reduced on one device (``ReductionToOneDevice``): the
    replicas share memory, so collectives buy nothing there.
    """
    import tensorflow as tf

    cross_device_ops = None
    if devices and all("CPU" in str(d).upper() for d in devices):
        cross_device_ops = tf.distribute.ReductionToOneDevice()
    cls = tf.distribute.MirroredStrategy
    previous = cls._collective_key_base  # read by MirroredExtended.__init__
    cls._collective_key_base = next(_key_bases)
    try:
        return cls(devices, cross_device_ops=cross_device_ops)
    finally:
        cls._collective_key_base = previous


def get_strategy(strategy=None):
    import tensorflow as tf

    if strategy is None or strategy == "default":
        return tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        return mirrored()
    if isinstance(strategy, (list, tuple)) and strategy and all(isinstance(d, str) for d in strategy):
        return mirrored(list(strategy))
    if strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if isinstance(strategy, str) and strategy.startswith("cpu:"):
        try:
            n = int(strategy[4:])
        except ValueError:
            raise InputError(f"strategy: expected 'cpu:N' with an integer N, got {strategy!r}") from None
        return mirrored(configure_logical_cpus(n))
    raise InputError(f"strategy: expected None, 'default', 'mirrored', 'multiworker', 'cpu:N', a list of "
                     f"device names or a "
                     f"tf.distribute.Strategy, got {strategy!r}")
