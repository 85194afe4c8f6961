"""Every bad input in ``bad_inputs.py`` gets one clear line (issue 14).

CLI: each row runs through ``cli.main(argv)`` in-process; exit status 2 (130 for Ctrl-C), at most 3 lines on
stderr, no traceback, nothing left behind. API: each row raises the package's error naming the argument,
before the model is called (a counting layer proves it). Three subprocess checks: a real SIGINT, and that
``--help`` / ``--version`` do not import TensorFlow.
"""
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli.bad_inputs import API, CLI
from tfx_explain.errors import TfxExplainError

ROOT = Path(__file__).resolve().parents[2]


def _tiny_model(counted=False):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    h = _Counter(name="counter")(inp) if counted else inp
    h = keras.layers.Conv2D(2, 3, strides=2, activation="relu")(h)
    h = keras.layers.Dense(10)(keras.layers.Flatten()(h))
    return keras.Model(inp, keras.layers.Softmax()(h))


def _counter_class():
    import keras
    import tensorflow as tf

    class Counter(keras.layers.Layer):
        """Identity that counts the images passing through it."""

        def build(self, shape):
            self.n = self.add_weight(shape=(), initializer="zeros", trainable=False, name="n")

        def call(self, x):
            self.n.assign_add(tf.cast(tf.shape(x)[0], tf.float32))
            return x

    return Counter


