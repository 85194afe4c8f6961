# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
from tfx_explain import explain_keras
import importlib; R = importlib.import_module("tfx_explain.perturbation.rise")
rng=np.random.default_rng(0); H,W=9,7; C=2
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,C)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
x=rng.uniform(0,1,(2,H,W,C)).astype("float32"); co=[2,0]; N=40; p=0.4
for norm in ("expectation","empirical"):
    e=explain_keras(m,x,method="rise",num_samples=N,grid_size=3,keep_prob=p,normalization=norm,seed=5,original_class=co,score="logit",input_range=(0,1),progress=False)
    cells=R.cell_size((H,W),(3,3)); grids,offs=R.draw_masks(N,(3,3),p,cells,5)
    M=R.upsample_masks(grids,offs,(H,W),cells)
    out=[]
    for i,c in enumerate(co):
        s=m.predict(x[i][None]*M[...,None],verbose=0)[:,c]
        sal=np.tensordot(s,M,axes=1)/(N*p if norm=="expectation" else M.sum(0))
        out.append(sal)
    ref=np.stack(out)[...,None]/C
    print(norm, np.abs(e.attributions-ref).max(), np.abs(ref).max())
# masks vs skimage resize
from skimage.transform import resize
g=grids[0]; up=resize(g,((3+1)*cells[0],(3+1)*cells[1]),order=1,mode="reflect",anti_aliasing=False)
print("mask vs skimage", np.abs(up[offs[0,0]:offs[0,0]+H, offs[0,1]:offs[0,1]+W]-M[0]).max())
