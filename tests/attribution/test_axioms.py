"""Axioms on a real ReLU CNN (mnist_cnn trained on digits)."""
import numpy as np
import pytest

import tfx_explain as tx


@pytest.mark.parametrize("score", ["probability", "logit"])
@pytest.mark.parametrize("baseline", ["zero", "mdts"])
def test_integrated_gradients_completeness_within_one_percent(digits, digits_model, score, baseline):
    """sum_i IG_i = S(x) - S(b) within 1% at 200 steps (right Riemann sum, the reference's rule).

    The error comes from the ReLU kinks along the path, so it is judged over 32 inputs: the 95th
    percentile of |residual| / |S(x) - S(b)| is below 1% and the median below 0.5%."""
    (xt, yt), (x, _) = digits
    x = x[:32]
    co = digits_model.predict(x, verbose=0).argmax(1)
    e = tx.explain_keras(digits_model, x, method="integrated_gradients", baseline=baseline, data=(xt, yt),
                         original_class=co, target_class=(co + 3) % 10, score=score, steps=200)
    delta = e.input_scores - e.baseline_scores
    relative = np.abs(e.convergence_delta) / np.abs(delta)
    assert np.all(np.abs(delta) > 0.05)
    assert np.percentile(relative, 95) < 0.01 and np.median(relative) < 0.005


@pytest.mark.parametrize("score", ["probability", "logit"])
@pytest.mark.parametrize("one_vs_one", [False, True])
def test_deeplift_sums_to_delta_exactly(digits, digits_model, digit_batch, score, one_vs_one):
    (xt, yt), _ = digits
    x, co, ct = digit_batch
    e = tx.explain_keras(digits_model, x, method="deeplift", baseline="random_target", data=(xt, yt),
                         original_class=co, target_class=ct if one_vs_one else None, score=score)
    np.testing.assert_allclose(e.convergence_delta, 0.0, atol=2e-5)


def test_deeplift_gradient_softmax_rule_does_not_sum_to_delta(digits_model, digit_batch):
    """The reference's behaviour (softmax differentiated at the input) is available and differs."""
    x, co, ct = digit_batch
    e = tx.explain_keras(digits_model, x, method="deeplift", original_class=co, target_class=ct,
                         softmax_rule="gradient")
    assert e.options["softmax_rule"] == "gradient"
    assert np.abs(e.convergence_delta).max() > 1e-3


@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift", "occlusion", "deepshap"])
def test_baseline_equal_to_input_gives_zero(digits_model, digit_batch, method):
    x, co, ct = digit_batch
    options = {"engine": "native"} if method == "deepshap" else {}
    e = tx.explain_keras(digits_model, x, method=method, baseline=x, original_class=co, target_class=ct, **options)
    np.testing.assert_allclose(e.attributions, 0.0, atol=1e-7)


LINEAR_METHODS = [(m, o, s) for m, o in [("gradient_input", {}), ("integrated_gradients", {"steps": 20}),
                                          ("deeplift", {}), ("occlusion", {}), ("expected_gradients", {"steps": 8})]
                  for s in ("probability", "logit")
                  if not (m == "deeplift" and s == "probability")]  # its exact softmax rule depends on w


@pytest.mark.parametrize("method, options, score", LINEAR_METHODS)
def test_one_vs_one_map_is_difference_of_class_maps(digits, digits_model, digit_batch, method, options, score):
    """For methods linear in the output, A(S_co - S_ct) = A(S_co) - A(S_ct) with the same baseline.

    DeepLIFT is linear in the output on logits only: its exact softmax rule depends on the explained scalar."""
    (xt, yt), _ = digits
    x, co, ct = digit_batch
    base = {"baseline": "train", "data": (xt, yt)} if method == "expected_gradients" else {"baseline": "zero"}
    if method == "expected_gradients":  # same references for all three maps: draw from the whole set
        refs = tx.baselines.train_distribution(co, None, xt, yt)
        from tfx_explain.targets import ScoreFunction, class_weights

        fn = ScoreFunction(digits_model, score, probe=x[:1])
        run = lambda w: tx.attribution.expected_gradients(fn, x, w, refs, seed=1, **options).attributions
        both = run(class_weights(co, ct, 10))
        np.testing.assert_allclose(both, run(class_weights(co, None, 10)) - run(class_weights(ct, None, 10)),
                                   atol=1e-6)
        return
    both = tx.explain_keras(digits_model, x, method=method, original_class=co, target_class=ct, score=score,
                            **base, **options)
    a = tx.explain_keras(digits_model, x, method=method, original_class=co, score=score, **base, **options)
    b = tx.explain_keras(digits_model, x, method=method, original_class=ct, score=score, **base, **options)
    np.testing.assert_allclose(both.attributions, a.attributions - b.attributions, atol=1e-6)


def test_expected_gradients_reference_mode_equals_brute_force_of_the_harness_definition():
    """One-vs-one EG as the reference harness computed it (ganmex.md §3.2-3.4), brute force on a small ReLU CNN
    with a softmax: (1/m) sum_k (x - b_k) dp_co(b_k + a_k (x - b_k))/dx, b_k from class c_t without
    replacement, one a_k ~ U(0, 1) per step shared by the batch."""
    import keras
    import tensorflow as tf

    from tfx_explain import rng as rng_mod

    keras.utils.set_random_seed(11)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.Dense(3)(keras.layers.Flatten()(h))
    model = keras.Model(inputs, keras.layers.Activation("softmax")(h))
    gen = np.random.default_rng(12)
    x = gen.random((3, 6, 6, 1)).astype(np.float32)
    pool, labels = gen.random((30, 6, 6, 1)).astype(np.float32), np.repeat(np.arange(3), 10)
    co, ct, m = np.array([0, 1, 2]), np.array([2, 0, 1]), 6
    e = tx.explain_keras(model, x, method="expected_gradients", baseline="train", data=(pool, labels),
                         original_class=co, target_class=ct, steps=m, seed=3, one_vs_one="reference")
    index = e.extras["reference_index"]
    assert np.all(labels[index] == ct[:, None]) and all(len(set(r)) == m for r in index)
    alphas = rng_mod.generator(3, "eg_alpha").random(m)  # the shared a_k of the harness
    expected = np.zeros_like(x)
    for i in range(3):
        for k in range(m):
            b = pool[index[i, k]]
            point = tf.constant((b + alphas[k] * (x[i] - b))[None])
            with tf.GradientTape() as tape:
                tape.watch(point)
                p_co = model(point)[0, co[i]]
            expected[i] += (x[i] - b) * tape.gradient(p_co, point).numpy()[0] / m
    np.testing.assert_allclose(e.attributions, expected, rtol=1e-4, atol=1e-7)
    delta = tx.explain_keras(model, x, method="expected_gradients", baseline="train", data=(pool, labels),
                             original_class=co, target_class=ct, steps=m, seed=3)
    assert np.abs(delta.attributions - e.attributions).max() > 1e-3  # ours (S_co - S_ct) is another map
