"""tf.distribute strategies by name, and logical CPU devices for tests and demos.

- ``None`` / ``"default"``: the current (default) strategy: one device.
- ``"mirrored"``: ``MirroredStrategy`` over all local GPUs (or the CPU when there is none).
- ``"multiworker"``: ``MultiWorkerMirroredStrategy``; the cluster comes from ``TF_CONFIG``.
- ``"cpu:N"``: ``MirroredStrategy`` over N logical CPU devices (see :func:`configure_logical_cpus`).
- a ``tf.distribute.Strategy`` object passes through.
"""
from __future__ import annotations

from .errors import InputError


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


def get_strategy(strategy=None):
    import tensorflow as tf

    if strategy is None or strategy == "default":
        return tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if isinstance(strategy, str) and strategy.startswith("cpu:"):
        try:
            n = int(strategy[4:])
        except ValueError:
            raise InputError(f"strategy: expected 'cpu:N' with an integer N, got {strategy!r}") from None
        return tf.distribute.MirroredStrategy(configure_logical_cpus(n))
    raise InputError(f"strategy: expected None, 'default', 'mirrored', 'multiworker', 'cpu:N' or a "
                     f"tf.distribute.Strategy, got {strategy!r}")
