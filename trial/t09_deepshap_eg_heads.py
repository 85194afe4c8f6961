"""Trial: DeepSHAP (shap engine and native) and EG completeness against E[S_w(ref)], on softmax and sigmoid
multi-label heads, one-vs-all and one-vs-one; checks the explained score is the documented one."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(5)
keras.utils.set_random_seed(0)
inp = keras.Input((8, 8, 1)); h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
h = keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(h)); z = keras.layers.Dense(4)(h)
heads = {"softmax": keras.Model(inp, keras.layers.Softmax()(z)), "sigmoid": keras.Model(inp, keras.layers.Activation("sigmoid")(z)),
         "logits": keras.Model(inp, z)}
x = rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32")
xt = rng.uniform(0, 1, (40, 8, 8, 1)).astype("float32"); yt = np.arange(40) % 4
def out(m, v, score):
    o = m.predict(v, verbose=0)
    return o
for hname, m in heads.items():
    for label, kw in [("1-vs-all co=0", dict(original_class=0)), ("1-vs-1 0 vs 2", dict(original_class=0, target_class=2))]:
        for method, mk in [("deepshap", dict(engine="shap")), ("deepshap", dict(engine="native")), ("expected_gradients", {})]:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                try:
                    e = tx.explain_keras(m, x, method=method, baseline="train", data=(xt, yt), **kw, **mk)
                    s = e.attributions.sum(axis=(1, 2, 3)); d = e.input_scores - e.baseline_scores
                    print(f"{hname:8s} {label:14s} {method:18s} {str(mk):20s} in={np.round(e.input_scores,3)} "
                          f"base={np.round(e.baseline_scores,3)} sum={np.round(s,3)} resid={np.abs(s-d).max():.1e}")
                except Exception as ex:
                    print(f"{hname:8s} {label:14s} {method:18s} {str(mk):20s} ERR {type(ex).__name__}: {str(ex)[:200]}")
            for ww in w: print("    WARN:", str(ww.message)[:200])
    p = m.predict(x, verbose=0); print(f"{hname}: model out class0 {np.round(p[:,0],3)} class2 {np.round(p[:,2],3)}")
