"""Trial: a channels-first model (Input (3, H, W)), and Rescaling(1/255) inside a nested sub-model."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(10)
def run(label, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try: print(f"{label}: {fn()}")
        except Exception as ex: print(f"{label}: {type(ex).__name__}: {str(ex)[:260]}")
    for ww in w: print("    WARN:", str(ww.message)[:200])
inp = keras.Input((3, 16, 16)); h = keras.layers.Conv2D(4, 3, data_format="channels_first", activation="relu")(inp)
cf = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(h)))
xcf = rng.uniform(0, 1, (2, 3, 16, 16)).astype("float32")
run("channels-first model, NCHW x", lambda: tx.explain_keras(cf, xcf, method="saliency").attributions.shape)
run("channels-first model, NHWC x", lambda: tx.explain_keras(cf, xcf.transpose(0, 2, 3, 1), method="saliency").attributions.shape)
base_in = keras.Input((8, 8, 3)); b = keras.layers.Rescaling(1 / 255.0)(base_in)
base = keras.Model(base_in, keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(b)), name="backbone")
outer = keras.Sequential([keras.Input((8, 8, 3)), base, keras.layers.Dense(3, activation="softmax")])
run("nested Rescaling: baseline=max", lambda: float(tx.explain_keras(outer, rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32"), baseline="max", steps=4).baselines.max()))
