"""explain_dataset: attributions over a whole dataset, streamed through tf.data, sharded, resumable.

The dataset is read in shards of ``shard_size`` images. For every shard the model's predicted class c_o
gives the rows to explain: one per image (one-vs-all), one per image with c_o != K (``target_class=K``),
or K - 1 per image, one for every c_t != c_o (``target_class="all"``, the rows of ganmex_appendix Fig. 9).
Each shard goes through :func:`tfx_explain.explain_keras` and is committed to disk on its own (see
:mod:`.store`): a run that is killed loses at most the shards in flight, and running the same call again
skips every committed shard whose files match their checksums, recomputes the others, and ends with files
byte-identical to an uninterrupted run's (same configuration, same kind of device and strategy).

Randomness (EG references, uniform or random_target baselines) is seeded per shard with a seed derived
from (``seed``, shard index), so a shard's result never depends on which shards ran before it.
"""
from __future__ import annotations

import contextlib
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import baselines as baselines_mod
from .. import data as data_mod
from ..data import stream
from .. import input_range as input_range_mod
from ..api import _check_input_shape, _check_method, _public, explain_keras, predict_scores
from .. import rng
from ..distribute import get_strategy, is_multi_worker, worker_info
from ..errors import InputError, MismatchError
from ..models import introspect
from ..precision import check_precision
from ..targets import SCORES, score_function
from . import store, workers

if TYPE_CHECKING:
    import tensorflow as tf
    from numpy.typing import ArrayLike, NDArray

    from .._typing import Baseline, Data, Model, PathLike, Precision, Range, Score, Strategy
    from ..distribute import WorkerInfo


