"""Trial: more API conventions: target_class='all', original_class='labels' with arrays, steps='auto' reaching
its tolerance, one-hot classes of a binary (K=1) head, Explanation save/load round trip."""
import os, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(9)
def run(label, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try: print(f"{label}: {fn()}")
        except Exception as ex: print(f"{label}: {type(ex).__name__}: {str(ex)[:220]}")
    for ww in w: print("    WARN:", str(ww.message)[:200])
inp = keras.Input((8, 8, 1)); h = keras.layers.Dense(8, activation="tanh")(keras.layers.Flatten()(inp))
m = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
x = rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32")
run("target_class='all'", lambda: tx.explain_keras(m, x, target_class="all").target_class)
run("original_class='labels' numpy x", lambda: tx.explain_keras(m, x, original_class="labels").original_class)
def auto():
    e = tx.explain_keras(m, x, steps="auto", tolerance=1e-4)
    s = e.attributions.sum(axis=(1, 2, 3)); d = e.input_scores - e.baseline_scores
    return f"resid {np.abs(s - d).max():.1e} conv_delta {e.convergence_delta} steps {e.extras.get('steps', e.options.get('steps'))}"
run("steps='auto' tolerance=1e-4", auto)
b = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))
run("binary one-hot (N,2)", lambda: tx.explain_keras(b, x, method="saliency", original_class=np.eye(2)[[0, 1, 1]]).original_class)
run("binary one-hot (N,1)", lambda: tx.explain_keras(b, x, method="saliency", original_class=np.ones((3, 1))).original_class)
def rt():
    import tempfile, pathlib
    e = tx.explain_keras(m, x, original_class=0, target_class=2, steps=8)
    p = pathlib.Path(tempfile.mkdtemp()) / "e.npz"; e.save(p); f = tx.Explanation.load(p)
    return (np.array_equal(e.attributions, f.attributions), f.target_class, f.options.get("baseline"))
run("save/load", rt)
run("save to missing dir", lambda: tx.explain_keras(m, x, method="saliency").save("/no/such/dir/e.npz"))
run("plot to missing dir", lambda: tx.explain_keras(m, x, method="saliency").plot(path="/no/such/dir/e.png"))
