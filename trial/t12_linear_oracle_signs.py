"""Trial: sign and value oracle on a linear logit model z = W x + b (score='logit', zero baseline): every
linear-exact method must give (W_co - W_ct) * x for one-vs-one and W_co * x for one-vs-all."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
warnings.simplefilter("ignore")
rng = np.random.default_rng(7)
H, W, C, K = 6, 6, 2, 3
inp = keras.Input((H, W, C)); d = keras.layers.Dense(K); m = keras.Model(inp, d(keras.layers.Flatten()(inp)))
Wt = rng.normal(size=(H * W * C, K)).astype("float32"); b = rng.normal(size=K).astype("float32"); d.set_weights([Wt, b])
x = rng.uniform(0, 1, (2, H, W, C)).astype("float32")
co, ct = np.array([0, 1]), np.array([2, 0])
want_1v1 = ((Wt[:, co] - Wt[:, ct]).T.reshape(2, H, W, C)) * x
want_1va = (Wt[:, co].T.reshape(2, H, W, C)) * x
for method, kw in [("gradient_input", {}), ("integrated_gradients", dict(steps=16)), ("deeplift", {}),
                   ("occlusion", dict(window=1)), ("deepshap", dict(engine="native", baseline="zero")),
                   ("kernel_shap", dict(num_samples=400)), ("lime", dict(num_samples=400)), ("sliding_patch", {}),
                   ("saliency", dict(absolute=False))]:
    for label, extra, want in [("1v1", dict(original_class=co, target_class=ct), want_1v1), ("1va", dict(original_class=co), want_1va)]:
        try:
            e = tx.explain_keras(m, x, method=method, score="logit", **kw, **extra)
            a = e.attributions
            if method == "saliency":
                want = want / np.where(x == 0, 1, x)
            corr = np.corrcoef(a.ravel(), want.ravel())[0, 1]
            print(f"{method:22s} {label}: max|a-want|={np.abs(a - want).max():.2e} corr={corr:+.3f} sum={a.sum():+.3f} want_sum={want.sum():+.3f} in={np.round(e.input_scores,3)}")
        except Exception as ex:
            print(f"{method:22s} {label}: ERR {type(ex).__name__}: {str(ex)[:200]}")