@dataclass
class RunSummary:
    """What one call of :func:`explain_dataset` did (this worker's view in a multi-worker run)."""

    out_dir: str
    images: int
    rows: int
    shards: int
    computed: int
    skipped: int
    recomputed: int
    seconds: float
    images_per_second: float
    rows_per_second: float
    complete: bool
    worker: int = 0
    workers: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain_dataset(model: Model, dataset: str | tuple[ArrayLike, ArrayLike] | tf.data.Dataset, out_dir: PathLike,
                    *, split: Literal["train", "test"] = "test", method: str = "integrated_gradients",
                    baseline: Baseline = "zero", target_class: int | Literal["all"] | None = None,
                    score: Score = "probability", shard_size: int = 256, format: Literal["npy", "tfrecord"] = "npy",
                    batch_size: int | None = None, strategy: Strategy | None = None, data: Data | None = None,
                    seed: int = 0, image_size: int | tuple[int, int] | None = None, limit: int | None = None,
                    precision: Precision = "float32", jit_compile: bool = False,
                    baseline_options: dict[str, Any] | None = None, allow_mismatch: bool = False,
                    progress: bool | Literal["auto", "bar", "log"] = "auto", worker: WorkerInfo | None = None,
                    worker_timeout: float = workers.WORKER_TIMEOUT, input_range: Range | None = None,
                    **method_options: Any) -> RunSummary:
    """Explain every image of ``dataset`` into sharded files under ``out_dir``; resumable.

    Args:
        model: the Keras classifier.
        dataset: a dataset name (its ``split`` is streamed with :func:`tfx_explain.data.load_dataset`), an
            (images, labels) pair, or a ``tf.data.Dataset`` of (image, label), batched or not.
        out_dir: the run directory. A directory holding a run with another configuration is refused.
        method: as for :func:`tfx_explain.explain_keras`.
        baseline: as for :func:`tfx_explain.explain_keras`; it may also be the path of a saved GANMEX generator.
        score: as for :func:`tfx_explain.explain_keras`.
        batch_size: as for :func:`tfx_explain.explain_keras`.
        seed: as for :func:`tfx_explain.explain_keras`.
        precision: as for :func:`tfx_explain.explain_keras`.
        jit_compile: as for :func:`tfx_explain.explain_keras`.
        baseline_options: as for :func:`tfx_explain.explain_keras`.
        allow_mismatch: as for :func:`tfx_explain.explain_keras`.
        input_range: as for :func:`tfx_explain.explain_keras`.
        **method_options: as for :func:`tfx_explain.explain_keras`.
        target_class: None (one-vs-all), an int K, or ``"all"`` (every c_t != c_o).
        shard_size: images per shard (the unit of resumption and of work between workers).
        format: ``"npy"`` or ``"tfrecord"`` shard files.
        strategy: this worker's local strategy (``"mirrored"`` for all its GPUs, ``"cpu:N"``); workers
            come from ``TF_CONFIG``, each taking its own shards.
        data: training data for the ``mdts``, ``random_target`` and ``train`` baselines; default the train
            split of a named dataset.
        image_size: resize a named dataset's images to this size.
        limit: explain only the first ``limit`` images.
        progress: ``"auto"`` (a bar on a terminal, else a line per shard), True / ``"bar"``, ``"log"``, False.
        worker: a :class:`~tfx_explain.distribute.WorkerInfo`; default from ``TF_CONFIG``.
        worker_timeout: seconds the chief waits for a silent worker before failing the run.
    Returns a :class:`RunSummary`; :func:`load_run` reads the finished run back.
    """
    spec, options = _check_method(method, method_options)
    check_precision(precision)
    introspect.check_model(model)
    _check_run_options(target_class, score, shard_size, format, limit, worker_timeout)
    store.check_not_foreign(out_dir)
    worker = worker if worker is not None else worker_info()
    strategy = _local_strategy(strategy)
    ds, source = _stream(dataset, split, image_size, limit)
    image_shape = tuple(int(d) for d in ds.element_spec[0].shape)
    probe = np.zeros((1,) + image_shape, np.float32)
    _check_input_shape(model, probe)
    num_classes = int(introspect.probe_outputs(model, probe).shape[1])
    if isinstance(target_class, (int, np.integer)) and not 0 <= target_class < num_classes:
        raise InputError(f"target_class: expected an int in [0, {num_classes}) or 'all', got {target_class}")
    train, data_id = _training_data(data, dataset, baseline, spec, image_size)
    resolved, baseline_id = _resolve_baseline(baseline, spec, model, train, target_class, image_shape,
                                              allow_mismatch)
    settings = dict(method=method, baseline=resolved, score=score, batch_size=batch_size, strategy=strategy,
                    data=train, progress=False, baseline_options=baseline_options, allow_mismatch=allow_mismatch,
                    precision=precision, jit_compile=jit_compile, input_range=input_range, **options)
    config = {"kind": "tfx_explain.explain_dataset", "version": 1, "model": introspect.weights_fingerprint(model),
              "source": source, "method": method, "method_options": _public(options), "baseline": baseline_id,
              "baseline_options": _public(dict(baseline_options or {})), "data": data_id,
              "target_class": target_class if target_class is None or target_class == "all" else int(target_class),
              "score": score, "seed": int(seed), "shard_size": int(shard_size), "format": format,
              "batch_size": batch_size, "precision": precision, "jit_compile": bool(jit_compile),
              "image_shape": list(image_shape), "num_classes": num_classes, "rng_version": rng.RNG_VERSION}
    if input_range is not None:  # only when given, so that runs started before the argument existed resume
        config["input_range"] = list(input_range_mod.normalize(input_range).as_tuple())
    job = _Job(model, settings, target_class, num_classes, int(seed), int(shard_size), format, strategy)
    job.validate(ds)  # one image through the whole path: bad settings fail before any file is written
    store.check_config(out_dir, config)
    return job.run(ds, Path(out_dir), config, worker, float(worker_timeout), progress)


def shard_seed(seed: int, shard: int) -> int:
    """The seed of one shard's random draws: a function of (seed, shard index) only."""
    return int(rng.generator(seed, "shard", shard).integers(2 ** 31))


