"""Counterfactual trainers fed a tf.data.Dataset stream it: the frozen classifier labels the images inside the
stream (checked against its numpy verdict), and a killed run resumes to the weights of an uninterrupted one."""
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import expit

from tfx_explain import counterfactual as cf
from tfx_explain.generative import exaggeration as pe


@pytest.fixture(scope="module")
def small(digits):
    (x, y), _ = digits
    keep = (y == 3) | (y == 8)
    return x[keep][:120], y[keep][:120]


def _weights(explainer):
    return explainer.model.get_weights() + explainer.discriminator.get_weights()


def _resumes_exactly(train, tmp_path):
    train(1, tmp_path / "cut")
    resumed = train(2, tmp_path / "cut")
    straight = train(2, None)
    for a, b in zip(_weights(resumed), _weights(straight)):
        np.testing.assert_array_equal(a, b)
    return straight


def test_streamed_explaingan_batches_alternate_predicted_classes_and_resume(digits_model, small, tmp_path):
    x, y = small
    data = lambda: tf.data.Dataset.from_tensor_slices((x, y))  # noqa: E731
    seen = []
    original = cf._train

    def spy(build, make_dataset, *args):
        seen.append(next(iter(make_dataset(0)))) if make_dataset.mode != "iterator" else None
        return original(build, make_dataset, *args)

    cf._train = spy
    try:
        train = lambda steps, out: cf.train_explaingan(  # noqa: E731
            digits_model, data(), (3, 8), steps=steps, preset="tiny", out_dir=out, verbose=0, batch_size=8,
            checkpoint_every=1)
        _resumes_exactly(train, tmp_path)
    finally:
        cf._train = original
    batch = seen[0]
    logit = cf._ClassifierLogits(digits_model, x[:1]).pair(3, 8)(batch["x"]).numpy()
    np.testing.assert_array_equal(logit > 0, batch["y"].numpy() == 1)  # sample i is of predicted class i % 2
    np.testing.assert_array_equal(batch["y"].numpy(), np.tile([0.0, 1.0], 4))


def test_streamed_exaggeration_bins_match_the_classifier_and_resume(digits_model, small, tmp_path):
    x, _ = small
    data = lambda: tf.data.Dataset.from_tensor_slices(x).batch(50)  # noqa: E731  (images alone, batched)
    train = lambda steps, out: cf.train_exaggeration(  # noqa: E731
        digits_model, data(), target_class=8, bins=4, steps=steps, preset="tiny", out_dir=out, verbose=0,
        batch_size=8, checkpoint_every=1)
    explainer = _resumes_exactly(train, tmp_path)
    f = expit(cf._ClassifierLogits(digits_model, x[:1]).one_vs_rest(8)(x).numpy().astype(np.float64))
    np.testing.assert_array_equal(explainer.metadata["source_bin_counts"], np.bincount(pe.bin_index(f, 4), minlength=4))
