"""The one home of ``tf.data.Dataset`` inputs: elements checked, unbatched, read in chunks, and streamed to the
trainers as class-balanced, resumable batches that are never materialised.

Used by :func:`tfx_explain.explain_keras` (a finite dataset, read into memory) and by
:func:`tfx_explain.scale.explain_dataset` (streamed shard by shard to disk); :func:`survey`,
:func:`class_blocks`, :func:`image_blocks` and :class:`ResumableBatches` feed the trainers (GANMEX, the inpainter,
the counterfactual GANs) from a dataset larger than memory.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def is_dataset(obj):
    """Whether ``obj`` is a ``tf.data.Dataset`` (without importing TensorFlow when it is not loaded)."""
    import sys

    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(obj, tf.data.Dataset)


def image_stream(ds, name="dataset", labels="required", resize_hint="resize them first"):
    """Elements of ``ds`` checked and unbatched: (image, label) pairs, or images alone.

    Args:
        ds: a ``tf.data.Dataset`` of images (H, W, C) or (image, label) pairs, batched ((N, H, W, C)) or not.
        name: the argument named in errors.
        labels: ``"required"`` (elements must be pairs), ``"optional"`` (pairs or images alone).
        resize_hint: the fix the error for images of several sizes suggests.
    Returns:
        (ds, has_labels): the unbatched dataset, images of one fixed size in their own dtype; labels as they
        were (scalars, or one-hot rows of a batched dataset become one-hot vectors).
    Raises:
        InputError naming ``name``: other element structures, images of no fixed size.
    """
    spec = ds.element_spec
    pair = isinstance(spec, tuple) and len(spec) == 2
    image_spec = spec[0] if pair else spec
    rank = getattr(getattr(image_spec, "shape", None), "rank", None)
    if (labels == "required" and not pair) or (not pair and isinstance(spec, (tuple, dict))) or rank not in (3, 4):
        kinds = "(image, label)" if labels == "required" else "images or (images, labels)"
        raise InputError(f"{name}: expected elements {kinds} with images (H, W, C) or (N, H, W, C), got {spec}")
    if rank == 4:
        ds = ds.unbatch()
    shape = (ds.element_spec[0] if pair else ds.element_spec).shape
    if not shape.is_fully_defined():
        raise InputError(f"{name}: expected images of one fixed size, got shape {shape}; {resize_hint}")
    return ds, pair


def check_finite(ds, name="dataset", allow_unknown=False):
    """Refuse a dataset that never ends (``repeat()``); with ``allow_unknown=False`` also one of unknown size
    (``filter()``, generators), which might never end either. Returns the number of elements, or None.

    Call it before :func:`image_stream`: unbatching makes every size unknown."""
    import tensorflow as tf

    n = int(ds.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise InputError(f"{name}: the tf.data.Dataset is infinite (repeat()?); bound it, e.g. with .take(n)")
    if n == tf.data.UNKNOWN_CARDINALITY:
        if not allow_unknown:
            raise InputError(f"{name}: the tf.data.Dataset has an unknown size (filter() or a generator), so it might "
                             "never end; state its size with "
                             "ds.apply(tf.data.experimental.assert_cardinality(n)) or pass arrays")
        return None
    return n


def read_chunks(ds, chunk_size, has_labels=True):
    """Numpy chunks of at most ``chunk_size`` elements from an unbatched stream: (images, labels) pairs, or
    (images, None) without labels."""
    batches = ds.batch(int(chunk_size)).prefetch(1).as_numpy_iterator()
    for batch in batches:
        yield batch if has_labels else (batch, None)


def read_all(ds, name="x", chunk_size=256):
    """A finite dataset of images or (images, labels), read into memory with :func:`read_chunks`.

    Returns (images (N, H, W, C) in the dataset's dtype, labels (N, ...) or None). Raises InputError naming
    ``name`` for an infinite or unknown-size dataset (before reading), bad elements, or an empty dataset.
    """
    check_finite(ds, name)  # before unbatching, which makes every size unknown
    ds, has_labels = image_stream(ds, name, labels="optional")
    images, labels = [], []
    for x, y in read_chunks(ds, chunk_size, has_labels):
        images.append(x)
        labels.append(y)
    if not images:
        raise InputError(f"{name}: the tf.data.Dataset holds no images")
    return np.concatenate(images), (np.concatenate(labels) if has_labels else None)


# ---- streamed training data ------------------------------------------------------------------------------

@dataclass
class Survey:
    """What one streamed pass over a training dataset learns, in memory bounded by one chunk.

    count: images; counts: (K,) images per class (None without labels); firsts: (K, H, W, C) the first image of
    every class (None without labels); extremes: (2, 1, 1, C) per-channel minima and maxima in the images'
    dtype, a stand-in for the images in :func:`tfx_explain.input_range.resolve` / ``check`` (both only look
    at per-channel extremes); image_shape: (H, W, C).
    """

    count: int
    counts: np.ndarray
    firsts: np.ndarray
    extremes: np.ndarray
    image_shape: tuple


def training_stream(ds, name="data", labels="required"):
    """``ds`` checked for training: finite (a counting pass must end), unbatched, labels as int64 scalars.

    Returns (ds, has_labels): elements (image, label int64) or images alone, images in their own dtype.
    Raises InputError naming ``name`` before any element is read: an infinite dataset, elements that are not
    (image, label) (or images, with ``labels="optional"``), images of no fixed size, labels that are neither
    integer scalars nor one-hot vectors.
    """
    import tensorflow as tf

    check_finite(ds, name, allow_unknown=True)
    ds, has_labels = image_stream(ds, name, labels=labels)
    if not has_labels:
        return ds, False
    label_spec = ds.element_spec[1]
    rank = label_spec.shape.rank
    if rank is None or rank > 1 or (rank == 1 and label_spec.dtype.is_integer and label_spec.shape[0] != 1):
        raise InputError(f"{name}: expected labels that are integer class indices or one-hot vectors, got "
                         f"{label_spec}")
    if rank == 1 and label_spec.shape[0] != 1:  # one-hot
        return ds.map(lambda x, y: (x, tf.argmax(y, output_type=tf.int64))), True
    if not (label_spec.dtype.is_integer or label_spec.dtype.is_floating):
        raise InputError(f"{name}: expected integer class indices as labels, got {label_spec}")
    return ds.map(lambda x, y: (x, tf.cast(tf.reshape(y, []), tf.int64))), True


def survey(ds, num_classes=None, name="data", has_labels=True, chunk_size=None, allow_empty_classes=False):
    """One pass over a :func:`training_stream`: class counts, first image per class, per-channel extremes.

    Labels are checked chunk by chunk (ints in [0, num_classes)); a class without images is refused, since a
    class-balanced stream would wait for it forever (unless ``allow_empty_classes``: its ``firsts`` entry is
    zeros). Chunks hold about 64 MB of images (``chunk_size`` images if given). Raises InputError naming ``name``.
    """
    from ._common import as_labels

    spec = ds.element_spec[0] if has_labels else ds.element_spec
    if chunk_size is None:  # about 64 MB of images per chunk, at most 1024 images
        chunk_size = max(1, min(1024, (64 << 20) // max(1, int(np.prod(spec.shape)) * spec.dtype.size)))
    count, counts, firsts, low, high = 0, None, {}, None, None
    for x, y in read_chunks(ds, chunk_size, has_labels):
        axes = tuple(range(x.ndim - 1))
        low = x.min(axis=axes) if low is None else np.minimum(low, x.min(axis=axes))
        high = x.max(axis=axes) if high is None else np.maximum(high, x.max(axis=axes))
        if has_labels:
            y = as_labels(y, len(x), num_classes, f"{name} labels")
            size = max(int(num_classes or 0), int(y.max()) + 1, len(counts) if counts is not None else 0)
            seen = np.zeros(size, np.int64) if counts is None else np.pad(counts, (0, size - len(counts)))
            counts = seen + np.bincount(y, minlength=size)
            for k in np.unique(y):
                if int(k) not in firsts:  # a copy: a view would keep the whole chunk alive
                    firsts[int(k)] = x[int(np.flatnonzero(y == k)[0])].copy()
        count += len(x)
    if count == 0:
        raise InputError(f"{name}: the tf.data.Dataset holds no images")
    if has_labels and not allow_empty_classes and np.any(counts == 0):
        raise InputError(f"{name}: every class needs training images; class(es) {np.flatnonzero(counts == 0)} "
                         "have none")
    shape = tuple(int(d) for d in spec.shape)
    extremes = np.stack([low, high])[:, None, None, :]
    blank = np.zeros(shape, spec.dtype.as_numpy_dtype)
    stacked = np.stack([firsts.get(k, blank) for k in range(len(counts))]) if has_labels else None
    return Survey(count, counts, stacked, extremes, shape)


def class_blocks(ds, num_classes, per_class):
    """An endless stream of (K, per_class, H, W, C) blocks: ``per_class`` images of every class, in stream order.

    Class k's images come from its own filtered stream over ``ds`` repeated (the reference zips one dataset
    per class, ganmex.md §1.2), so every block is exactly balanced whatever the class frequencies. Each class
    stream reads the whole source, so the source is read about K times per epoch of the rarest class: the
    price of exact balance without an index. ``ds``: a :func:`training_stream` with labels; every class must
    have images (:func:`survey` checks it).
    """
    import tensorflow as tf

    streams = tuple(ds.repeat().filter(lambda x, y, k=k: tf.equal(y, k)).map(lambda x, y: x)
                    .batch(int(per_class), drop_remainder=True) for k in range(int(num_classes)))
    return tf.data.Dataset.zip(streams).map(lambda *blocks: tf.stack(blocks))


def image_blocks(ds, size, has_labels=True):
    """An endless stream of (size, H, W, C) image blocks from ``ds`` repeated, in stream order (labels dropped)."""
    images = ds.map(lambda x, y: x) if has_labels else ds
    return images.repeat().batch(int(size), drop_remainder=True)


def stepped(blocks, batch_fn):
    """Global batches from step 0: ``batch_fn(step, block) -> dict``, prefetched; ``blocks`` is endless."""
    import tensorflow as tf

    steps = tf.data.Dataset.range(2 ** 62)
    return tf.data.Dataset.zip((steps, blocks)).map(batch_fn).prefetch(2)


class ResumableBatches:
    """``make_dataset(start)`` for :func:`tfx_explain.generative.training.train_loop` over streamed batches.

    A resumed run must see the batches an uninterrupted run would have seen from ``start`` on. Three ways,
    chosen by :func:`resume_mode` from the pipeline:

    * ``"iterator"``: TensorFlow can serialise the pipeline's iterator (no Python generators, no stateful
      random ops, no shuffle buffer whose state would fill every checkpoint). The iterator is saved with
      every checkpoint (:meth:`trackables`) and restored exactly; ``fit`` pulls one batch per step from it.
    * ``"replay"``: a deterministic pipeline whose iterator is not worth saving (a shuffle with a seed and
      ``reshuffle_each_iteration=False``): the
      stream is rebuilt and ``skip(start)`` replays it; exact, at the cost of re-reading ``start`` batches.
    * ``"approximate"``: a non-deterministic pipeline (``from_generator``, stateful random maps, an
      unseeded shuffle or one reshuffled each epoch): replayed like ``"replay"`` but the batches differ, so a
      resumed run warns.
    """

    def __init__(self, batches, mode, reason=""):
        import tensorflow as tf

        self.batches, self.mode, self.reason = batches, mode, reason
        self._iterator = iter(batches) if mode == "iterator" else None
        self._pulled = tf.Variable(0, dtype=tf.int64, trainable=False, name="batches_pulled") \
            if mode == "iterator" else None

    def trackables(self):
        """Objects saved in every checkpoint with the model: the iterator and its count of batches pulled."""
        if self.mode != "iterator":
            return {}
        return {"data_iterator": self._iterator, "data_batches_pulled": self._pulled}

    def check_position(self, step):
        """Before a checkpoint: the iterator must stand at ``step`` (``fit`` pulled no batch ahead)."""
        if self.mode == "iterator" and int(self._pulled.numpy()) != int(step):
            warnings.warn(f"data: the training iterator stands at batch {int(self._pulled.numpy())} at step "
                          f"{int(step)}; a run resumed from this checkpoint skips the difference", stacklevel=2)

    def __call__(self, start):
        import tensorflow as tf

        if self.mode != "iterator":
            if start and self.mode == "approximate":
                warnings.warn(f"data: resuming at step {start} replays a non-deterministic tf.data pipeline "
                              f"({self.reason}), so the resumed run sees other batches than an uninterrupted "
                              "one would: it resumes approximately. For an exact resume, use stateless random "
                              "ops (tf.random.stateless_*) and shuffle(..., seed=s, reshuffle_each_iteration=False).",
                              stacklevel=2)
            return self.batches.skip(int(start))
        pulled, it = self._pulled, self._iterator
        if int(pulled.numpy()) != int(start):
            raise InputError(f"data: the restored iterator stands at batch {int(pulled.numpy())}, the run at step "
                             f"{start}; this checkpoint cannot resume the stream exactly")

        def pull(_):
            with tf.control_dependencies([pulled.assign_add(1)]):
                return tf.nest.map_structure(tf.identity, it.get_next())

        options = tf.data.Options()
        options.autotune.enabled = False  # no prefetch injected ahead of the iterator: it stands at the step
        options.experimental_optimization.inject_prefetch = False
        return tf.data.Dataset.range(2 ** 62).map(pull).with_options(options)


def resume_mode(batches, strategy=None):
    """("iterator" | "replay" | "approximate", why) for :class:`ResumableBatches`, read from the pipeline's graph.

    A stateful op (a Python generator, ``tf.random.uniform``) makes the stream non-deterministic, and
    TensorFlow refuses to serialise its iterator for the same reason; an unseeded shuffle draws a fresh order
    per iterator; a seeded one is deterministic but its buffer would be saved with every checkpoint (1.2 GB
    at 224 px measured); several replicas prefetch ahead of the step.
    """
    ops, shuffles = _pipeline_ops(batches)
    stateful = sorted(ops - _VARIABLE_OPS)
    if stateful:
        return "approximate", f"stateful ops {stateful}"
    if any(seed == (0, 0) for seed in shuffles):
        return "approximate", "an unseeded shuffle or one with reshuffle_each_iteration=True"
    if shuffles:
        return "replay", "a seeded shuffle (its buffer would fill every checkpoint)"
    if ops & _VARIABLE_OPS:  # TensorFlow will not serialise them; deterministic while the variables stay put
        return "replay", "it reads variables (a frozen classifier labels the images)"
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        return "replay", "several replicas (a distributed dataset prefetches ahead of the step)"
    return "iterator", "a serialisable pipeline"


_STATEFUL_BUT_DETERMINISTIC = {"_Retval", "_Arg", "NoOp"}
_VARIABLE_OPS = {"VarHandleOp", "ReadVariableOp", "AssignVariableOp"}  # a captured model's weights


def _pipeline_ops(ds):
    """(stateful non-dataset ops, (seed, seed2) of every shuffle) in ``ds``'s graph; (0, 0): a shuffle whose order
    is not reproducible: unseeded, or reshuffled each epoch (the per-class streams are K iterators sharing one
    seed generator, so the epochs after the first come in an order that was measured to differ between runs)."""
    import tensorflow as tf
    from tensorflow.python.framework import op_def_registry

    graph = tf.compat.v1.GraphDef.FromString(ds._as_serialized_graph().numpy())
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    consts = {n.name: tf.make_ndarray(n.attr["value"].tensor) for n in nodes
              if n.op == "Const" and n.attr["dtype"].type == tf.int64.as_datatype_enum}
    stateful, seeds = set(), []
    for node in nodes:
        if node.op.startswith("Shuffle") and "Dataset" in node.op:
            values = [consts.get(name.split(":")[0].lstrip("^")) for name in node.input[2:4]]
            seed = tuple(int(v) if v is not None else -1 for v in values)
            reshuffle = node.attr["reshuffle_each_iteration"].b if "reshuffle_each_iteration" in node.attr else True
            seeds.append((0, 0) if reshuffle else seed)
            continue
        op_def = op_def_registry.get(node.op)
        generator = node.op == "GeneratorDataset"
        if generator or (op_def is not None and op_def.is_stateful and "Dataset" not in node.op
                         and node.op not in _STATEFUL_BUT_DETERMINISTIC):
            stateful.add(node.op)
    return stateful, seeds
