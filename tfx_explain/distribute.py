"""tf.distribute strategies by name, logical CPU devices for tests and demos, and the cluster from TF_CONFIG.

- ``None`` / ``"default"``: the current (default) strategy: one device.
- ``"mirrored"``: ``MirroredStrategy`` over all local GPUs (or the CPU when there is none).
- ``"multiworker"``: ``MultiWorkerMirroredStrategy``; the cluster comes from ``TF_CONFIG`` (see
  :func:`multi_worker_strategy` for its timeouts).
- ``"cpu:N"``: ``MirroredStrategy`` over N logical CPU devices (see :func:`configure_logical_cpus`).
- a list of device names: ``MirroredStrategy`` over them.
- a ``tf.distribute.Strategy`` object passes through.

Every ``MirroredStrategy`` made here gets its own collective-key range. TensorFlow starts the keys of each
new ``MirroredStrategy`` at 1 and caches a collective's shape by its key for the life of the process, so a
second strategy in the same process (a notebook that trains a classifier, then a GAN) fails with "Shape
mismatch in the collective instance". Strategies made with :func:`mirrored` do not.

Several machines: every worker runs the same program with its own ``TF_CONFIG``, e.g. on the second
of two workers ``{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index":
1}}``. :func:`worker_info` reads which worker this process is.
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from ._typing import DistributeStrategy, Strategy

# Far apart so that one strategy's group and instance keys never reach the next strategy's range.
_KEY_RANGE = 1_000_000
_key_bases = itertools.count(_KEY_RANGE, _KEY_RANGE)
STARTUP_TIMEOUT = 600.0  # seconds all workers have to join a MultiWorkerMirroredStrategy
HEARTBEAT_TIMEOUT = 30.0  # seconds of silence after which a worker counts as dead


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


def get_strategy(strategy: Strategy | None = None) -> DistributeStrategy:
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
        return multi_worker_strategy()
    if isinstance(strategy, str) and strategy.startswith("cpu:"):
        try:
            n = int(strategy[4:])
        except ValueError:
            raise InputError(f"strategy: expected 'cpu:N' with an integer N, got {strategy!r}") from None
        return mirrored(configure_logical_cpus(n))
    raise InputError(f"strategy: expected None, 'default', 'mirrored', 'multiworker', 'cpu:N', a list of "
                     f"device names or a "
                     f"tf.distribute.Strategy, got {strategy!r}")


@dataclass(frozen=True)
class WorkerInfo:
    """Where this process stands in a cluster: worker ``index`` of ``count``; the chief is index 0."""

    index: int = 0
    count: int = 1

    @property
    def is_chief(self):
        return self.index == 0


def _tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        return cluster, task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"TF_CONFIG: expected JSON with 'cluster' and 'task': {{'type', 'index'}}, got {raw!r} "
                         f"({err})") from None


def worker_info(strategy=None):
    """This process's :class:`WorkerInfo`, numbered as TensorFlow does (the chief first, then the workers).

    Given a strategy, its cluster (a single worker unless it is a ``MultiWorkerMirroredStrategy``);
    without one, ``TF_CONFIG``, or a single worker when it is unset. Evaluator tasks are outside the cluster.
    """
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver
        cluster = resolver.cluster_spec().as_dict()
        task_type, task_id = resolver.task_type, int(resolver.task_id)
        if not cluster:
            return WorkerInfo()
    elif strategy is not None:
        return WorkerInfo()
    else:
        parsed = _tf_config()
        if parsed is None:
            return WorkerInfo()
        cluster, task_type, task_id = parsed
    chiefs = len(cluster.get("chief", []))
    count = chiefs + len(cluster.get("worker", []))
    if task_type == "chief":
        return WorkerInfo(0, count)
    if task_type == "worker":
        if not 0 <= task_id < len(cluster.get("worker", [])):
            raise InputError(f"TF_CONFIG: task index {task_id} is outside the {len(cluster.get('worker', []))} "
                             "workers of the cluster")
        return WorkerInfo(chiefs + task_id, count)
    raise InputError(f"TF_CONFIG: task type {task_type!r} takes no part in the work; expected 'chief' or 'worker'")


def multi_worker_strategy(startup_timeout=STARTUP_TIMEOUT, heartbeat_timeout=HEARTBEAT_TIMEOUT,
                          collective_timeout=None):
    """``MultiWorkerMirroredStrategy`` from ``TF_CONFIG`` that fails loudly instead of hanging.

    TensorFlow's defaults wait an hour for workers to join. Here:

    - ``startup_timeout``: every worker must join within this many seconds, else the strategy raises.
    - ``heartbeat_timeout``: a worker that stops sending heartbeats for this long (it died) makes every
      other worker's next step raise ``UnavailableError`` (TensorFlow's coordination service).
    - ``collective_timeout``: optionally, any one all-reduce that takes longer raises
      ``DeadlineExceededError`` (a worker that hangs); keep it above the slowest first step, which
      includes tracing.

    The timeouts configure TensorFlow's coordination service before the strategy starts it, so this must
    run before any other multi-worker strategy in the process.
    """
    import tensorflow as tf

    if _tf_config() is None:
        raise InputError("strategy: 'multiworker' needs TF_CONFIG describing the cluster (see docs/guide/scale.md, "
                         "'Several machines')")
    _configure_coordination(float(startup_timeout), float(heartbeat_timeout))
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _configure_coordination(startup_timeout, heartbeat_timeout):
    """Set the coordination service's join and heartbeat timeouts (the strategy keeps a service already set).

    TensorFlow offers no public switch for these; this mirrors what ``MultiWorkerMirroredStrategy`` itself
    configures (a standalone service led by the chief or worker 0), with our timeouts.
    """
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    if context.context().coordination_service is not None:
        return
    cluster, _, _ = _tf_config()
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(cluster[job]))
            for job in ("chief", "worker") if cluster.get(job)]
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster),
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=int(startup_timeout * 1000),
        heartbeat_timeout_in_ms=int(heartbeat_timeout * 1000))


def is_multi_worker(strategy):
    """Whether ``strategy`` spans several workers (a MultiWorkerMirroredStrategy whose replicas are not all local)."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    return strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)
