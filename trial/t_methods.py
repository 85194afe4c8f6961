# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras, tensorflow as tf
from tfx_explain import explain_keras
rng=np.random.default_rng(0)
H=W=8; C=2; K=3; N=2
inp=keras.Input((H,W,C)); d=keras.layers.Dense(K)(keras.layers.Flatten()(inp)); m=keras.Model(inp,d)
Wt=m.layers[-1].kernel.numpy().reshape(H,W,C,K)
x=rng.uniform(0.1,1,(N,H,W,C)).astype("float32")
co=np.array([2,0]); ct=np.array([1,2])
kw=dict(score="logit", input_range=(0,1), progress=False)
def wk(c): return Wt[...,c]
# occlusion-1 zero
e=explain_keras(m,x,method="occlusion",original_class=co,**kw)
ref=np.stack([x[i]*wk(c) for i,c in enumerate(co)])
print("occlusion-1", np.abs(e.attributions-ref).max())
# one-vs-one
e=explain_keras(m,x,method="occlusion",original_class=co,target_class=ct,**kw)
ref2=np.stack([x[i]*(wk(c)-wk(t)) for i,(c,t) in enumerate(zip(co,ct))])
print("occlusion-1 1v1", np.abs(e.attributions-ref2).max())
# smoothgrad on linear = w
e=explain_keras(m,x,method="smoothgrad",original_class=co,samples=5,**kw)
print("smoothgrad", np.abs(e.attributions-np.stack([wk(c) for c in co])).max())
e=explain_keras(m,x,method="vargrad",original_class=co,samples=5,**kw); print("vargrad", np.abs(e.attributions).max())
e=explain_keras(m,x,method="squaregrad",original_class=co,samples=5,**kw); print("squaregrad", np.abs(e.attributions-np.stack([wk(c)**2 for c in co])).max())
# SP with zero filler, patch 2 stride 2 -> grid cell = sum over window of w x (each channel)
e=explain_keras(m,x,method="sliding_patch",original_class=co,patch=2,stride=2,filler="zero",**kw)
g=e.extras["grid"]
refg=np.stack([ (x[i]*wk(c)).reshape(4,2,4,2,C).sum(axis=(1,3,4)) for i,c in enumerate(co)])
print("SP grid", np.abs(g-refg).max())
# kernelshap exact with 4 segments zero filler
seg=np.zeros((H,W),int); seg[:4,4:]=1; seg[4:,:4]=2; seg[4:,4:]=3
e=explain_keras(m,x,method="kernel_shap",original_class=co,segments=seg,filler="zero",num_samples=100,**kw)
refs=np.stack([[ (x[i]*wk(c))[seg==s].sum() for s in range(4)] for i,c in enumerate(co)])
print("kshap", np.abs(e.extras["shap_values"]-refs).max(), "sum check", np.abs(e.attributions.sum(axis=(1,2,3))-refs.sum(1)).max())
# kernelshap sampled, parity with shap
import shap
f=lambda z: np.array([ (np.where(zz[seg][...,None]>0, x[0], 0)*wk(co[0])).sum() for zz in z])
seg8=np.arange(H*W).reshape(H,W)//8  # 8 rows
e=explain_keras(m,x[:1],method="kernel_shap",original_class=co[:1],segments=seg8,filler="zero",num_samples=60,seed=3,**kw)
f8=lambda z: np.array([ (np.where(zz[seg8][...,None]>0, x[0], 0)*wk(co[0])).sum()+m.layers[-1].bias.numpy()[co[0]] for zz in z])
np.random.seed(3); ex=shap.KernelExplainer(f8, np.zeros((1,8))); sv=ex.shap_values(np.ones((1,8)),nsamples=60,l1_reg=False, silent=True)
print("kshap vs shap", np.abs(e.extras["shap_values"][0]-np.ravel(sv)).max())
# gradcam on GAP model == CAM
inp=keras.Input((H,W,C)); h=keras.layers.Conv2D(4,3,padding="same",name="conv")(inp); g2=keras.layers.GlobalAveragePooling2D()(h); out=keras.layers.Dense(K)(g2); m2=keras.Model(inp,out)
e=explain_keras(m2,x,method="gradcam",original_class=co,**kw)
feat=keras.Model(inp,h)(x).numpy(); Wd=m2.layers[-1].kernel.numpy()
cam=np.stack([np.maximum((feat[i]*Wd[:,c]).sum(-1)/(H*W),0) for i,c in enumerate(co)])
print("gradcam cam extras", np.abs(e.extras["cam"]-cam).max()/np.abs(cam).max(), "heatmap", np.abs(e.heatmaps()-cam).max()/np.abs(cam).max() if hasattr(e,"heatmaps") else None)
# RISE on linear with zero fill, grid=H (masks are... ) just check sign and scale on 1 pixel model
