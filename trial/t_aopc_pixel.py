# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
from tfx_explain import metrics
from tfx_explain.perturbation import fillers
rng=np.random.default_rng(1); H=W=5; C=3; N=3
keras.utils.set_random_seed(1)
inp=keras.Input((H,W,C)); h=keras.layers.Conv2D(3,3,padding="same",activation="tanh")(inp)
m=keras.Model(inp, keras.layers.Softmax()(keras.layers.Dense(4)(keras.layers.Flatten()(h))))
for lay in m.layers[1:]:
    if lay.get_weights(): lay.set_weights([w_*2 for w_ in lay.get_weights()])
x=rng.uniform(0,1,(N,H,W,C)).astype("float32"); A=rng.normal(size=x.shape).astype("float32")
co=np.array([0,1,3]); ct=np.array([2,3,0])
P=lambda imgs: m.predict(imgs,verbose=0)
blur=fillers.get_filler("blur")
ref_img=np.zeros_like(x)  # the zero fill
for gran in ("pixel","element"):
  for one_vs_one in (False, True):
    L=7
    r=metrics.aopc(m,x,A,co,ct if one_vs_one else None,L=L,granularity=gran,fill="zero",input_range=(0,1))
    bf=[]
    for i in range(N):
        fs=A[i].sum(-1).ravel() if gran=="pixel" else A[i].ravel()
        order=np.argsort(-fs,kind="stable"); imgs=[]
        for k in range(L+1):
            if gran=="pixel":
                msk=np.zeros(H*W,bool); msk[order[:k]]=True; msk=msk.reshape(H,W,1)
            else:
                msk=np.zeros(H*W*C,bool); msk[order[:k]]=True; msk=msk.reshape(H,W,C)
            imgs.append(np.where(msk, ref_img[i], x[i]))
        p=P(np.stack(imgs)); s=p[:,co[i]]-(p[:,ct[i]] if one_vs_one else 0)
        bf.append(np.mean(s[0]-s))
    print(gran, "1v1" if one_vs_one else "1vall", np.abs(r.values-np.array(bf)).max(), r.values)
