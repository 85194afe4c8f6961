"""Trial: model kinds users own: two outputs, Sequential without Input, tf_keras, subclassed, Normalization input,
augmentation + Resizing layers; checks completeness of IG (many steps) / DeepLIFT and one-vs-one = difference."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tensorflow as tf, tfx_explain as tx
rng = np.random.default_rng(4)
def run(label, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = fn(); print(f"OK   {label}: {r}")
        except Exception as ex:
            print(f"ERR  {label}: {type(ex).__name__}: {str(ex)[:300]}")
    for ww in w: print("    WARN:", str(ww.message)[:220])
def compl(m, x, **kw):
    out = []
    for method in ["integrated_gradients", "deeplift"]:
        kk = dict(kw) if method == "integrated_gradients" else {k: v for k, v in kw.items() if k != "steps"}
        e = tx.explain_keras(m, x, method=method, **kk)
        s = e.attributions.sum(axis=(1, 2, 3)); d = e.input_scores - e.baseline_scores
        out.append(f"{method[:4]} co={e.original_class} delta={np.round(d,4)} resid={np.abs(s-d).max():.1e}")
    return " | ".join(out)
x = rng.uniform(0, 1, (2, 12, 12, 3)).astype("float32")

# two outputs
inp = keras.Input((12, 12, 3)); h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(inp))
two = keras.Model(inp, [keras.layers.Dense(4, activation="softmax")(h), keras.layers.Dense(2, activation="sigmoid")(h)])
run("two outputs", lambda: compl(two, x))
# dict output
dct = keras.Model(inp, {"cls": keras.layers.Dense(4, activation="softmax")(h)})
run("dict output", lambda: compl(dct, x))
# 4-D output (segmentation)
seg = keras.Model(inp, keras.layers.Conv2D(3, 1, activation="softmax")(keras.layers.Conv2D(4, 3, padding="same")(inp)))
run("segmentation (N,H,W,K) output", lambda: compl(seg, x))
# Sequential without Input
seq = keras.Sequential([keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                        keras.layers.Dense(4), keras.layers.Softmax()])
run("Sequential without Input (never called)", lambda: compl(seq, x, steps=2000))
# subclassed
class Sub(keras.Model):
    def __init__(self):
        super().__init__(); self.c = keras.layers.Conv2D(4, 3, activation="relu"); self.f = keras.layers.Flatten(); self.d = keras.layers.Dense(4)
    def call(self, t): return keras.ops.softmax(self.d(self.f(self.c(t))))
sub = Sub()
run("subclassed, never called", lambda: compl(sub, x, steps=2000))
run("subclassed one-vs-one", lambda: compl(sub, x, steps=2000, original_class=0, target_class=2))
# Normalization layer [0,255]
inp = keras.Input((12, 12, 3)); norm = keras.layers.Normalization(mean=[120., 110., 100.], variance=[3600., 3600., 3600.])
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(norm(inp)))
mn = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
run("Normalization(mean~110) baseline=max", lambda: float(tx.explain_keras(mn, x * 255, baseline="max", steps=8).baselines.max()))
# Rescaling then augmentation
inp = keras.Input((12, 12, 3)); a = keras.layers.RandomFlip()(inp); r = keras.layers.Rescaling(1/255.)(a)
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(r))
ma = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
run("RandomFlip then Rescaling(1/255): range", lambda: float(tx.explain_keras(ma, x * 255, baseline="max", steps=8).baselines.max()))
run("RandomFlip then Rescaling completeness", lambda: compl(ma, x * 255, steps=1000))
# Resizing at input (model takes 24px, resizes to 12)
inp = keras.Input((24, 24, 3)); r = keras.layers.Resizing(12, 12)(inp)
h = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(r))
mr = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
run("Resizing layer completeness", lambda: compl(mr, rng.uniform(0, 1, (2, 24, 24, 3)).astype("float32"), steps=1000))
# tf_keras
import tf_keras
tinp = tf_keras.Input((12, 12, 3)); th = tf_keras.layers.Flatten()(tf_keras.layers.Conv2D(4, 3, activation="relu")(tinp))
tk = tf_keras.Model(tinp, tf_keras.layers.Dense(4, activation="softmax")(th))
run("tf_keras functional", lambda: compl(tk, x, steps=1000))
run("tf_keras logit", lambda: compl(tk, x, steps=1000, score="logit"))
tks = tf_keras.Sequential([tf_keras.layers.Conv2D(4, 3, activation="relu"), tf_keras.layers.Flatten(), tf_keras.layers.Dense(4, activation="softmax")])
run("tf_keras Sequential without Input", lambda: compl(tks, x, steps=1000))
