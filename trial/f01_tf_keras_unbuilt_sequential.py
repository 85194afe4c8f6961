"""Fault: a tf_keras (Keras 2) Sequential without an Input, never called, ends in a raw ValueError traceback
(tf_keras' "Weights ... have not yet been created"), where the same Keras 3 model is explained fine.
Expected: explained like the Keras 3 one (build it on x), or one ModelError naming `model`.
Fixed on branch w47 in commit 1c668f9; this script now shows the fixed behaviour."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, tf_keras, tfx_explain as tx
x = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
m = tf_keras.Sequential([tf_keras.layers.Conv2D(4, 3, activation="relu"), tf_keras.layers.Flatten(),
                         tf_keras.layers.Dense(4, activation="softmax")])
e = tx.explain_keras(m, x, method="integrated_gradients", steps=50)
print("explained:", e.attributions.shape, "completeness residual", np.abs(e.attributions.sum(axis=(1, 2, 3)) - (e.input_scores - e.baseline_scores)).max())
