"""The on-disk form of a dataset run: shard files, their checksums, the run's configuration and manifest.

::

    out_dir/
      config.json                  the run's configuration; a run with another one is refused
      shards/
        attributions-00003.npy     (rows, H, W, C) float32
        baselines-00003.npy        (rows, H, W, C) float32 (absent for methods without a baseline)
        rows-00003.npy             one record per row (ROW_DTYPE): image index, label, c_o, c_t, scores
        shard-00003.json           the shard's entry: images, rows, input checksum, each file's SHA-256
      manifest.json                every shard's entry, written once all shards are done
      workers/worker-00001.json    heartbeats of a multi-worker run

With ``format="tfrecord"`` a shard is one ``shard-00003.tfrecord`` (a ``tf.train.Example`` per row, see
:func:`tfrecord_features`) beside its entry. Every file is written to a temporary name in the same
directory, flushed to disk and renamed, so a name either holds a complete file or does not exist; the
entry is written last and commits the shard. Nothing here stores time or host names: two runs with the
same configuration leave byte-identical shards and manifest.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_path

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

    from .._typing import PathLike
from ..errors import InputError, MismatchError
from ..rng import check_version

FORMATS = ("npy", "tfrecord")
ROW_DTYPE = np.dtype([("index", "<i8"), ("label", "<i8"), ("original_class", "<i8"), ("target_class", "<i8"),
                      ("input_score", "<f4"), ("baseline_score", "<f4")])
CONFIG, MANIFEST, SHARDS = "config.json", "manifest.json", "shards"
_TEMP = re.compile(r"^\..*-(\d{5,})\..*\.tmp")


def shard_name(kind, index, ext):
    return f"{kind}-{index:05d}.{ext}"


def sha256_file(path, block=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def inputs_sha256(images, labels):
    """Checksum of a shard's inputs: a resumed run must see the very images it explained before."""
    h = hashlib.sha256(str(images.shape).encode())
    h.update(np.ascontiguousarray(images, "<f4").tobytes())
    h.update(np.ascontiguousarray(labels, "<i8").tobytes())
    return h.hexdigest()


def _durable(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_atomic(path, write):
    """``write(temp_path)``, flush it to disk, rename it onto ``path``; returns the file's record."""
    path = Path(path)
    with atomic_path(path, suffix=".tmp") as tmp:
        write(tmp)
        _durable(tmp)
    return {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}


def _save_npy(array):
    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)

    return write


def rows_record(index, label, original_class, target_class, input_score, baseline_score):
    rows = np.zeros(len(index), ROW_DTYPE)
    for name, values in zip(ROW_DTYPE.names, (index, label, original_class, target_class, input_score,
                                              baseline_score)):
        rows[name] = values
    return rows


def write_shard(shards_dir, index, arrays, fmt):
    """Write one shard's ``{"attributions", "baselines" (or None), "rows"}``; returns its files' records."""
    shards_dir = Path(shards_dir)
    if fmt == "npy":
        files = {}
        for kind in ("attributions", "baselines", "rows"):
            if arrays[kind] is not None:
                files[kind] = write_atomic(shards_dir / shard_name(kind, index, "npy"), _save_npy(arrays[kind]))
        return files
    return {"tfrecord": write_atomic(shards_dir / shard_name("shard", index, "tfrecord"), _tfrecord_writer(arrays))}


def tfrecord_features():
    """The features of one row's ``tf.train.Example`` (for ``tf.io.parse_example``)."""
    import tensorflow as tf

    ints = {name: tf.io.FixedLenFeature([], tf.int64) for name in ("index", "label", "original_class",
                                                                   "target_class")}
    floats = {name: tf.io.FixedLenFeature([], tf.float32) for name in ("input_score", "baseline_score")}
    raw = {"attribution": tf.io.FixedLenFeature([], tf.string), "baseline": tf.io.FixedLenFeature([], tf.string, b""),
           "shape": tf.io.FixedLenFeature([3], tf.int64)}
    return {**ints, **floats, **raw}


def _tfrecord_writer(arrays):
    import tensorflow as tf

    def feature(value, kind):
        if kind == "int":
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in np.ravel(value)]))
        if kind == "float":
            return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in np.ravel(value)]))
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    def write(tmp):
        attributions, baselines, rows = arrays["attributions"], arrays["baselines"], arrays["rows"]
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for i, row in enumerate(rows):
                features = {name: feature(row[name], "int") for name in ROW_DTYPE.names[:4]}
                features.update({name: feature(row[name], "float") for name in ROW_DTYPE.names[4:]})
                features["attribution"] = feature(np.ascontiguousarray(attributions[i], "<f4").tobytes(), "bytes")
                if baselines is not None:
                    features["baseline"] = feature(np.ascontiguousarray(baselines[i], "<f4").tobytes(), "bytes")
                features["shape"] = feature(attributions.shape[1:], "int")
                example = tf.train.Example(features=tf.train.Features(feature=features))
                writer.write(example.SerializeToString(deterministic=True))

    return write


