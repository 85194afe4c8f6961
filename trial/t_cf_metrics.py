# ruff: noqa
# Repro (fixed on w48): aospc class_index=7 -> TF graph error; class_index of wrong length -> numpy error;
# thresholds=() -> numpy stack error; thresholds=(5,) -> AOSPC 0 silently; compatibility(bins=0) -> in_bin 1.0 silently.
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras, traceback
from tfx_explain.metrics import counterfactual as cm
from scipy import stats
rng=np.random.default_rng(0)
def T(label, f):
    try:
        r=f(); print("OK  ", label, r if not isinstance(r,dict) else {k:r[k] for k in list(r)[:2]})
    except Exception as e:
        tb=traceback.extract_tb(e.__traceback__)
        print("ERR ", label, type(e).__name__, str(e).splitlines()[0][:160], "| at", tb[-1].filename.split("/")[-1], tb[-1].lineno)
# frechet 1D closed form
print("fd", cm.frechet_distance([1.0],[[4.0]],[3.0],[[1.0]]), (1-3)**2+4+1-2*2)
p=rng.uniform(0,1,50); q=np.clip(p+rng.normal(0,.1,50),0.01,.99)
r=cm.compatibility(p,q,bins=10); print("compat", r["pearson"]-stats.pearsonr(p,q)[0], r["spearman"]-stats.spearmanr(p,q)[0])
kl=np.mean(p*np.log(p/q)+(1-p)*np.log((1-p)/(1-q))); print("kl", r["kl"]-kl)
# latent closeness brute force
z=rng.normal(size=(6,3)); zd=z+rng.normal(scale=0.8,size=(6,3))
bf=np.mean([np.linalg.norm(z[i]-zd[i]) < min(np.linalg.norm(zd[i]-zd[j]) for j in range(6) if j!=i) for i in range(6)])
print("lsc", cm.latent_space_closeness(z,zd), bf)
H=W=8
inp=keras.Input((H,W,1)); out=keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(inp))); m=keras.Model(inp,out)
x=rng.uniform(0,1,(2,H,W,1)).astype("float32"); s=rng.uniform(size=(2,H,W,1))
T("aospc ok", lambda: cm.aospc(m,x,s,value_range=(0,1),steps=3))
T("aospc class out of range", lambda: cm.aospc(m,x,s,class_index=7,value_range=(0,1),steps=3))
T("aospc class wrong len", lambda: cm.aospc(m,x,s,class_index=[0,1,2],value_range=(0,1),steps=3))
T("aospc thresholds empty", lambda: cm.aospc(m,x,s,thresholds=(),value_range=(0,1),steps=3))
T("aospc threshold 5", lambda: cm.aospc(m,x,s,thresholds=(5,),value_range=(0,1),steps=3))
T("mask_sparsity 1D", lambda: cm.mask_sparsity(np.ones(4)))
T("compat bins 0", lambda: cm.compatibility(p,q,bins=0))
T("latent mismatch", lambda: cm.latent_space_closeness(z,z[:, :2]))
T("fd shape mismatch", lambda: cm.frechet_distance([0,0],np.eye(2),[0,0,0],np.eye(3)))