def explained_rows(original_class: NDArray[np.int64], target_class: int | Literal["all"] | None,
                   num_classes: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(image positions, c_o, c_t) of the rows a shard explains; c_t = -1 for one-vs-all."""
    n = len(original_class)
    if target_class is None:
        return np.arange(n), original_class, np.full(n, -1, np.int64)
    if target_class == "all":
        classes = np.broadcast_to(np.arange(num_classes), (n, num_classes))
        others = classes != original_class[:, None]
        positions = np.repeat(np.arange(n), num_classes - 1)
        return positions, original_class[positions], classes[others].astype(np.int64)
    keep = np.flatnonzero(original_class != target_class)
    return keep, original_class[keep], np.full(len(keep), int(target_class), np.int64)


class _Job:
    """One worker's share of a run: the settings fixed, the shards to go through."""

    def __init__(self, model, settings, target_class, num_classes, seed, shard_size, fmt, strategy):
        self.model, self.settings = model, settings
        self.target_class, self.num_classes = target_class, num_classes
        self.seed, self.shard_size, self.format, self.strategy = seed, shard_size, fmt, strategy

    def predicted(self, x):
        """c_o: the model's class, always from float32 probabilities (the precision switch cannot move it)."""
        fn = score_function(self.model, "probability", probe=x[:1])
        return predict_scores(fn, x, self.strategy).argmax(axis=1).astype(np.int64)

    def explain(self, x, labels, start, shard):
        """The shard's arrays: attributions, baselines (None without one) and the row records."""
        positions, co, ct = explained_rows(self.predicted(x), self.target_class, self.num_classes)
        if len(positions) == 0:
            empty = np.zeros((0,) + x.shape[1:], np.float32)
            nan = np.zeros(0, np.float32)
            rows = store.rows_record(positions, labels[positions], co, ct, nan, nan)
            return {"attributions": empty, "baselines": None if self.settings["baseline"] is None else empty,
                    "rows": rows}
        e = explain_keras(self.model, x[positions], original_class=co,
                          target_class=None if self.target_class is None else ct, seed=shard_seed(self.seed, shard),
                          **self.settings)
        baseline_scores = e.baseline_scores if e.baseline_scores is not None else np.full(len(positions), np.nan)
        rows = store.rows_record(start + positions, labels[positions], co, ct, e.input_scores, baseline_scores)
        return {"attributions": e.attributions, "baselines": e.baselines, "rows": rows}

    def validate(self, ds):
        for x, y in ds.take(1).batch(1).as_numpy_iterator():
            self.explain(x, y, 0, 0)

    def run(self, ds, out_dir, config, worker, timeout, progress):
        shards_dir = out_dir / store.SHARDS
        shards_dir.mkdir(parents=True, exist_ok=True)
        mine = lambda s: s % worker.count == worker.index
        store.remove_stale_temporaries(shards_dir, mine)
        before = workers.snapshot(out_dir, worker) if worker.count > 1 else {}
        total = int(ds.cardinality())
        bar = _Progress(total if total >= 0 else None, progress, worker)
        counts = dict(images=0, rows=0, computed=0, skipped=0, recomputed=0, busy=0.0, computed_images=0,
                      computed_rows=0)
        start = time.perf_counter()
        beat = (workers.Heartbeat(out_dir, worker, max(0.2, timeout / 6)) if worker.count > 1
                else contextlib.nullcontext())
        with beat:
            n_shards = 0
            for shard, (x, y) in enumerate(stream.read_chunks(ds, self.shard_size)):
                n_shards = shard + 1
                first = counts["images"]
                counts["images"] += len(x)
                if mine(shard):
                    self._shard(shards_dir, shard, first, x, y, counts)
                    if worker.count > 1:
                        beat.update(shards_done=counts["computed"] + counts["skipped"])
                bar.update(len(x), counts)
            if n_shards == 0:
                raise InputError("dataset: it holds no images to explain")
            if worker.count > 1:
                beat.update(status="done", shards=n_shards)
        complete = worker.is_chief
        if complete:
            if worker.count > 1:
                workers.wait_for_shards(out_dir, shards_dir, n_shards, worker, timeout, before)
            entries = self._entries(shards_dir, n_shards, worker)
            store.write_manifest(out_dir, config, entries)
            counts["rows"] = sum(e["rows"] for e in entries)
        bar.close()
        seconds = time.perf_counter() - start
        busy = max(counts["busy"], 1e-9)
        return RunSummary(str(out_dir), counts["images"], counts["rows"], n_shards, counts["computed"],
                          counts["skipped"], counts["recomputed"], round(seconds, 3),
                          round(counts["computed_images"] / busy, 2) if counts["computed"] else 0.0,
                          round(counts["computed_rows"] / busy, 2) if counts["computed"] else 0.0,
                          complete, worker.index, worker.count)

    def _shard(self, shards_dir, shard, first, x, y, counts):
        digest = store.inputs_sha256(x, y)
        entry = store.read_entry(shards_dir, shard)
        if entry is not None:
            if entry["inputs_sha256"] != digest:
                raise MismatchError(f"dataset: shard {shard} (images {first} to {first + len(x) - 1}) holds other "
                                    "images than this run explained before; the dataset changed. Use a new out_dir")
            found = store.problems(shards_dir, entry)
            if not found:
                counts["skipped"] += 1
                counts["rows"] += entry["rows"]
                return
            warnings.warn(f"shard {shard}: {'; '.join(found)}; recomputing it", stacklevel=3)
            counts["recomputed"] += 1
        began = time.perf_counter()
        arrays = self.explain(x, y, first, shard)
        files = store.write_shard(shards_dir, shard, arrays, self.format)
        store.write_entry(shards_dir, {
            "shard": shard, "first_image": first, "images": len(x), "rows": len(arrays["rows"]),
            "inputs_sha256": digest, "image_shape": list(x.shape[1:]),
            "has_baselines": arrays["baselines"] is not None, "files": files})
        counts["busy"] += time.perf_counter() - began
        counts["computed"] += 1
        counts["computed_images"] += len(x)
        counts["computed_rows"] += len(arrays["rows"])
        counts["rows"] += len(arrays["rows"])

    def _entries(self, shards_dir, n_shards, worker):
        entries = [store.read_entry(shards_dir, s) for s in range(n_shards)]
        missing = [s for s, e in enumerate(entries) if e is None]
        if missing:
            raise MismatchError(f"out_dir: shard(s) {missing[:8]} are not committed")
        extra = store.read_entry(shards_dir, n_shards)
        if extra is not None:
            raise MismatchError(f"dataset: the run holds shard {n_shards}, past the dataset's end ({n_shards} "
                                "shards); the dataset changed. Use a new out_dir")
        for s, entry in enumerate(entries):  # others' shards: a cheap size check (verify_run reads everything)
            if s % worker.count != worker.index and store.problems(shards_dir, entry, full=False):
                raise MismatchError(f"shard {s}: {store.problems(shards_dir, entry, full=False)[0]}")
        return entries


class _Progress:
    """Images done, with this attempt's throughput: a tqdm bar, a line per shard, or nothing."""

    def __init__(self, total, mode, worker):
        if mode == "auto":
            from .._console import interactive

            mode = "bar" if interactive() else "log"
        self.mode = {True: "bar", False: None, None: None}.get(mode, mode)
        self.total, self.done = total, 0
        self.prefix = f"worker {worker.index}/{worker.count}: " if worker.count > 1 else ""
        self.bar = None
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=f"{self.prefix}explaining", unit="img")

    def update(self, n, counts):
        self.done += n
        rate = counts["computed_images"] / counts["busy"] if counts["busy"] else 0.0
        if self.bar is not None:
            self.bar.update(n)
            self.bar.set_postfix_str(f"{rate:.1f} img/s computed, {counts['skipped']} shards kept")
        elif self.mode == "log":
            of = f"/{self.total}" if self.total is not None else ""
            print(f"{self.prefix}{self.done}{of} images, {counts['rows']} rows; {counts['computed']} shards computed "
                  f"({rate:.1f} img/s), {counts['skipped']} kept", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _check_run_options(target_class, score, shard_size, fmt, limit, timeout):
    if not (target_class is None or target_class == "all" or
            (isinstance(target_class, (int, np.integer)) and not isinstance(target_class, bool))):
        raise InputError(f"target_class: expected None, an int or 'all', got {target_class!r}")
    if score not in SCORES:
        raise InputError(f"score: expected one of {SCORES}, got {score!r}")
    if not isinstance(shard_size, (int, np.integer)) or shard_size < 1:
        raise InputError(f"shard_size: expected a positive int, got {shard_size!r}")
    if fmt not in store.FORMATS:
        raise InputError(f"format: expected one of {store.FORMATS}, got {fmt!r}")
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise InputError(f"limit: expected a positive int or None, got {limit!r}")
    if not timeout > 0:
        raise InputError(f"worker_timeout: expected a positive number of seconds, got {timeout!r}")


def _local_strategy(strategy):
    if strategy == "multiworker":
        raise InputError("strategy: a dataset run shares its shards between workers itself (from TF_CONFIG); pass "
                         "each worker's local strategy instead, e.g. 'mirrored' for all its GPUs")
    strategy = get_strategy(strategy) if strategy is not None else None
    if is_multi_worker(strategy):
        raise InputError("strategy: a dataset run shares its shards between workers itself (from TF_CONFIG); pass "
                         "each worker's local strategy, not a MultiWorkerMirroredStrategy")
    return strategy


def _stream(dataset, split, image_size, limit):
    """(tf.data of (image float32 HWC, label int64), a JSON description of the source for the configuration)."""
    import tensorflow as tf

    if isinstance(dataset, str):
        ds = data_mod.load_dataset(dataset, split, image_size=image_size)
        source = {"dataset": dataset, "split": split, "image_size": image_size}
    elif isinstance(dataset, tf.data.Dataset):
        ds, source = dataset, {"dataset": "tf.data"}
    elif isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        images = data_mod.as_images(dataset[0], "dataset[0] (images)", allow_single=False)
        labels = data_mod.as_labels(dataset[1], len(images), name="dataset[1] (labels)")
        ds = tf.data.Dataset.from_tensor_slices((images, labels))
        source = {"dataset": "arrays", "sha256": store.inputs_sha256(images, labels)}
    else:
        raise InputError(f"dataset: expected a dataset name, an (images, labels) pair or a tf.data.Dataset of "
                         f"(image, label), got {type(dataset).__name__}")
    if limit is None:
        stream.check_finite(ds, "dataset", allow_unknown=True)  # streamed to disk: an unknown size is fine
    ds, _ = stream.image_stream(ds, "dataset", labels="required", resize_hint="resize them (image_size=...)")
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), tf.cast(tf.reshape(y, []), tf.int64)))
    if limit is not None:
        ds = ds.take(int(limit))
        source["limit"] = int(limit)
    return ds, source