def read_shard(shards_dir: PathLike, entry: Mapping[str, Any]) -> dict[str, NDArray[Any] | None]:
    """A shard's arrays: ``{"attributions", "baselines" (None when absent), "rows"}``."""
    shards_dir = Path(shards_dir)
    files = entry["files"]
    if "tfrecord" in files:
        _verified_bytes(shards_dir, files["tfrecord"])
        return _read_tfrecord(shards_dir / files["tfrecord"]["file"], entry)
    load = lambda kind: (np.load(io.BytesIO(_verified_bytes(shards_dir, files[kind])), allow_pickle=False)
                         if kind in files else None)
    return {"attributions": load("attributions"), "baselines": load("baselines"), "rows": load("rows")}


def _verified_bytes(shards_dir, record):
    """A shard file's bytes, checked against its recorded size and SHA-256 (hashing what was read costs about
    as much as reading it): a bit-rotted shard is refused instead of returning garbage values."""
    path = Path(shards_dir) / record["file"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"out_dir: the shard file {path} is missing; run the same command again to recompute "
                         "it") from None
    if len(data) != record["bytes"] or hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise InputError(f"out_dir: the shard file {path} does not match its SHA-256 checksum (changed on disk); "
                         "verify_run lists every such shard, and running the same command again recomputes them")
    return data


def _read_tfrecord(path, entry):
    import tensorflow as tf

    shape = tuple(entry["image_shape"])
    rows = np.zeros(entry["rows"], ROW_DTYPE)
    attributions = np.zeros((entry["rows"],) + shape, np.float32)
    baselines = np.zeros_like(attributions) if entry["has_baselines"] else None
    for i, record in enumerate(tf.data.TFRecordDataset(str(path)).as_numpy_iterator()):
        feature = tf.train.Example.FromString(record).features.feature
        for name in ROW_DTYPE.names[:4]:
            rows[name][i] = feature[name].int64_list.value[0]
        for name in ROW_DTYPE.names[4:]:
            rows[name][i] = feature[name].float_list.value[0]
        attributions[i] = np.frombuffer(feature["attribution"].bytes_list.value[0], "<f4").reshape(shape)
        if baselines is not None:
            baselines[i] = np.frombuffer(feature["baseline"].bytes_list.value[0], "<f4").reshape(shape)
    return {"attributions": attributions, "baselines": baselines, "rows": rows}


def entry_path(shards_dir, index):
    return Path(shards_dir) / shard_name("shard", index, "json")


def read_entry(shards_dir, index):
    """The committed entry of shard ``index``, or None (never written, or unreadable: recomputed)."""
    path = entry_path(shards_dir, index)
    try:
        entry = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("shard") == index else None


def write_entry(shards_dir, entry):
    text = json.dumps(entry, indent=1, sort_keys=True) + "\n"
    write_atomic(entry_path(shards_dir, entry["shard"]), lambda tmp: tmp.write_text(text))


def problems(shards_dir, entry, full=True):
    """What is wrong with a committed shard's files: missing, wrong size, or (``full``) wrong SHA-256."""
    found = []
    for kind, record in entry["files"].items():
        path = Path(shards_dir) / record["file"]
        if not path.exists():
            found.append(f"{record['file']} is missing")
        elif path.stat().st_size != record["bytes"]:
            found.append(f"{record['file']} has {path.stat().st_size} bytes, the manifest says {record['bytes']}")
        elif full and sha256_file(path) != record["sha256"]:
            found.append(f"{record['file']} does not match its SHA-256 checksum")
    return found


def remove_stale_temporaries(shards_dir, owns):
    """Delete temporary files left by a killed writer, for the shards ``owns(index)`` says are ours."""
    for path in Path(shards_dir).glob(".*.tmp*"):
        match = _TEMP.match(path.name)
        if match and owns(int(match.group(1))):
            path.unlink(missing_ok=True)


