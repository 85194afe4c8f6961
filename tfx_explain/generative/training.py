"""Training machinery shared by every generator: the keras.io GAN pattern plus resumable runs.

``AdversarialModel`` is a ``keras.Model`` whose subclass implements ``train_step``; ``compile`` takes the
two optimizers, and loss trackers are exposed through ``metrics`` so that Keras aggregates them across
replicas. ``train_loop`` runs ``fit`` on a *step-indexed* dataset: the batch and every random draw of
step t are functions of (seed, t) only, so a run resumed from a checkpoint at step t continues exactly
as the uninterrupted run would, and one replica and several replicas see the same global batch.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .._io import write_json
from ..distribute import is_multi_worker, worker_info
from ..errors import InputError, MismatchError
from ..rng import RNG_VERSION, check_version, tf_key

RNG_RECORD = "rng.json"  # {"rng_version": N} of a resumable run directory


class AdversarialModel(keras.Model):
    """Base class of the GANs: generator and discriminator optimizers, loss trackers, a checkpointable state.

    Subclasses set ``loss_names`` (the values they log), create their sub-models in ``__init__``
    (``self.generator`` and ``self.discriminator`` by default) and implement ``train_step(batch)``, which
    Keras runs per replica.
    """

    loss_names: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}

    def _mark_built(self):
        """Subclasses call this once their sub-models exist: fit must not trace ``call`` on a batch dict."""
        self.built = True

    def compile(self, g_optimizer, d_optimizer, **kwargs):  # noqa: D401 - Keras signature
        """Store the generator and discriminator optimizers (keras.io WGAN-GP pattern)."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return list(self._trackers.values())

    def record(self, **values):
        """Log per-replica means; Keras averages the trackers across replicas."""
        for name, value in values.items():
            self._trackers[name].update_state(value)
        results = {name: tracker.result() for name, tracker in self._trackers.items()}
        if is_multi_worker(tf.distribute.get_strategy()):
            # Keras 3 averages logs across workers over axis 0, which a scalar lacks (tensorflow#72388).
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def generator_variables(self):
        """Variables the generator optimizer updates (default: ``self.generator``'s trainable ones)."""
        return self.generator.trainable_variables

    def discriminator_variables(self):
        """Variables the discriminator optimizer updates (default: ``self.discriminator``'s trainable ones)."""
        return self.discriminator.trainable_variables

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras' pre-fit build: the sub-models are built in ``__init__``.

        Keras 3 would pull one batch and all-reduce it to trace shapes, which fails under
        ``MultiWorkerMirroredStrategy`` for a batch that is a dict; a built model needs none of it.
        """
        if not self.built:
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def build_optimizers(self):
        """Create the optimizers' slot variables up front, so a checkpoint can be restored before step 1."""
        self.g_optimizer.build(self.generator_variables())
        self.d_optimizer.build(self.discriminator_variables())

    def checkpoint(self, step):
        """The objects a resumable run saves: sub-models, optimizers and the step counter."""
        return tf.train.Checkpoint(model=self, g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                                   step=step)


def adam(learning_rate, beta_1, beta_2, epsilon=1e-8):
    """Adam with TF1's epsilon (1e-8) by default; Keras' own default is 1e-7 (ganmex.md §1.7)."""
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


def step_dataset(start_step, batch_fn):
    """``tf.data`` of one global batch per step, starting at ``start_step``; ``batch_fn(step) -> dict``."""
    steps = tf.data.Dataset.range(int(start_step), 2 ** 62)
    return steps.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)


def _recorded_rng_version(out_dir):
    """The rng_version a run directory was written with (None: no record, a run from before rng_version 2)."""
    path = Path(out_dir) / RNG_RECORD
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("rng_version")
    except (ValueError, AttributeError):
        raise MismatchError(f"out_dir: {path} is not a randomness record (unreadable JSON)") from None


def stateless_ints(shape, seed, step, stream, maxval):
    """Uniform ints in [0, maxval) that depend only on (seed, step, stream)."""
    return tf.random.stateless_uniform(shape, seed=_seed(seed, step, stream), maxval=maxval, dtype=tf.int64)


def stateless_uniform(shape, seed, step, stream):
    """Uniform floats in [0, 1) that depend only on (seed, step, stream)."""
    return tf.random.stateless_uniform(shape, seed=_seed(seed, step, stream))


def _seed(seed, step, stream):
    """The stateless seed [key(seed, stream), step]; the key is SeedSequence's, as for every seeded draw."""
    step = tf.cast(step, tf.int64)
    return tf.stack([tf.constant(tf_key(seed, stream), tf.int64), step])


class _StepCallback(keras.callbacks.Callback):
    """Counts global steps; saves checkpoints and sample grids every N steps."""

    def __init__(self, start, step_var, manager=None, checkpoint_every=None, sample_fn=None, sample_every=None,
                 sample_dir=None, writer=None, check_position=None):
        super().__init__()
        self.check_position = check_position  # a streamed dataset's iterator must stand at the step saved
        self.step = start
        self.step_var = step_var
        self.manager, self.checkpoint_every = manager, checkpoint_every
        self.sample_fn, self.sample_every, self.sample_dir, self.writer = sample_fn, sample_every, sample_dir, writer

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self.step_var.assign(self.step)
        if self.manager is not None and self.checkpoint_every and self.step % self.checkpoint_every == 0:
            self.save()
        if self.sample_fn is not None and self.sample_every and self.step % self.sample_every == 0:
            self.save_samples()

    def save(self):
        if self.check_position is not None:
            self.check_position(self.step)
        self.manager.save(checkpoint_number=self.step)

    def save_samples(self):
        grid = np.asarray(self.sample_fn())
        if self.sample_dir is not None:
            save_png(grid, Path(self.sample_dir) / f"step_{self.step:07d}.png")
        if self.writer is not None:
            with self.writer.as_default():
                tf.summary.image("samples", grid[None], step=self.step)


