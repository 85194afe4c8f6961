"""Logs without a terminal (issue 14): no carriage returns, backspaces or ANSI escapes, one line per interval;
in a notebook the bars stay on."""
import sys
import types

from tfx_explain import _console


def _clean(text):
    return not any(c in text for c in ("\x1b", "\b", "\r"))


def test_training_logs_are_plain_lines_when_redirected(capfd):
    import tfx_explain as tx
    from tfx_explain import ganmex
    from tfx_explain.models import train_classifier

    (x, y) = tx.data.load("digits", "train")
    x, y = x[:96], y[:96]
    model = train_classifier("mnist_cnn", (x, y), epochs=2, batch_size=32, test_data=None).model
    out = capfd.readouterr()
    assert _clean(out.out + out.err)
    assert sum(line.startswith("3/3") for line in out.out.splitlines()) == 2  # one line per epoch
    ganmex.train(model, (x, y), steps=3, preset="cpu", width=4, res_blocks=1, d_width=4, checkpoint_every=0,
                 sample_every=0, log_every=2, batch_per_class=1)
    out = capfd.readouterr()
    assert _clean(out.out + out.err)
    steps = [line.split()[2] for line in out.err.splitlines() if line.startswith("training: step")]
    assert steps == ["2/3", "3/3"]


def test_notebook_counts_as_interactive(monkeypatch):
    assert not _console.interactive()  # pytest captures stderr: not a terminal
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert _console.in_notebook() and _console.interactive()
    assert _console.keras_verbose("auto") == 1 and _console.keras_verbose(0) == 0
    from tfx_explain.batching import progress_bar

    bar = progress_bar(3, "x", "auto")
    assert type(bar).__name__ != "_Silent"
    bar.close()


def test_trapezoid_works_without_numpy_2():
    """NumPy 1.26 (allowed by requirements.txt) has only np.trapz: the metrics' areas must not need np.trapezoid."""
    import types

    from tfx_explain.metrics import _common

    assert _common.trapezoid([0.0, 1.0, 1.0], [0.0, 0.5, 1.0]) == 0.75  # (0 + 1)/2 * 0.5 + 1 * 0.5
    old_numpy = types.SimpleNamespace(trapz=lambda *a, **k: "trapz")
    assert _common._pick_trapezoid(old_numpy)() == "trapz"


def test_tfds_names_report_a_missing_builder_module_and_never_download(monkeypatch):
    """tensorflow-datasets' builders import importlib_resources, which it does not require: the error names the
    module to install (not the network); with download=False nothing is downloaded."""
    import pytest
    import tensorflow_datasets as tfds

    from tfx_explain import data
    from tfx_explain.errors import DataNotFoundError

    calls = []

    def fake_load(name, **kwargs):
        calls.append(kwargs["download"])
        raise ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")

    monkeypatch.setattr(tfds, "load", fake_load)
    with pytest.raises(DataNotFoundError, match="^dataset: .*'importlib_resources' is missing; install it"):
        data.load("mnist", "test")
    assert calls == [False]

    def not_prepared(name, **kwargs):
        calls.append(kwargs["download"])
        raise AssertionError("Dataset mnist: could not find data in /nowhere")

    monkeypatch.setattr(tfds, "load", not_prepared)
    with pytest.raises(DataNotFoundError, match="not prepared in .*--data-dir"):
        data.load_dataset("mnist", "test")
    assert calls == [False, False]