def check_not_foreign(out_dir):
    """Refuse an ``out_dir`` that is a file, or a non-empty directory that holds no run (e.g. a GANMEX run)."""
    out_dir = Path(out_dir)
    if (out_dir / CONFIG).exists():
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"out_dir: {out_dir} exists and is not a directory")
    if (out_dir / SHARDS).exists():
        raise MismatchError(f"out_dir: {out_dir} holds shards but no {CONFIG}; it is not a run this version can "
                            "resume. Use a new out_dir")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise MismatchError(f"out_dir: {out_dir} is not empty and holds no dataset run ({CONFIG}); "
                            "use a new or empty directory")


def check_config(out_dir, config):
    """Refuse ``out_dir`` when it holds a run with another configuration, or something that is not a run.

    Writes ``config.json`` when the directory holds no run yet (every worker may: the content is the same).
    """
    out_dir = Path(out_dir)
    path = out_dir / CONFIG
    config = json.loads(json.dumps(config))
    if path.exists():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            raise MismatchError(f"out_dir: {path} is not a run configuration (unreadable JSON)") from None
        if isinstance(previous, dict) and previous.get("rng_version") != config.get("rng_version"):
            check_version(previous.get("rng_version"), str(out_dir))  # draws differ: one clear error, not a diff
        if previous != config:
            changed = sorted(k for k in set(previous) | set(config) if previous.get(k) != config.get(k))
            raise MismatchError(f"out_dir: {out_dir} holds a dataset run with another configuration (it differs in "
                                f"{changed}); use a new out_dir, or the same settings to resume it")
        return
    if out_dir.exists() and (out_dir / SHARDS).exists():
        raise MismatchError(f"out_dir: {out_dir} holds shards but no {CONFIG}; it is not a run this version can "
                            "resume. Use a new out_dir")
    check_not_foreign(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n"))


def write_manifest(out_dir, config, entries):
    """The run's table of contents: configuration, totals and every shard's entry (in shard order)."""
    manifest = {"config": config, "shards": len(entries), "images": sum(e["images"] for e in entries),
                "rows": sum(e["rows"] for e in entries), "format": config["format"], "entries": entries}
    text = json.dumps(json.loads(json.dumps(manifest)), indent=1, sort_keys=True) + "\n"
    write_atomic(Path(out_dir) / MANIFEST, lambda tmp: tmp.write_text(text))
    return manifest


def read_manifest(out_dir: PathLike) -> dict[str, Any]:
    path = Path(out_dir) / MANIFEST
    if not path.exists():
        done = len(list((Path(out_dir) / SHARDS).glob("shard-*.json"))) if (Path(out_dir) / SHARDS).exists() else 0
        raise InputError(f"out_dir: {out_dir} holds no finished run ({MANIFEST} is missing; {done} shard(s) are "
                         "committed); run the same command again to finish it")
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        raise InputError(f"out_dir: {path} is unreadable (truncated or not JSON); delete it and run the same "
                         "command again to rewrite it from the committed shards") from None
    if not isinstance(manifest, dict) or "entries" not in manifest:
        raise InputError(f"out_dir: {path} is not a run manifest")
    return manifest


def verify_run(out_dir: PathLike) -> dict[int, list[str]]:
    """Check every shard of a finished run against the manifest's SHA-256s: ``{shard: [problems]}``, empty
    when all is well. Running the same ``explain_dataset`` call again recomputes the shards listed."""
    manifest = read_manifest(out_dir)
    shards_dir = Path(out_dir) / SHARDS
    report = {}
    for entry in manifest["entries"]:
        committed = read_entry(shards_dir, entry["shard"])
        found = problems(shards_dir, entry)
        if committed != entry:
            found.insert(0, f"{entry_path(shards_dir, entry['shard']).name} differs from the manifest")
        if found:
            report[entry["shard"]] = found
    return report


def load_run(out_dir: PathLike) -> dict[str, Any]:
    """A finished run's shards, concatenated: ``{"attributions", "baselines", "rows", "config"}``.

    ``rows`` is a record array (fields of :data:`ROW_DTYPE`: the dataset index of each row's image, its
    label, c_o, c_t (-1 for one-vs-all), the explained score at the input and at the baseline). For runs
    larger than memory, read the shards one by one with :func:`read_shard` over ``manifest["entries"]``.
    """
    manifest = read_manifest(out_dir)
    shards_dir = Path(out_dir) / SHARDS
    parts = [read_shard(shards_dir, entry) for entry in manifest["entries"]]
    has_baselines = all(p["baselines"] is not None for p in parts)
    return {"attributions": np.concatenate([p["attributions"] for p in parts]),
            "baselines": np.concatenate([p["baselines"] for p in parts]) if has_baselines else None,
            "rows": np.concatenate([p["rows"] for p in parts]), "config": manifest["config"]}
