"""Trial: input ranges of keras.applications models (weights=None, 32 px): inferred where the model has a
preprocessing layer (MobileNetV3Small, EfficientNetB0, ConvNeXtTiny), given per channel for ResNet50 (caffe)."""
import os, sys, warnings
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
rng = np.random.default_rng(6)
photos = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
def show(name, fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try: print(f"{name}: {fn()}")
        except Exception as ex: print(f"{name}: ERR {type(ex).__name__}: {str(ex)[:250]}")
    for ww in w: print("    WARN:", str(ww.message)[:200])
from tfx_explain import input_range as ir
print([n for n in dir(ir) if not n.startswith("_")])
for name, build in [("MobileNetV3Small", lambda: keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None, classes=3)),
                    ("EfficientNetB0", lambda: keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=3)),
                    ("ConvNeXtTiny", lambda: keras.applications.ConvNeXtTiny(input_shape=(32, 32, 3), weights=None, classes=3))]:
    m = build()
    show(name + " baseline=max unique", lambda: np.unique(tx.explain_keras(m, photos, method="integrated_gradients", baseline="max", steps=4).baselines))
    show(name + " uint8 photos", lambda: tx.explain_keras(m, photos.astype("uint8"), method="saliency").attributions.shape)
from keras.applications.resnet50 import ResNet50, preprocess_input
m = ResNet50(input_shape=(32, 32, 3), weights=None, classes=3)
xr = preprocess_input(photos.copy())
show("caffe_range", lambda: ir.caffe_range())
e = None
def uni():
    global e
    e = tx.explain_keras(m, xr, method="integrated_gradients", baseline="uniform", steps=4, input_range=ir.caffe_range())
    b = e.baselines
    return [(round(float(b[..., c].min()), 2), round(float(b[..., c].max()), 2)) for c in range(3)]
show("ResNet50 uniform per-channel", uni)
show("ResNet50 max", lambda: [float(v) for v in np.unique(tx.explain_keras(m, xr, method="integrated_gradients", baseline="max", steps=4, input_range=ir.caffe_range()).baselines[0, 0, 0])])
show("ResNet50 raw photos (forgot preprocess_input) with caffe range", lambda: tx.explain_keras(m, photos, method="saliency", input_range=ir.caffe_range()).attributions.shape)
show("ResNet50 no range, baseline=max", lambda: tx.explain_keras(m, xr, method="integrated_gradients", baseline="max", steps=4).method)
