"""The user's door: train (CLI and Python), save and load, explain_keras, the classifier fingerprint check."""
import json

import numpy as np
import pytest

from tfx_explain import counterfactual as cf
from tfx_explain import explain_keras
from tfx_explain.errors import InputError, MismatchError


@pytest.fixture(scope="module")
def pair_test(digits):
    _, (x, y) = digits
    keep = (y == 3) | (y == 8)
    return x[keep][:10], y[keep][:10]


@pytest.fixture(scope="module")
def explaingan_run(digits_model, tmp_path_factory, logical_cpus):
    """ExplainGAN trained through the CLI, on two logical CPUs (MirroredStrategy), 2 steps."""
    from tfx_explain.cli import main
    from tfx_explain.models import save_model

    out = tmp_path_factory.mktemp("explaingan")
    save_model(digits_model, out / "classifier.keras")
    code = main(["train-explaingan", "--model", str(out / "classifier.keras"), "--dataset", "digits",
                 "--classes", "3", "8", "--steps", "2", "--preset", "tiny", "--strategy", "cpu:2",
                 "--set", "kappa=0.2", "--out", str(out / "run")])
    assert code == 0
    return out / "run"


@pytest.fixture(scope="module")
def exaggeration(digits_model, digits, tmp_path_factory):
    (x, y), _ = digits
    out = tmp_path_factory.mktemp("exaggeration")
    explainer = cf.train_exaggeration(digits_model, (x, y), target_class=8, bins=4, steps=2, preset="tiny",
                                      out_dir=out, verbose=0, batch_size=8)
    return explainer, out


def test_cli_run_directory_and_load(explaingan_run, digits_model):
    record = json.loads((explaingan_run / "run.json").read_text())
    assert record["command"] == "train-explaingan" and record["arguments"]["classes"] == [3, 8]
    assert (explaingan_run / "checkpoints").is_dir() and (explaingan_run / "logs").is_dir()
    explainer = cf.load(explaingan_run)  # a run directory or its explainer/ sub-directory
    assert isinstance(explainer, cf.ExplainGAN) and explainer.classes == (3, 8)
    assert explainer.config.kappa == 0.2 and explainer.metadata["steps"] == 2
    explainer.check(digits_model)  # the same classifier passes


def test_explaingan_through_explain_keras(explaingan_run, digits_model, pair_test):
    x, _ = pair_test
    explainer = cf.load(explaingan_run / "explainer")
    e = explain_keras(digits_model, x, method="explaingan", explainer=explainer)
    for key in ("transformed", "composite", "mask", "reconstruction"):
        assert e.extras[key].shape[:3] == x.shape[:3]
    np.testing.assert_allclose(e.attributions[..., 0], e.extras["mask"][..., 0])
    m, t = e.extras["mask"], e.extras["transformed"]
    np.testing.assert_allclose(e.extras["composite"], x * (1 - m) + t * m, atol=1e-5)  # Eq. 5
    probs = digits_model.predict(x, verbose=0)
    side = (probs[:, 8] > probs[:, 3]).astype(int)
    np.testing.assert_array_equal(e.extras["predicted"], side)
    np.testing.assert_array_equal(e.extras["counterfactual_class"], np.where(side == 0, 8, 3))
    again = explain_keras(digits_model, x, method="explaingan", explainer=str(explaingan_run / "explainer"))
    np.testing.assert_allclose(again.attributions, e.attributions)
    # the Explanation records the classes the explainer explains: each image's side of (3, 8) against the other
    np.testing.assert_array_equal(e.original_class, np.where(side == 0, 3, 8))
    np.testing.assert_array_equal(e.target_class, np.where(side == 0, 8, 3))


