# ruff: noqa
# docs/guide/generative-removal.md's first example at small sample counts, on one composite image and a tiny model
import os, warnings, time; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
import tfx_explain as tx
from tfx_explain import inpainting, data
x, y, masks = data.load("composite_fashion_mnist", "test", image_size=64, with_masks=True, max_per_class=1)
x, masks = x[:2], masks[:2]; print("x", x.shape, x.dtype, x.min(), x.max())
keras.utils.set_random_seed(0)
inp=keras.Input(x.shape[1:]); h=keras.layers.Conv2D(4,5,strides=4,activation="relu")(inp)
model=keras.Model(inp, keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(h))))
inpainter = inpainting.load()
filled = inpainter.inpaint(x, masks); print("filled known kept", np.abs((filled-x)*(1-masks)).max())
for kw in [dict(method="sliding_patch", patch=17, stride=3, filler=inpainter),
           dict(method="lime", num_samples=50, filler="inpaint"),
           dict(method="meaningful_perturbation", filler=inpainter, steps=5),
           dict(method="rise", num_samples=50, filler="inpaint"),
           dict(method="kernel_shap", num_samples=60, filler="inpaint")]:
    t=time.time()
    try:
        e = tx.explain_keras(model, x, progress=False, **kw); print(kw["method"], e.attributions.shape, np.isfinite(e.attributions).all(), round(time.time()-t,1),"s")
    except Exception as err: print(kw["method"], type(err).__name__, err)
