"""Fault (confusing loop): a channels-first model (Input (3, H, W), Conv2D(data_format="channels_first")):
NCHW x is refused as "expected channels-last NHWC images (channels first?)", NHWC x as "expected images of
shape (N, 3, 16, 16) for this model ... the height differs"; neither says the model is the problem.
Fixed: one ModelError naming the channels_first layer and the NHWC wrapper (Permute((3, 1, 2))) that works.
Fixed on branch w47 in commit 682df51; this script now shows the fixed behaviour."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
inp = keras.Input((3, 16, 16)); h = keras.layers.Conv2D(4, 3, data_format="channels_first", activation="relu")(inp)
cf = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h)))
x = np.random.default_rng(0).uniform(0, 1, (2, 3, 16, 16)).astype("float32")
for v in (x, x.transpose(0, 2, 3, 1)):
    try:
        tx.explain_keras(cf, v, method="saliency")
    except Exception as e:
        print(type(e).__name__, ":", e)