def test_explaingan_explains_the_side_asked_for_and_refuses_classes_outside_its_pair(explaingan_run, digits_model,
                                                                                     pair_test):
    x, _ = pair_test
    explainer = cf.load(explaingan_run / "explainer")
    as_3 = explain_keras(digits_model, x, method="explaingan", explainer=explainer, original_class=3)
    np.testing.assert_array_equal(as_3.extras["predicted"], 0)
    np.testing.assert_array_equal(as_3.target_class, 8)
    direct = explainer.explain(x, np.zeros(len(x), np.int64), classifier=digits_model)
    np.testing.assert_allclose(as_3.extras["transformed"], direct["transformed"], atol=1e-6)
    with pytest.raises(InputError, match="original_class: this ExplainGAN explains the decision between classes "
                                         "3 and 8, got 2 at index 0"):
        explain_keras(digits_model, x, method="explaingan", explainer=explainer, original_class=2)
    with pytest.raises(InputError, match="target_class: this ExplainGAN turns class 3 into the pair's other class "
                                         "8, got 1 at index 0"):
        explain_keras(digits_model, x, method="explaingan", explainer=explainer, original_class=3, target_class=1)


def test_exaggeration_through_explain_keras(exaggeration, digits_model, pair_test):
    explainer, _ = exaggeration
    x, _ = pair_test
    e = explain_keras(digits_model, x, method="exaggeration", explainer=explainer)
    series = e.extras["series"]
    assert series.shape == (len(x), 4) + x.shape[1:] and e.extras["series_scores"].shape == (len(x), 4)
    np.testing.assert_allclose(e.attributions, np.abs(series[:, -1] - series[:, 0]), atol=1e-6)  # §4.3
    np.testing.assert_allclose(e.extras["requested"], [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(e.extras["series_scores"][:, 2],
                               digits_model.predict(series[:, 2], verbose=0)[:, 8], atol=1e-5)
    np.testing.assert_allclose(explainer.generate(x, 2), series[:, 2], atol=1e-5)
    np.testing.assert_array_equal(e.original_class, 8)  # the class it was trained for, one-vs-all
    assert e.target_class is None
    with pytest.raises(InputError, match="original_class: this explainer was trained for class 8, got 3"):
        explain_keras(digits_model, x, method="exaggeration", explainer=explainer, original_class=3)
    with pytest.raises(InputError, match="target_class: Progressive Exaggeration explains class 8's probability"):
        explain_keras(digits_model, x, method="exaggeration", explainer=explainer, target_class=3)


def test_save_load_round_trip(exaggeration, pair_test, tmp_path):
    explainer, out = exaggeration
    x, _ = pair_test
    loaded = cf.load(out / "explainer")
    assert isinstance(loaded, cf.Exaggeration) and loaded.target_class == 8 and loaded.bins == 4
    np.testing.assert_allclose(loaded.series(x), explainer.series(x), atol=1e-6)
    np.testing.assert_allclose(loaded.embed(x, 1), explainer.embed(x, 1), atol=1e-6)
    assert (out / "checkpoints").is_dir()
    path = explainer.save(tmp_path / "copy")
    assert json.loads((path / "metadata.json").read_text())["kind"] == "exaggeration"


def test_saved_explainers_load_in_a_fresh_process(exaggeration, explaingan_run, pair_test, tmp_path):
    """A new Python process has not imported the modules that register our layers; load must do it."""
    import subprocess
    import sys

    x, _ = pair_test
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np\n"
        "from tfx_explain import counterfactual as cf\n"
        "x = np.load(sys.argv[1])\n"
        "np.save(sys.argv[2], cf.load(sys.argv[3]).series(x))\n"
        "np.save(sys.argv[4], cf.load(sys.argv[5]).explain(x, np.zeros(len(x), np.int64))['composite'])\n")
    explainer, out = exaggeration
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path / "x.npy"), str(tmp_path / "series.npy"),
                          str(out / "explainer"), str(tmp_path / "composite.npy"), str(explaingan_run)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "series.npy"), explainer.series(x), atol=1e-5)
    gan = cf.load(explaingan_run)
    expected = gan.explain(x, np.zeros(len(x), np.int64))["composite"]
    np.testing.assert_allclose(np.load(tmp_path / "composite.npy"), expected, atol=1e-5)


