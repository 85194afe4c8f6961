"""Dataset runs: equality with explain_keras, manifest checksums, corrupt shards, refusal of another
configuration, atomic writes, both shard formats, and the chief's timeout on a silent worker."""
import hashlib
import json
import threading
import time

import numpy as np
import pytest

import tfx_explain as tx
from tfx_explain import scale
from tfx_explain.distribute import WorkerInfo
from tfx_explain.errors import InputError, MismatchError
from tfx_explain.scale import store

IG = dict(method="integrated_gradients", progress=False)


def _run(model, dataset, out, **kwargs):
    options = dict(IG, shard_size=16, **({} if "method" in kwargs else {"steps": 8}))
    options.update(kwargs)
    if options["method"] != "integrated_gradients":
        options.pop("steps", None)
    return scale.explain_dataset(model, dataset, out, **options)


def test_rows_of_target_class_all_cover_every_other_class():
    positions, co, ct = scale.explained_rows(np.array([2, 0]), "all", 4)
    assert positions.tolist() == [0, 0, 0, 1, 1, 1]
    assert co.tolist() == [2, 2, 2, 0, 0, 0] and ct.tolist() == [0, 1, 3, 1, 2, 3]
    positions, co, ct = scale.explained_rows(np.array([2, 0, 1]), 1, 4)  # c_o == K has nothing to explain
    assert positions.tolist() == [0, 1] and ct.tolist() == [1, 1]
    assert scale.explained_rows(np.array([3]), None, 4)[2].tolist() == [-1]


