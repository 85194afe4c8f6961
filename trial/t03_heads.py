"""Trial: output heads. For each head, compare input_scores with what the docs table says, computed by hand."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tensorflow as tf, tfx_explain as tx
warnings.simplefilter("always")
rng = np.random.default_rng(1)
x = rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32")
K = 4
def body(inp):
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    return keras.layers.Flatten()(h)
def softmax(z): z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
def sig(z): return 1 / (1 + np.exp(-z))

inp = keras.Input((8, 8, 1)); f = body(inp); z = keras.layers.Dense(K, name="z")(f)
logit_model = keras.Model(inp, z)
Z = logit_model.predict(x, verbose=0)
cases = {
    "softmax layer": keras.Model(inp, keras.layers.Softmax()(z)),
    "Activation('softmax')": keras.Model(inp, keras.layers.Activation("softmax")(z)),
    "logits": logit_model,
    "sigmoid multi-label": keras.Model(inp, keras.layers.Activation("sigmoid")(z)),
    "ops.softmax in Lambda": keras.Model(inp, keras.layers.Lambda(lambda t: keras.ops.softmax(t))(z)),
    "log_softmax": keras.Model(inp, keras.layers.Activation("log_softmax")(z)),
    "softmax then *1 (identity)": keras.Model(inp, keras.layers.Lambda(lambda t: t * 1.0)(keras.layers.Softmax()(z))),
    "softmax with temperature 2": keras.Model(inp, keras.layers.Softmax()(keras.layers.Lambda(lambda t: t / 2.0)(z))),
    "sigmoid then renormalised": keras.Model(inp, keras.layers.Lambda(lambda t: t / keras.ops.sum(t, axis=1, keepdims=True))(keras.layers.Activation("sigmoid")(z))),
}
for name, m in cases.items():
    out = m.predict(x, verbose=0)
    for score in ["probability", "logit"]:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                e = tx.explain_keras(m, x, method="gradient_input", score=score, original_class=1)
                got = e.input_scores
            except Exception as ex:
                got = f"ERR {type(ex).__name__}: {str(ex)[:160]}"
        print(f"{name:28s} {score:11s} model_out={np.round(out[:,1],4)} got={np.round(got,4) if not isinstance(got,str) else got}")
        print(f"{'':28s} softmax(Z)={np.round(softmax(Z)[:,1],4)} Z={np.round(Z[:,1],4)} sig={np.round(sig(Z)[:,1],4)}")
        for ww in w: print("    WARN:", str(ww.message)[:200])