def test_another_classifier_is_refused_unless_allowed(exaggeration, explaingan_run, pair_test):
    from tfx_explain.models import build

    other = build("mnist_cnn", (28, 28, 1), 10)
    x, _ = pair_test
    for method, explainer in (("exaggeration", exaggeration[0]), ("explaingan", explaingan_run)):
        with pytest.raises(MismatchError, match="fingerprint"):
            explain_keras(other, x, method=method, explainer=explainer)
        e = explain_keras(other, x, method=method, explainer=explainer, allow_mismatch=True)
        assert e.attributions.shape == x.shape


def test_bad_inputs_fail_before_training(digits_model, digits):
    (x, y), _ = digits
    with pytest.raises(InputError, match="classes"):
        cf.train_explaingan(digits_model, (x, y), (3, 3), steps=1)
    with pytest.raises(InputError, match="classes"):
        cf.train_explaingan(digits_model, (x, y), (3, 10), steps=1)
    with pytest.raises(InputError, match="steps"):
        cf.train_explaingan(digits_model, (x, y), (3, 8), steps=0)
    with pytest.raises(InputError, match="target_class"):
        cf.train_exaggeration(digits_model, (x, y), target_class=12, steps=1)
    with pytest.raises(InputError, match="bins"):
        cf.train_exaggeration(digits_model, (x, y), target_class=1, bins=1, steps=1)
    with pytest.raises(InputError, match="data"):
        cf.train_exaggeration(digits_model, np.zeros((4, 32, 32, 1), np.float32), target_class=1, steps=1)
    with pytest.raises(InputError, match="no image is labelled"):
        cf.train_explaingan(digits_model, (x[y == 1], y[y == 1]), (3, 8), steps=1)
    with pytest.raises(InputError, match="unknown ExplainGAN settings"):
        cf.train_explaingan(digits_model, (x, y), (3, 8), steps=1, kapa=0.1)
    with pytest.raises(InputError, match="explainer"):
        explain_keras(digits_model, x[:2], method="explaingan")
    with pytest.raises(InputError, match="explainer"):
        explain_keras(digits_model, x[:2], method="exaggeration", explainer=object())


def test_a_run_directory_resumes_only_its_own_training(tmp_path):
    meta = {"kind": "exaggeration", "config": {"bins": 4, "f_weight": 1.0}, "classifier_fingerprint": "ab",
            "seed": 0, "image_shape": [28, 28, 1], "value_range": [0.0, 1.0], "target_class": 8}
    cf._check_resumable(tmp_path, meta)
    cf._check_resumable(tmp_path, dict(meta))  # the same training resumes
    with pytest.raises(MismatchError, match="config"):
        cf._check_resumable(tmp_path, {**meta, "config": {"bins": 4, "f_weight": 5.0}})
    with pytest.raises(MismatchError, match="classifier_fingerprint"):
        cf._check_resumable(tmp_path, {**meta, "classifier_fingerprint": "cd"})


def test_training_resumes_from_its_checkpoint(exaggeration, digits_model, digits, pair_test):
    """The same call on a finished run directory restores the checkpoint and trains no further step."""
    (x, y), _ = digits
    explainer, out = exaggeration
    again = cf.train_exaggeration(digits_model, (x, y), target_class=8, bins=4, steps=2, preset="tiny", out_dir=out,
                                  verbose=0, batch_size=8)
    assert again.history == {}
    np.testing.assert_allclose(again.series(pair_test[0]), explainer.series(pair_test[0]), atol=1e-6)


@pytest.mark.parametrize("train", ["explaingan", "exaggeration"])
def test_images_outside_value_range_are_refused_before_training(train):
    # [0, 255] pixels under the default value_range (0, 1) trained silently (mapped to [-1, 509])
    import keras

    inputs = keras.Input((8, 8, 1))
    clf = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(inputs))))
    x = np.random.default_rng(0).uniform(0, 255, (6, 8, 8, 1)).astype(np.float32)
    with pytest.raises(InputError, match=r"data: values in .* leave value_range \(0, 1\)"):
        if train == "explaingan":
            cf.train_explaingan(clf, (x, np.arange(6) % 3), (0, 1), steps=1, preset="tiny")
        else:
            cf.train_exaggeration(clf, x, target_class=1, steps=1, preset="tiny")
