"""Fault (message): the docs teach target_class="all" (CLI, scale.explain_dataset); explain_keras(target_class="all")
answered "target_class: expected integer class indices, got dtype <U3". Fixed: one line saying where 'all'
works and what explain_keras takes.
Fixed on branch w47 in commit 2b04863; this script now shows the fixed behaviour."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
inp = keras.Input((8, 8, 1)); m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inp)))
try:
    tx.explain_keras(m, np.zeros((2, 8, 8, 1), np.float32), target_class="all")
except Exception as e:
    print(type(e).__name__, ":", e)
