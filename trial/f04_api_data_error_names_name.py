"""Fault (message): explain_keras(..., data="digitz") says "name: unknown dataset 'digitz'"; the argument the user
typed is `data` (explain_keras has no `name`). Also the name is only checked after the model ran (a class
mistake in the same call is reported first). Fixed: "data: unknown dataset 'digitz'; ...".
Fixed on branch w47 in commit c7d7df8; this script now shows the fixed behaviour."""
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np, keras, tfx_explain as tx
inp = keras.Input((8, 8, 1)); h = keras.layers.Flatten()(inp)
m = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype("float32")
for kw in [dict(baseline="mdts", original_class=0, target_class=1), dict(baseline="max")]:
    try:
        tx.explain_keras(m, x, data="digitz", **kw)
    except Exception as e:
        print(type(e).__name__, ":", e)
