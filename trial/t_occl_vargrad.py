# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
from tfx_explain import explain_keras
rng=np.random.default_rng(0); H=W=6; C=2
inp=keras.Input((H,W,C)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
x=rng.uniform(0,1,(2,H,W,C)).astype("float32"); co=[1,2]
Wt=m.layers[-1].kernel.numpy().reshape(H,W,C,3); b=m.layers[-1].bias.numpy()
S=lambda img,c: float((img*Wt[...,c]).sum()+b[c])
for win,st in [((2,2),1),((3,3),2),((2,2,1),(1,1,1))]:
    e=explain_keras(m,x,method="occlusion",window=win,stride=st,original_class=co,score="logit",input_range=(0,1),progress=False)
    wh=win if len(win)==3 else (win[0],win[1],1); sh=st if isinstance(st,tuple) else (st,st,1)
    starts=lambda n,w_,s_: sorted(set(list(range(0,n-w_+1,s_))+[n-w_]))  # the last window touches the edge
    ref=np.zeros_like(x)
    for i,c in enumerate(co):
        heat=np.zeros((H,W,C)); cnt=np.zeros((H,W,C))
        for r in starts(H,wh[0],sh[0]):
            for q in starts(W,wh[1],sh[1]):
                for k in starts(C,wh[2],sh[2]):
                    p=x[i].copy(); p[r:r+wh[0],q:q+wh[1],k:k+wh[2]]=0
                    d=S(x[i],c)-S(p,c); heat[r:r+wh[0],q:q+wh[1],k:k+wh[2]]+=d; cnt[r:r+wh[0],q:q+wh[1],k:k+wh[2]]+=np.prod(wh)
        ref[i]=np.where(cnt>0,heat/np.maximum(cnt,1),0)
    print("occlusion", win, st, np.abs(e.attributions-ref).max())
# vargrad on f = sum x^2 through a Lambda: var of 2(x+n) = 4 sigma^2; sigma = 0.2 * (hi - lo)
inp=keras.Input((H,W,1)); s=keras.layers.Lambda(lambda t: keras.ops.stack([keras.ops.sum(t**2,axis=(1,2,3)), keras.ops.zeros_like(keras.ops.sum(t,axis=(1,2,3)))],axis=1))(inp)
m2=keras.Model(inp,s)
x2=rng.uniform(0,255,(1,H,W,1)).astype("float32")
e=explain_keras(m2,x2,method="vargrad",original_class=0,score="logit",input_range=(0,255),samples=400,head="logits",progress=False)
print("vargrad mean", e.attributions.mean(), "expected", 4*(0.2*255)**2)
