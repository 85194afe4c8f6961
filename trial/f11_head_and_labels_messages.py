"""Report only (messages):
1. A softmax followed by another op (here x * 1.0) warns "no softmax op in its graph", though there is one, just
   not at the output; the probabilities are taken right, and score='logit' is refused (right).
2. MDTS data whose labels lie outside the model's classes (labels 7, 9 for a 5-class model) is reported as
   "data: no training image of class 1 for sample 0", not as labels out of range for the model."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
inp = keras.Input((8, 8, 3)); z = keras.layers.Dense(5)(keras.layers.Flatten()(inp))
m = keras.Model(inp, keras.layers.Lambda(lambda t: t * 1.0)(keras.layers.Softmax()(z)))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    tx.explain_keras(m, x, method="saliency")
print("1:", [str(v.message) for v in w])
try:
    tx.explain_keras(m, x, baseline="mdts", data=(x, np.array([7, 9])), original_class=0, target_class=1)
except Exception as e:
    print("2:", type(e).__name__, ":", e)
