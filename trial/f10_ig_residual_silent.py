"""Report only (silently inexact): on a small MobileNetV2 (weights=None, BN statistics set from random inputs) IG
with the default 200 steps misses completeness by more than the score delta itself (sum 0.06 vs delta 0.41;
1000 steps: residual 0.16-0.24 of deltas 0.41-0.51), and nothing warns: only e.convergence_delta and repr's
max|delta| show it. It is Riemann error (it shrinks with steps), not a bug. A fix: warn when
|convergence_delta| > some fraction (e.g. 5 %) of |input_scores - baseline_scores|, naming steps="auto"."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(__file__))
import numpy as np, keras, tfx_explain as tx
from _live import liven
rng = np.random.default_rng(0)
m = keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5, alpha=0.35)
x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
liven(m, np.concatenate([x]*8) + rng.normal(0, 0.3, (16, 32, 32, 3)).astype("float32"))
warnings.simplefilter("always")
for steps in [50, 200, 1000]:
    e = tx.explain_keras(m, x, method="integrated_gradients", steps=steps)
    s = e.attributions.sum(axis=(1, 2, 3)); d = e.input_scores - e.baseline_scores
    print(steps, "sum", s, "delta", d, "conv_delta", getattr(e, "convergence_delta", None))
print(repr(e))
