# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
from tfx_explain import metrics, explain_keras
rng=np.random.default_rng(0); H=W=4
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,1)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
m.layers[-1].set_weights([m.layers[-1].get_weights()[0]*5, np.zeros(3,"float32")])
x=rng.uniform(0,1,(2,H,W,1)).astype("float32"); A=rng.normal(size=x.shape).astype("float32"); co=[0,1]
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r=metrics.aopc(m,x,A,co,L=4,input_range=(0,1))
    print("warnings:", [str(i.message)[:150] for i in w])
soft=lambda z: np.exp(z-z.max(1,keepdims=True))/np.exp(z-z.max(1,keepdims=True)).sum(1,keepdims=True)
bf=[]
for i,c in enumerate(co):
    order=np.argsort(-A[i].ravel(),kind="stable"); imgs=[]
    for k in range(5):
        f=x[i].ravel().copy(); f[order[:k]]=1-f[order[:k]]; imgs.append(f.reshape(H,W,1))
    p=soft(m.predict(np.stack(imgs),verbose=0))[:,c]; bf.append(np.mean(p[0]-p))
print("aopc prob on logits model", r.values, "softmax brute force", bf)
