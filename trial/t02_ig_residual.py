"""Trial: is IG's large completeness residual on a livened MobileNetV2 just Riemann error (shrinks with steps)?
And does the library say so (warning / convergence_delta)?"""
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