_Counter = None


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{M}: a tiny saved classifier; {D}: broken model files; {RO}: a directory nobody here can write."""
    import keras

    base = tmp_path_factory.mktemp("bad_inputs")
    model_path = base / "model.keras"
    _tiny_model().save(model_path)
    d = base / "d"
    d.mkdir()
    raw = model_path.read_bytes()
    (d / "truncated.keras").write_bytes(raw[: len(raw) // 2])
    corrupt = bytearray(raw)
    middle = len(raw) // 2
    corrupt[middle : middle + 4096] = bytes((b + 1) % 256 for b in corrupt[middle : middle + 4096])
    (d / "corrupt.keras").write_bytes(bytes(corrupt))
    (d / "text.keras").write_text("not a model\n")
    inp = keras.Input((28, 28, 1))
    h = keras.layers.Lambda(lambda t: t * 1.0)(inp)
    keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(h))).save(d / "lambda.keras")
    if os.geteuid() == 0:  # mode bits do not stop root; /proc refuses new files to everyone
        ro = Path("/proc/tfx_explain_ro")
    else:
        ro = base / "ro"
        ro.mkdir()
        ro.chmod(0o500)
    return {"M": str(model_path), "D": str(d), "RO": str(ro)}


def _tree(*roots):
    return sorted(str(p) for r in roots if Path(r).exists() for p in Path(r).rglob("*"))


@pytest.mark.parametrize("row", CLI, ids=[" ".join(r[1].split()[:1] + r[1].split()[-4:]) for r in CLI])
def test_cli_bad_input(row, files, tmp_path, monkeypatch, capsys):
    from tfx_explain import cli
    from tfx_explain.cli import _args

    kind, line, expected = row[:3]
    argv = shlex.split(line.format(**files))
    while argv and "=" in argv[0] and not argv[0].startswith("-"):  # VAR=value prefixes set the environment
        name, _, value = argv.pop(0).partition("=")
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    if kind == "interrupt":
        real = _args.preflight

        def interrupted(args):
            real(args)
            raise KeyboardInterrupt

        monkeypatch.setattr(_args, "preflight", interrupted)
    before = _tree(files["D"], tmp_path)
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == expected, err
    assert 1 <= len(lines) <= 3, err
    assert "Traceback" not in err
    assert _tree(files["D"], tmp_path) == before, "files left behind"
    if kind == "interrupt":
        assert row[3] in lines[-1]
    elif "--classifier" in argv:
        assert lines[0] == "tfx-explain: --classifier is deprecated; use --model" and "--model:" in lines[-1]
    else:
        assert "error:" in lines[-1]


def _api_call(name, kwargs, model, tmp_path):
    import tfx_explain as tx
    from tfx_explain import ganmex, scale

    kwargs = dict(kwargs)
    x, _ = tx.data.load("digits", "test")
    images = {"empty": np.zeros((0, 28, 28, 1), np.float32), "nan": np.full((2, 28, 28, 1), np.nan, np.float32),
              "small": np.zeros((2, 14, 14, 1), np.float32), "rank2": np.zeros((28, 28), np.float32),
              "channels_first": np.zeros((2, 1, 28, 28), np.float32), "infinite": None}
    if name == "explain_keras":
        xs = images[kwargs.pop("x")] if "x" in kwargs else x[:2]
        if xs is None:  # an endless tf.data.Dataset
            import tensorflow as tf

            xs = tf.data.Dataset.from_tensor_slices(x[:2]).repeat()
        kwargs.setdefault("steps", 4) if kwargs.get("method", "integrated_gradients") == "integrated_gradients" else None
        return tx.explain_keras(model, xs, progress=False, **kwargs)
    if name == "ganmex.train":
        data = kwargs.pop("data", "digits")
        data = (images["small"], np.array([0, 1])) if data == "small" else data
        return ganmex.train(model, data, steps=kwargs.pop("steps", 1), preset="cpu", out_dir=tmp_path / "g",
                            verbose=0, **kwargs)
    if name == "Explanation.load":
        path = Path(tempfile.mkdtemp()) / "file.npz"
        if kwargs["file"] == "other npz":
            np.savez(path, a=np.zeros(3))
        else:
            path.write_bytes(b"garbage" * 10)
        return tx.Explanation.load(path)
    if name == "train_classifier":
        from tfx_explain.models import train_classifier

        blocker = Path(tempfile.mkdtemp()) / "a_file"
        blocker.write_text("")
        return train_classifier(model, "digits", epochs=1, out_dir=blocker / "clf", verbose=0)
    out = tmp_path / "run"
    if kwargs.pop("out_dir", None) == "not_a_run":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    return scale.explain_dataset(model, "digits", out, progress=False, steps=2, **kwargs)


@pytest.mark.parametrize("row", API, ids=[f"{r[1]}-{r[2]}" for r in API])
def test_api_bad_input(row, tmp_path):
    global _Counter
    if _Counter is None:
        _Counter = _counter_class()
    _, name, kwargs, argument = row
    model = _tiny_model(counted=True)
    before = _tree(tmp_path)
    with pytest.raises(TfxExplainError) as caught:
        _api_call(name, kwargs, model, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{argument}:") or f" {argument}" in message.split(":")[0], message
    assert "\n" not in message
    assert float(model.get_layer("counter").n.numpy()) == 0.0, "the model was called before the error"
    assert _tree(tmp_path) == before or name == "explain_dataset", "files written"


def test_keras_backend_other_than_tensorflow_is_refused_on_first_use(monkeypatch):
    import tfx_explain

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(TfxExplainError, match="^KERAS_BACKEND: .*'jax'"):
        tfx_explain.__getattr__("explain_keras")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert callable(tfx_explain.__getattr__("explain_keras"))


def test_load_run_refuses_bit_rot_and_a_truncated_manifest(tmp_path):
    """scale.load_run checks each shard's SHA-256 as it reads it; a damaged manifest is one clear error."""
    import tfx_explain as tx
    from tfx_explain import scale

    x, y = tx.data.load("digits", "test")
    run = tmp_path / "run"
    scale.explain_dataset(_tiny_model(), (x[:8], y[:8]), run, shard_size=4, progress=False, steps=2)
    good = scale.load_run(run)
    assert good["attributions"].shape == (8, 28, 28, 1)
    shard = run / "shards" / "attributions-00001.npy"
    raw = bytearray(shard.read_bytes())
    raw[-64:-48] = b"\x7f" * 16  # same size, other values
    shard.write_bytes(bytes(raw))
    with pytest.raises(TfxExplainError, match="^out_dir: .*attributions-00001.npy does not match its SHA-256"):
        scale.load_run(run)
    assert list(scale.verify_run(run)) == [1]
    manifest = run / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    with pytest.raises(TfxExplainError, match="^out_dir: .*manifest.json is unreadable"):
        scale.load_run(run)


def test_explanation_repr_is_short():
    import tfx_explain as tx

    x, _ = tx.data.load("digits", "test")
    e = tx.explain_keras(_tiny_model(), x[:8], steps=4, progress=False)
    text = repr(e)
    assert len(text) < 400 and "\n" not in text and str(e) == text
    assert "integrated_gradients" in text and "n=8" in text and "delta" in text


def _python(code, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False, **kw)


def test_baselines_skip_images_whose_class_is_the_target(files, tmp_path, capsys):
    """c_t = c_o has no baseline (explain_keras refuses it): those images are skipped and counted, not saved."""
    import tfx_explain as tx
    from tfx_explain import cli
    from tfx_explain.models import load_model

    x, _ = tx.data.load("digits", "test")
    predicted = load_model(files["M"]).predict(x[:20], verbose=0).argmax(1)
    target = int(np.bincount(predicted).argmax())
    assert cli.main(["baselines", "--model", files["M"], "--kind", "zero", "--target-class", str(target),
                     "--limit", "20", "--out", str(tmp_path)]) == 0
    saved = np.load(tmp_path / "baselines.npz")
    assert (saved["original_class"] != target).all() and (saved["target_class"] == target).all()
    assert sorted(saved["source_index"]) == np.flatnonzero(predicted != target).tolist()
    skipped = int((predicted == target).sum())
    assert f"{skipped} image(s) predicted as class {target} were skipped" in capsys.readouterr().err


