"""Trial: KernelSHAP efficiency (sum of attributions = S(x) - S(fill)) on a linear logit model, with the
explanation's own input and baseline scores, and against a direct evaluation of the filled image."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
warnings.simplefilter("ignore")
rng = np.random.default_rng(7)
H, W, C, K = 6, 6, 2, 3
inp = keras.Input((H, W, C)); d = keras.layers.Dense(K); m = keras.Model(inp, d(keras.layers.Flatten()(inp)))
Wt = rng.normal(size=(H * W * C, K)).astype("float32"); d.set_weights([Wt, rng.normal(size=K).astype("float32")])
x = rng.uniform(0, 1, (2, H, W, C)).astype("float32")
for method in ["kernel_shap", "lime"]:
    e = tx.explain_keras(m, x, method=method, score="logit", original_class=[0, 1], target_class=[2, 0], num_samples=400)
    s = e.attributions.sum(axis=(1, 2, 3))
    print(method, "sum", s, "in", e.input_scores, "base", e.baseline_scores,
          "baselines array?", None if e.baselines is None else (e.baselines.min(), e.baselines.max()))
    if e.baselines is not None:
        z = m.predict(e.baselines, verbose=0); zs = z[[0, 1], [0, 1]] - z[[0, 1], [2, 0]]
        print("   S(baseline) recomputed", zs, " in - S(b)", e.input_scores - zs)
for v in [0.0, 0.5]:
    z = m.predict(np.full_like(x, v), verbose=0); zs = z[[0, 1], [0, 1]] - z[[0, 1], [2, 0]]
    print(f"fill {v}: S(x) - S(fill) =", e.input_scores - zs)
