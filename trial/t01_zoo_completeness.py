"""Trial: IG / DeepLIFT completeness and scores on small keras.applications models users own.
Checks: input_scores equals the model's own output (probability head), sum(attr) ~= input - baseline score."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
sys.path.insert(0, os.path.dirname(__file__))
from _live import liven

rng = np.random.default_rng(0)
def check(name, model, x, **kw):
    p = np.asarray(model.predict(x, verbose=0))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for method in ["integrated_gradients", "deeplift"]:
            try:
                e = tx.explain_keras(model, x, method=method, **kw)
            except Exception as ex:
                print(f"{name:28s} {method:22s} ERROR {type(ex).__name__}: {str(ex)[:300]}"); continue
            s = e.attributions.sum(axis=(1, 2, 3)); d = e.input_scores - e.baseline_scores
            co = e.original_class
            own = p[np.arange(len(x)), co]
            print(f"{name:28s} {method:22s} co={co} in_sc={np.round(e.input_scores,4)} model={np.round(own,4)} "
                  f"|sum-delta|max={np.abs(s-d).max():.2e} rel={np.abs(s-d).max()/max(np.abs(d).max(),1e-12):.2e}")
    for ww in w:
        print("   WARN", str(ww.message)[:250])

which = sys.argv[1:] or ["mnv2", "resnet", "effb0", "dense"]
if "mnv2" in which:
    m = keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5, alpha=0.35)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    liven(m, np.concatenate([x]*8) + rng.normal(0, x.std()*0.5, (8*len(x),)+x.shape[1:]).astype('float32'))
    check("MobileNetV2 32px", m, x)
if "resnet" in which:
    m = keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None, classes=4)
    x = rng.normal(0, 50, (2, 32, 32, 3)).astype("float32")
    liven(m, np.concatenate([x]*8) + rng.normal(0, x.std()*0.5, (8*len(x),)+x.shape[1:]).astype('float32'))
    check("ResNet50 32px", m, x)
if "effb0" in which:
    m = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=3)
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    liven(m, np.concatenate([x]*8) + rng.normal(0, x.std()*0.5, (8*len(x),)+x.shape[1:]).astype('float32'))
    check("EfficientNetB0 32px [0,255]", m, x)
if "dense" in which:
    m = keras.applications.DenseNet121(input_shape=(32, 32, 3), weights=None, classes=6)
    x = rng.normal(0, 1, (2, 32, 32, 3)).astype("float32")
    liven(m, np.concatenate([x]*8) + rng.normal(0, x.std()*0.5, (8*len(x),)+x.shape[1:]).astype('float32'))
    check("DenseNet121 32px", m, x)
