# ruff: noqa
# Repro (fixed on w48): a metric summary over one defined value said std = sem = 0 ("0.035 ± 0.000"); now NaN.
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
from tfx_explain import metrics
rng=np.random.default_rng(0); H=W=4
inp=keras.Input((H,W,1)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
x=rng.uniform(0,1,(2,H,W,1)).astype("float32")
A=np.zeros_like(x); A[1]=rng.normal(size=A[1].shape)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r=metrics.faithfulness(m,x,A,[0,1],score="logit",input_range=(0,1))
    print("faith values", r.values, r.summary(), [str(i.message)[:100] for i in w])
    r=metrics.monotonicity(m,x,A,[0,1],score="logit",input_range=(0,1)); print("mono", r.values, r.summary()["undefined"])