def _training_data(data, dataset, baseline, spec, image_size):
    """Training data for the baselines that draw from it, and how the configuration names it."""
    if spec.baseline == "none" or not (isinstance(baseline, str) and baseline in baselines_mod.NEEDS_DATA):
        return None, None
    if data is None and isinstance(dataset, str):
        data = dataset
    if data is None:
        raise InputError(f"data: baseline {baseline!r} draws from the training data; pass data=(images, labels) "
                         "or a dataset name")
    if isinstance(data, str):
        return data_mod.load_named(data, "train", **({"image_size": image_size} if image_size else {})), {
            "dataset": data, "split": "train", "image_size": image_size}
    if stream.is_dataset(data):  # streamed by the baselines; identified by the content hash of one pass
        training = baselines_mod.TrainingData(dataset=data)
        for _ in training.chunks():
            pass
        return training, {"tf.data": training.fingerprint()}
    images, labels = data_mod.resolve(data, "train")
    return (images, labels), {"sha256": store.inputs_sha256(images, labels)}


def _resolve_baseline(baseline, spec, model, train, target_class, image_shape, allow_mismatch):
    """(what explain_keras gets, how the configuration names it); generators are loaded once."""
    if spec.baseline == "none":
        return None, None
    if isinstance(baseline, (str, Path)) and str(baseline) not in baselines_mod.NAMES:
        path = Path(baseline)
        if not path.exists():
            raise InputError(f"baseline: expected one of {baselines_mod.NAMES} or the path of a saved GANMEX "
                             f"generator, got {str(baseline)!r}")
        from .. import ganmex

        baseline = ganmex.load(path)
    if hasattr(baseline, "generate"):
        if target_class is None:
            raise InputError("target_class: a generator baseline (GANMEX) is class-targeted; pass an int or 'all'")
        if hasattr(baseline, "check_classifier"):
            baseline.check_classifier(model, allow_mismatch=allow_mismatch)
        inner = getattr(baseline, "generator", None)
        identity = introspect.weights_fingerprint(inner) if inner is not None else type(baseline).__qualname__
        return baseline, {"generator": identity}
    if isinstance(baseline, str):
        baselines_mod.check_spec(baseline, (1,) + image_shape, train)
        return baseline, baseline
    if callable(baseline):
        return baseline, {"callable": getattr(baseline, "__qualname__", type(baseline).__name__)}
    values = np.asarray(baseline, np.float32)
    if values.shape not in (image_shape, (1,) + image_shape):
        raise InputError(f"baseline: an array baseline of a dataset run is one image {image_shape} for all, got "
                         f"{values.shape}")
    values = values.reshape(image_shape)
    return values, {"array": store.inputs_sha256(values[None], np.zeros(1, np.int64))}
