"""Output heads: the explained scores are the model's own outputs, for every method and target (issue: heads)."""
import numpy as np
import pytest

import tfx_explain as tx

METHODS = [("saliency", {}), ("gradient_input", {}), ("integrated_gradients", {"steps": 8}), ("deeplift", {}),
           ("deepshap", {"engine": "native"}), ("occlusion", {"window": 4})]


def _model(head, units):
    import keras

    keras.utils.set_random_seed(20)
    L = keras.layers
    inputs = keras.Input((8, 8, 1))
    h = L.Flatten()(L.Conv2D(4, 3, activation="relu", bias_initializer="random_normal")(inputs))
    activation = {"sigmoid": "sigmoid", "softmax": "softmax", "logits": None}[head]
    return keras.Model(inputs, L.Dense(units, activation=activation, bias_initializer="random_normal")(h))


def _x():
    return np.random.default_rng(21).uniform(0, 1, (3, 8, 8, 1)).astype(np.float32)


def _expected(head, units, out, score):
    """S_k of the table in ScoreFunction, computed here from the model's raw output (numpy)."""
    if units == 1:
        p = out[:, 0] if head == "sigmoid" else 1 / (1 + np.exp(-out[:, 0]))
        z = np.log(p) - np.log1p(-p) if head == "sigmoid" else out[:, 0]
        return np.stack([1 - p, p], 1) if score == "probability" else np.stack([np.zeros_like(z), z], 1)
    if score == "probability":
        if head == "logits":
            e = np.exp(out - out.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)
        return out
    if head == "sigmoid":
        return np.log(out) - np.log1p(-out)
    return None  # softmax logits are checked against the twin's maps in test_model_zoo


@pytest.mark.parametrize("head, units", [("sigmoid", 3), ("sigmoid", 1), ("logits", 1), ("softmax", 3),
                                         ("logits", 3)])
@pytest.mark.parametrize("score", ["probability", "logit"])
def test_explained_scores_are_the_models_own(head, units, score):
    import warnings

    model = _model(head, units)
    x = _x()
    out = np.asarray(model(x), np.float64)
    want = _expected(head, units, out, score)
    for target in (None, 1 if units == 1 else 2):
        co = 0
        for method, options in METHODS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the one-unit logits head warns that it takes it for a logit
                e = tx.explain_keras(model, x, method=method, baseline=np.full_like(x, 0.5), original_class=co,
                                     target_class=target, score=score, **options)
            if want is not None:
                expected = want[:, co] - (want[:, target] if target is not None else 0)
                np.testing.assert_allclose(e.input_scores, expected, rtol=1e-4, atol=1e-5, err_msg=method)
            if method in ("deeplift", "deepshap"):
                np.testing.assert_allclose(e.convergence_delta, 0.0, atol=1e-5)


def test_binary_logit_delta_is_z():
    model = _model("sigmoid", 1)
    x = _x()
    e = tx.explain_keras(model, x, method="saliency", original_class=1, target_class=0, score="logit")
    p = np.asarray(model(x))[:, 0].astype(np.float64)
    np.testing.assert_allclose(e.input_scores, np.log(p) - np.log1p(-p), rtol=1e-3)


def test_heads_are_found_and_ambiguous_outputs_warned():
    from tfx_explain.targets import ScoreFunction

    x = _x()
    assert ScoreFunction(_model("sigmoid", 3), probe=x[:1]).head == "sigmoid"
    assert ScoreFunction(_model("softmax", 3), probe=x[:1]).head == "softmax"
    fn = ScoreFunction(_model("sigmoid", 1), probe=x[:1])
    assert (fn.head, fn.num_classes) == ("sigmoid", 2)
    with pytest.warns(UserWarning, match="single output unit"):
        ScoreFunction(_model("logits", 1), probe=x[:1])
    assert ScoreFunction(_model("logits", 1), probe=x[:1], head="logits").head == "logits"  # declared: no guess


def test_a_declared_hidden_sigmoid_gives_its_logits_with_a_warning():
    """A sigmoid the graph does not show (written as 1 / (1 + exp(-z))) is declared; logits come back as
    log p - log(1 - p), with a warning saying where that loses precision."""
    import keras

    keras.utils.set_random_seed(22)
    inputs = keras.Input((8, 8, 1))
    z = keras.layers.Dense(3, bias_initializer="random_normal")(keras.layers.Flatten()(inputs))
    twin = keras.Model(inputs, z)
    hidden = keras.Model(inputs, 1.0 / (1.0 + keras.ops.exp(-z)))
    x = _x()
    with pytest.warns(UserWarning, match="sigmoid of this model cannot be seen"):
        e = tx.explain_keras(hidden, x, method="saliency", original_class=0, score="logit", head="sigmoid")
    np.testing.assert_allclose(e.input_scores, np.asarray(twin(x))[:, 0], rtol=1e-4, atol=1e-5)


def test_a_log_softmax_head_is_said_and_its_exact_scores_are_the_softmax_twins():
    """log p = z - logsumexp(z): probabilities and one-vs-one logit deltas equal the softmax twin's; the warning
    says that a one-vs-all logit is log p_k, not z_k."""
    import warnings

    import keras

    twin = _model("softmax", 3)
    dense = twin.layers[-1]
    z = keras.layers.Dense(3, name="z")
    log_head = keras.Model(twin.inputs, keras.layers.Activation("log_softmax")(z(dense.input)))
    z.set_weights(dense.get_weights())
    x = _x()
    kw = dict(method="integrated_gradients", baseline=np.full_like(x, 0.5), original_class=0, steps=64)
    with pytest.warns(UserWarning, match=r"log-probabilities .* one-vs-all score='logit' explains log p_k"):
        log_p = tx.explain_keras(log_head, x, score="logit", **kw)
    np.testing.assert_allclose(log_p.input_scores, np.log(np.asarray(twin(x)))[:, 0], rtol=1e-5)
    for score, target in (("probability", None), ("probability", 2), ("logit", 2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the log-probability warning, said above
            got = tx.explain_keras(log_head, x, score=score, target_class=target, **kw)
            want = tx.explain_keras(twin, x, score=score, target_class=target, **kw)
        np.testing.assert_allclose(got.input_scores, want.input_scores, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(got.attributions, want.attributions, rtol=1e-4, atol=1e-7)

