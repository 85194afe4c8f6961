"""Fault (silently wrong, user's slip): [0, 1] images fed to a model with Rescaling(1/255) at its input
(range inferred as [0, 255]) pass the range check and are explained as almost black images; the uint8 mirror
of this slip is refused, this one was silent. Now: one UserWarning naming x and the inferred range.
Fixed on branch w47 in commit ff87edb; this script now shows the fixed behaviour."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
inp = keras.Input((8, 8, 3)); h = keras.layers.Rescaling(1 / 255.0)(inp)
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(h))
m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
x01 = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")   # forgot * 255
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    e = tx.explain_keras(m, x01, method="integrated_gradients", baseline="max", steps=8)
print("baseline max:", e.baselines.max(), "x max:", x01.max())
print("warnings:", [str(v.message) for v in w] or "NONE (silent)")
