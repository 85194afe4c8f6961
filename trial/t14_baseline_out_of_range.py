"""Trial: baselines outside the model's known input range (array, callable, MDTS data in another scale)."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(8)
inp = keras.Input((8, 8, 3)); h = keras.layers.Rescaling(1 / 255.0)(inp)
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(h))
m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
x = rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32")
def run(label, **kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            e = tx.explain_keras(m, x, method="integrated_gradients", steps=8, **kw)
            print(f"{label}: OK baselines in [{e.baselines.min():.3g}, {e.baselines.max():.3g}]")
        except Exception as ex:
            print(f"{label}: {type(ex).__name__}: {str(ex)[:200]}")
    for ww in w: print("    WARN:", str(ww.message)[:200])
run("array baseline -50", baseline=np.full((8, 8, 3), -50.0, np.float32))
run("array baseline 1000", baseline=np.full((8, 8, 3), 1000.0, np.float32))
run("callable baseline 2x", baseline=lambda xx, t: xx * 2)
run("mdts data in [0,1] (other scale)", baseline="mdts", original_class=0, target_class=1,
    data=(rng.uniform(0, 1, (12, 8, 8, 3)).astype("float32"), np.arange(12) % 3))
run("array baseline NaN", baseline=np.full((8, 8, 3), np.nan, np.float32))
