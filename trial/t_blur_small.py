# ruff: noqa
# Observation (not changed): insertion's default fill "blur" uses sigma = 10 H / 224 px, so at small sizes the
# "fully removed" start image is close to the original and insertion measures little.
import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np
from tfx_explain.perturbation import fillers
rng=np.random.default_rng(0)
for H in (8,16,28,64,224):
    x=(rng.uniform(size=(4,H,H,1))>0.7).astype("float32")  # sparse strokes
    b=fillers.get_filler("blur")(x, np.ones((4,H,H,1),"float32"))
    print(H, "sigma", round(10*H/224,2), "mean|blur(x)-x| / mean|mean(x)-x| =", round(float(np.abs(b-x).mean()/np.abs(x.mean((1,2),keepdims=True)-x).mean()),3))
