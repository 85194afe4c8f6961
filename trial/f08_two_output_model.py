"""Fault (message): a two-output (or dict-output) classifier is refused with "expected one output of class
scores (N, K), got a list", without saying how to explain one head. Fixed: the message names the way,
keras.Model(model.inputs, model.outputs[i]) (model.output['name'] for a dict).
Fixed on branch w47 in commit bc1fff7; this script now shows the fixed behaviour."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
inp = keras.Input((8, 8, 1)); h = keras.layers.Flatten()(inp)
m = keras.Model(inp, [keras.layers.Dense(3, activation="softmax")(h), keras.layers.Dense(2, activation="sigmoid")(h)])
try:
    tx.explain_keras(m, np.zeros((2, 8, 8, 1), np.float32))
except Exception as e:
    print(type(e).__name__, ":", e)