def test_every_command_and_option_is_described():
    import argparse

    from tfx_explain.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, child in sub.choices.items():
        assert child.description, name
        assert [a.option_strings for a in child._actions if a.option_strings and a.help is None] == [], name


def test_help_and_version_do_not_import_tensorflow():
    code = ("import sys, time; t = time.time(); from tfx_explain.cli import main\n"
            "for argv in (['--help'], ['--version'], ['explain', '--help']):\n"
            "    try: main(argv)\n"
            "    except SystemExit as e: assert e.code == 0\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules, time.time() - t)\n"
            "import tfx_explain")  # importing the package prints nothing (no TensorFlow start-up lines)
    proc = _python(code)
    assert proc.stderr == ""
    tf_loaded, keras_loaded, seconds = proc.stdout.split()[-3:]
    assert (tf_loaded, keras_loaded) == ("False", "False")
    assert float(seconds) < 1.0
    assert "tfx-explain 0.1.0" in proc.stdout


def test_ctrl_c_real_signal(files, tmp_path):
    """A real SIGINT while explain computes: exit 130, one line saying re-running resumes, no traceback."""
    run = tmp_path / "run"
    # SIGINT may arrive ignored (a background job of a non-interactive shell): give it Python's handler back
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            "from tfx_explain.cli import main; sys.exit(main(sys.argv[1:]))")
    argv = ["explain", "--model", files["M"], "--dataset", "digits", "--shard-size", "8", "--set", "steps=400",
            "--progress", "none", "--out", str(run)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    deadline = time.time() + 60
    while not (run / "config.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    lines = [ln for ln in err.splitlines() if "tfx-explain" in ln or "Traceback" in ln]
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert len(lines) == 1 and "resumes" in lines[0], err[-2000:]


@pytest.mark.parametrize("dataset", ["colored_digits", "composite_digits", "cifar10"])
def test_train_ganmex_refuses_a_channel_mismatch_before_loading_the_dataset(dataset, files, tmp_path, monkeypatch,
                                                                           capsys):
    """3-channel data for a 1-channel classifier (cifar10: from TFDS metadata, nothing prepared): one line naming
    --dataset, and the dataset is never loaded."""
    from tfx_explain import cli, data

    def no_load(*args, **kwargs):
        raise AssertionError("the dataset was loaded before the channel check")

    monkeypatch.setattr(data, "load", no_load)
    monkeypatch.setattr(data, "resolve", no_load)
    out = tmp_path / "g"
    status = cli.main(["train-ganmex", "--model", files["M"], "--preset", "cpu", "--steps", "1",
                       "--dataset", dataset, "--out", str(out)])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and not out.exists()
    assert "--dataset: the classifier takes 1-channel images" in last and f"{dataset!r} has 3 channels" in last


@pytest.mark.parametrize("line, flag", [
    ("baselines --model {M} --kind mdtz --target-class 3 --limit 4 --out {D}/b", "--kind:"),
    ("train-explaingan --model {M} --dataset digits --classes 3 3 --steps 1 --out {D}/e", "--classes:"),
    ("train-explaingan --model {M} --dataset digits --classes 3 12 --steps 1 --out {D}/e", "--classes:"),
])
def test_cli_error_names_the_flag_the_user_typed(line, flag, files, capsys):
    # The library's names ("baseline", "classes") are not flags of these commands.
    from tfx_explain import cli

    try:
        status = cli.main(shlex.split(line.format(**files)))
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and f"error: {flag}" in err[-1], err


def test_an_unknown_flag_is_named_by_its_subcommand_whose_help_lists_the_flags(capsys):
    from tfx_explain import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "--model", "m.keras", "--dataset", "digits", "--limit", "4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, err
    assert err[0] == ("tfx-explain evaluate: error: unrecognized arguments: --limit 4 "
                      "(see tfx-explain evaluate --help)")


@pytest.mark.parametrize("seconds, said", [(3.0, "3 s"), (89.0, "89 s"), (600.0, "10 min"), (30000.0, "8.3 h")])
def test_the_gpu_preset_notice_says_its_cpu_time_in_a_unit_that_reads(seconds, said):
    from tfx_explain.cli.ganmex import _duration

    assert _duration(seconds) == said
