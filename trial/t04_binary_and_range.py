"""Trial: binary heads (K=1) and input ranges (Rescaling [0,255], uint8, baselines 'max'/'uniform')."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(2)
def sig(z): return 1 / (1 + np.exp(-z))
def run(label, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            print(label, "->", fn())
        except Exception as ex:
            print(label, "-> ERR", type(ex).__name__, str(ex)[:300])
    for ww in w: print("    WARN:", str(ww.message)[:250])

x = rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32")
inp = keras.Input((8, 8, 1)); f = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inp))
z = keras.layers.Dense(1)(f)
bin_sig = keras.Model(inp, keras.layers.Activation("sigmoid")(z)); bin_log = keras.Model(inp, z)
Z = bin_log.predict(x, verbose=0)[:, 0]; P = sig(Z)
print("p =", np.round(P, 4), "z =", np.round(Z, 4))
for name, m in [("sigmoid K=1", bin_sig), ("logit K=1", bin_log)]:
    run(f"{name} one-vs-all predicted", lambda: (tx.explain_keras(m, x, method="gradient_input").original_class,
                                                   np.round(tx.explain_keras(m, x, method="gradient_input").input_scores, 4)))
    run(f"{name} original_class=0", lambda: np.round(tx.explain_keras(m, x, method="gradient_input", original_class=0).input_scores, 4))
    run(f"{name} target_class=0 (co=1)", lambda: np.round(tx.explain_keras(m, x, method="gradient_input", original_class=1, target_class=0).input_scores, 4))
    run(f"{name} logit target_class=0 (co=1)", lambda: np.round(tx.explain_keras(m, x, method="gradient_input", score="logit", original_class=1, target_class=0).input_scores, 4))
    run(f"{name} original_class=2 (out of range)", lambda: tx.explain_keras(m, x, method="gradient_input", original_class=2).input_scores)

# Input range: Rescaling(1/255) model fed [0,255]
inp = keras.Input((8, 8, 3)); h = keras.layers.Rescaling(1 / 255.0)(inp)
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(h))
m255 = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
x255 = rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32")
run("Rescaling(1/255) baseline=max", lambda: np.unique(tx.explain_keras(m255, x255, method="integrated_gradients", baseline="max", steps=8).baselines))
run("Rescaling(1/255) baseline=uniform range", lambda: (lambda b: (b.min(), b.max()))(tx.explain_keras(m255, x255, method="integrated_gradients", baseline="uniform", steps=8).baselines))
run("Rescaling(1/255) uint8 x", lambda: tx.explain_keras(m255, x255.astype("uint8"), method="saliency").attributions.shape)
run("Rescaling(1/255) float x in [0,1] (user forgot *255)", lambda: tx.explain_keras(m255, x255 / 255, method="saliency").attributions.shape)
run("Rescaling(1/255) x with values 300 (outside)", lambda: tx.explain_keras(m255, x255 + 100, method="saliency").attributions.shape)
run("Rescaling(1/255) smoothgrad noise", lambda: tx.explain_keras(m255, x255, method="smoothgrad", samples=4).options.get("noise_std"))
# plain model, no range info
inp = keras.Input((8, 8, 3)); h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inp))
mplain = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
run("plain model uint8 x", lambda: tx.explain_keras(mplain, x255.astype("uint8"), method="saliency").attributions.shape)
run("plain model baseline=max", lambda: tx.explain_keras(mplain, x255 / 255, method="integrated_gradients", baseline="max", steps=8).baselines.max())
run("plain model baseline=max input_range=(0,1)", lambda: tx.explain_keras(mplain, x255 / 255, method="integrated_gradients", baseline="max", steps=8, input_range=(0, 1)).baselines.max())
run("plain model x in [0,255] input_range=(0,1)", lambda: tx.explain_keras(mplain, x255, method="saliency", input_range=(0, 1)).attributions.shape)
run("plain model input_range=(1,0) reversed", lambda: tx.explain_keras(mplain, x255 / 255, method="integrated_gradients", baseline="max", steps=8, input_range=(1, 0)).baselines.max())
run("plain model input_range='0,1' string", lambda: tx.explain_keras(mplain, x255 / 255, method="integrated_gradients", baseline="max", steps=8, input_range="0,1").baselines.max())
run("plain model data=x(255 floats) baseline=max", lambda: tx.explain_keras(mplain, x255 / 255, method="integrated_gradients", baseline="max", steps=8, data=(x255, np.array([0, 1]))).baselines.max())