def save_png(image, path):
    """Save an (H, W, C) image in [0, 1] as PNG, atomically."""
    from .._io import atomic_path

    image = np.clip(np.asarray(image, np.float32), 0, 1)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    data = tf.io.encode_png(tf.constant((image * 255).round().astype(np.uint8))).numpy()
    with atomic_path(path, suffix=".png") as tmp:
        tmp.write_bytes(data)


def _run_checkpoint(model, step_var, make_dataset):
    """The model's checkpoint plus what the data stream saves to resume exactly (a tf.data iterator, see
    :class:`tfx_explain.data.stream.ResumableBatches`; nothing for step-indexed batches)."""
    checkpoint = model.checkpoint(step_var)
    for name, value in getattr(make_dataset, "trackables", dict)().items():
        setattr(checkpoint, name, value)
    return checkpoint


def _check_same_start(strategy, start, out_dir):
    """Every worker must resume from the same step, else their collectives misalign and TensorFlow fails
    later with an obscure collective type mismatch. Happens when ``out_dir`` is not one shared directory."""
    starts = strategy.gather(strategy.run(lambda: tf.constant([start], tf.int64)), axis=0).numpy()
    low, high = int(starts.min()), int(starts.max())
    if low != high:
        raise InputError(f"out_dir: the workers resume from different steps ({low} and {high}); under "
                         f"MultiWorkerMirroredStrategy every worker must see the same out_dir ({out_dir}), a "
                         "directory on a shared file system")


def train_loop(model, make_dataset, *, steps, strategy, out_dir=None, checkpoint_every=1000, sample_fn=None,
               sample_every=None, log_every=100, keep_checkpoints=3, verbose="auto"):
    """Train ``model`` for ``steps`` global steps with fit, resuming from ``out_dir`` when it holds a checkpoint.

    Args:
        model: a compiled :class:`AdversarialModel` built in ``strategy``'s scope.
        make_dataset: ``start_step -> tf.data.Dataset`` of global batches (see :func:`step_dataset`), or a
            :class:`tfx_explain.data.stream.ResumableBatches` (a streamed dataset; its iterator is checkpointed).
        out_dir: where checkpoints (``checkpoints/``), TensorBoard logs (``logs/``) and sample grids
            (``samples/``) go; None trains in memory only. Under ``MultiWorkerMirroredStrategy`` it must be
            a directory every worker sees: all workers resume from the chief's checkpoints, and only the
            chief writes logs and samples (the others save their checkpoints to a private directory
            that is removed at the end, since saving may take part in collectives).
        checkpoint_every: a killed run loses at most this many steps.
    Returns the Keras history dict of the steps run now (empty when already complete).
    """
    if int(steps) < 1:
        raise InputError(f"steps: expected a positive int, got {steps}")
    with strategy.scope():
        step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        model.build_optimizers()
    chief = worker_info(strategy).is_chief
    manager, writer, start, private = None, None, 0, None
    if out_dir is not None:
        out_dir = Path(out_dir)
        shared = out_dir / "checkpoints"
        private = None if chief else out_dir / ".workers" / f"worker-{worker_info(strategy).index}"
        checkpoint = _run_checkpoint(model, step_var, make_dataset)
        manager = tf.train.CheckpointManager(checkpoint, str(private or shared),
                                             max_to_keep=keep_checkpoints if chief else 1)
        latest = tf.train.latest_checkpoint(str(shared))
        if latest:  # checkpoints drawn under another randomness scheme would resume with other draws
            check_version(_recorded_rng_version(out_dir), str(out_dir))
            checkpoint.restore(latest).assert_existing_objects_matched()
            start = int(step_var.numpy())
        elif chief:
            write_json(out_dir / RNG_RECORD, {"rng_version": RNG_VERSION})
        if chief:
            writer = tf.summary.create_file_writer(str(out_dir / "logs" / "samples"))
    if is_multi_worker(strategy):
        _check_same_start(strategy, start, out_dir)
    remaining = int(steps) - start
    if remaining <= 0:
        return {}
    sample_dir = out_dir / "samples" if out_dir is not None and chief else None
    callback = _StepCallback(start, step_var, manager, checkpoint_every, sample_fn if chief else None,
                             sample_every, sample_dir, writer, getattr(make_dataset, "check_position", None))
    callbacks = [callback]
    if out_dir is not None and chief:
        callbacks.append(keras.callbacks.TensorBoard(str(out_dir / "logs"), update_freq=max(1, int(log_every))))
    dataset = make_dataset(start).take(remaining)
    if verbose == "auto":  # Keras's bar on a terminal or in a notebook, else one line per log_every steps
        from .._console import StepLines, interactive

        verbose = 1 if interactive(sys.stdout) else 0
        if not verbose and chief:
            callbacks.append(StepLines(start, int(steps), log_every, "training"))
    history = model.fit(dataset, epochs=1, steps_per_epoch=remaining, callbacks=callbacks, verbose=verbose,
                        shuffle=False)  # batches are drawn per step from (seed, step)
    if manager is not None and (not checkpoint_every or callback.step % checkpoint_every != 0):
        callback.save()
    if sample_fn is not None and sample_dir is not None:
        callback.save_samples()
    if private is not None:
        shutil.rmtree(private, ignore_errors=True)
        with contextlib.suppress(OSError):  # the last worker out removes the shared parent
            private.parent.rmdir()
    return history.history