def test_run_equals_explain_keras_row_by_row_and_manifest_checksums_hold(small_model, small_digits, tmp_path):
    x, y = small_digits
    summary = _run(small_model, (x[:40], y[:40]), tmp_path, target_class="all")
    assert summary.complete and summary.images == 40 and summary.shards == 3 and summary.rows == 40 * 9
    out = scale.load_run(tmp_path)
    rows = out["rows"]
    predicted = small_model.predict(x[:40], verbose=0).argmax(1)
    np.testing.assert_array_equal(rows["index"], np.repeat(np.arange(40), 9))
    np.testing.assert_array_equal(rows["original_class"], predicted[rows["index"]])
    np.testing.assert_array_equal(rows["label"], y[rows["index"]])
    for i in range(40):  # every c_t != c_o, once
        assert sorted(rows["target_class"][rows["index"] == i]) == [k for k in range(10) if k != predicted[i]]
    e = tx.explain_keras(small_model, x[rows["index"]], original_class=rows["original_class"],
                         target_class=rows["target_class"], baseline="zero", steps=8, **IG)
    np.testing.assert_allclose(out["attributions"], e.attributions, atol=1e-6)
    np.testing.assert_allclose(rows["input_score"], e.input_scores, atol=1e-6)
    np.testing.assert_allclose(rows["baseline_score"], e.baseline_scores, atol=1e-6)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["rows"] == 360 and [e["shard"] for e in manifest["entries"]] == [0, 1, 2]
    for entry in manifest["entries"]:  # checksums recomputed independently of the package
        for record in entry["files"].values():
            data = (tmp_path / "shards" / record["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == record["sha256"] and len(data) == record["bytes"]
    assert scale.verify_run(tmp_path) == {}


def test_corrupt_shard_is_detected_and_recomputed_to_the_same_bytes(small_model, small_digits, tmp_path):
    x, y = small_digits
    _run(small_model, (x[:40], y[:40]), tmp_path, target_class=3)
    victim = tmp_path / "shards" / "attributions-00001.npy"
    original = victim.read_bytes()
    damaged = bytearray(original)
    damaged[-5] ^= 0xFF  # one flipped byte in the data; the size is unchanged
    victim.write_bytes(bytes(damaged))
    report = scale.verify_run(tmp_path)
    assert list(report) == [1] and "SHA-256" in report[1][0]
    (tmp_path / "shards" / "baselines-00002.npy").unlink()
    with pytest.warns(UserWarning, match="recomputing"):
        summary = _run(small_model, (x[:40], y[:40]), tmp_path, target_class=3)
    assert (summary.computed, summary.skipped, summary.recomputed) == (2, 1, 2)
    assert victim.read_bytes() == original
    assert scale.verify_run(tmp_path) == {}


def test_directory_of_another_configuration_or_other_images_is_refused(small_model, small_digits, tmp_path):
    x, y = small_digits
    _run(small_model, (x[:20], y[:20]), tmp_path, target_class="all")
    with pytest.raises(MismatchError, match="method_options"):
        _run(small_model, (x[:20], y[:20]), tmp_path, target_class="all", **{"steps": 9})
    with pytest.raises(MismatchError, match="target_class"):
        _run(small_model, (x[:20], y[:20]), tmp_path, target_class=2)
    other = small_model.__class__.from_config(small_model.get_config())
    other.set_weights([w + 0.01 for w in small_model.get_weights()])
    with pytest.raises(MismatchError, match="model"):
        _run(other, (x[:20], y[:20]), tmp_path, target_class="all")
    import tensorflow as tf  # the same configuration, but the stream now yields other images

    changed = tf.data.Dataset.from_tensor_slices((x[20:40], y[20:40]))
    first = tmp_path / "from_stream"
    _run(small_model, tf.data.Dataset.from_tensor_slices((x[:20], y[:20])), first, target_class="all")
    with pytest.raises(MismatchError, match="shard 0 .* other images"):
        _run(small_model, changed, first, target_class="all")
    (tmp_path / "foreign" / "shards").mkdir(parents=True)
    with pytest.raises(MismatchError, match="no config.json"):
        _run(small_model, (x[:20], y[:20]), tmp_path / "foreign")


def test_a_write_that_fails_midway_leaves_no_partial_file(small_model, small_digits, tmp_path, monkeypatch):
    """An interrupted write never shows under the final name; the run resumes and completes."""
    x, y = small_digits
    real = store._save_npy
    calls = {"n": 0}

    def dying(array):
        def write(tmp):
            calls["n"] += 1
            if calls["n"] == 4:  # the second shard's attributions: half written, then the "crash"
                tmp.write_bytes(b"\x93NUMPY" + b"\0" * 40)
                raise OSError("disk pulled out mid-write")
            real(array)(tmp)
        return write

    monkeypatch.setattr(store, "_save_npy", dying)
    with pytest.raises(OSError, match="mid-write"):
        _run(small_model, (x[:40], y[:40]), tmp_path, target_class=3)
    shards = tmp_path / "shards"
    assert sorted(p.name for p in shards.iterdir()) == [
        "attributions-00000.npy", "baselines-00000.npy", "rows-00000.npy", "shard-00000.json"]
    monkeypatch.setattr(store, "_save_npy", real)
    (shards / ".attributions-00001.npy.dead.tmp").write_bytes(b"left by a killed writer")
    summary = _run(small_model, (x[:40], y[:40]), tmp_path, target_class=3)
    assert (summary.skipped, summary.computed) == (1, 2)
    assert not list(shards.glob(".*")) and scale.verify_run(tmp_path) == {}


def test_tfrecord_shards_hold_the_same_values(small_model, small_digits, tmp_path):
    x, y = small_digits
    _run(small_model, (x[:24], y[:24]), tmp_path / "npy", target_class="all", method="occlusion", window=2)
    _run(small_model, (x[:24], y[:24]), tmp_path / "tfr", target_class="all", method="occlusion", window=2,
         format="tfrecord")
    a, b = scale.load_run(tmp_path / "npy"), scale.load_run(tmp_path / "tfr")
    for key in ("attributions", "baselines", "rows"):
        np.testing.assert_array_equal(a[key], b[key])
    assert sorted(p.suffix for p in (tmp_path / "tfr" / "shards").iterdir()) == [".json", ".json", ".tfrecord",
                                                                                ".tfrecord"]
    import tensorflow as tf  # readable with plain tf.data, as the format promises

    record = next(iter(tf.data.TFRecordDataset(str(tmp_path / "tfr" / "shards" / "shard-00000.tfrecord"))))
    parsed = tf.io.parse_single_example(record, store.tfrecord_features())
    np.testing.assert_array_equal(tf.io.decode_raw(parsed["attribution"], tf.float32).numpy().reshape(8, 8, 1),
                                  a["attributions"][0])


def test_methods_without_baseline_and_named_datasets(small_model, tmp_path):
    summary = scale.explain_dataset(small_model, "digits", tmp_path, split="test", image_size=8, limit=10,
                                    method="saliency", shard_size=4, progress=False)
    out = scale.load_run(tmp_path)
    assert summary.rows == 10 and out["baselines"] is None and np.isnan(out["rows"]["baseline_score"]).all()
    assert out["config"]["source"] == {"dataset": "digits", "split": "test", "image_size": 8, "limit": 10}


@pytest.mark.parametrize("kwargs, match", [
    ({"target_class": "some"}, "target_class: expected None, an int or 'all'"),
    ({"target_class": 10}, r"target_class: expected an int in \[0, 10\)"),
    ({"shard_size": 0}, "shard_size"), ({"format": "csv"}, "format"), ({"strategy": "multiworker"}, "TF_CONFIG"),
    ({"method": "nope"}, "method: expected one of"), ({"baseline": "mdts"}, "data: baseline 'mdts'"),
    ({"baseline": "no/such/generator"}, "saved GANMEX generator"), ({"precision": "float8"}, "precision"),
    ({"baseline": "train"}, "'integrated_gradients' takes one baseline per sample"),
])
def test_bad_input_is_refused_before_any_file_is_written(small_model, small_digits, tmp_path, kwargs, match):
    x, y = small_digits
    data = (x[:4], y[:4])
    if kwargs.get("baseline") == "train":
        kwargs = dict(kwargs, data=data)
    with pytest.raises(InputError, match=match):
        _run(small_model, data, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_an_infinite_dataset_is_refused_unless_limited_and_an_unknown_size_is_streamed(small_model, small_digits,
                                                                                         tmp_path):
    import tensorflow as tf

    x, y = small_digits
    endless = tf.data.Dataset.from_tensor_slices((x[:4], y[:4])).repeat()
    with pytest.raises(InputError, match="^dataset: the tf.data.Dataset is infinite"):
        _run(small_model, endless, tmp_path / "out", method="saliency")
    assert not (tmp_path / "out").exists()
    assert _run(small_model, endless, tmp_path / "limited", method="saliency", limit=6).images == 6
    unknown = tf.data.Dataset.from_tensor_slices((x[:5], y[:5])).filter(lambda a, b: True)
    assert _run(small_model, unknown, tmp_path / "unknown", method="saliency").images == 5


def test_chief_fails_loudly_when_a_worker_is_silent_or_failed(small_model, small_digits, tmp_path):
    x, y = small_digits
    start = time.monotonic()
    with pytest.raises(scale.WorkerError, match=r"worker 1: no heartbeat .* shard\(s\) \[1\]"):
        _run(small_model, (x[:32], y[:32]), tmp_path / "silent", worker=WorkerInfo(0, 2), worker_timeout=1.0)
    assert time.monotonic() - start < 60
    assert scale.read_shard(tmp_path / "silent" / "shards", store.read_entry(tmp_path / "silent" / "shards", 0))

    def failing_worker():  # a worker 1 that reports a crash while the chief works on its own shard
        while not (tmp_path / "failed" / "shards" / "rows-00000.npy").exists():
            time.sleep(0.05)
        tx._io.write_json(scale.workers.heartbeat_path(tmp_path / "failed", 1),
                          {"worker": 1, "status": "failed", "beat": 7, "error": "ResourceExhaustedError: OOM"})

    thread = threading.Thread(target=failing_worker)
    thread.start()
    with pytest.raises(scale.WorkerError, match="worker 1 failed: ResourceExhaustedError: OOM"):
        _run(small_model, (x[:32], y[:32]), tmp_path / "failed", worker=WorkerInfo(0, 2), worker_timeout=30.0)
    thread.join()
    with pytest.raises(scale.WorkerError, match=r"no heartbeat .* \(its last heartbeat, from before: failed, "
                                                 r"ResourceExhaustedError: OOM\)"):  # a failure older than this attempt
        _run(small_model, (x[:32], y[:32]), tmp_path / "failed", worker=WorkerInfo(0, 2), worker_timeout=1.0)


def test_two_workers_in_turn_give_the_single_worker_files(small_model, small_digits, tmp_path):
    """Worker 1 then worker 0 (the chief) on one directory: the same bytes as one worker alone."""
    from tests.scale.conftest import same_files

    x, y = small_digits
    one = _run(small_model, (x[:40], y[:40]), tmp_path / "one", target_class="all")
    part = _run(small_model, (x[:40], y[:40]), tmp_path / "two", target_class="all", worker=WorkerInfo(1, 2))
    assert not part.complete and part.computed == 1 and not (tmp_path / "two" / "manifest.json").exists()
    done = _run(small_model, (x[:40], y[:40]), tmp_path / "two", target_class="all", worker=WorkerInfo(0, 2))
    assert done.complete and done.computed == 2 and done.rows == one.rows
    assert same_files(tmp_path / "one", tmp_path / "two") == []
