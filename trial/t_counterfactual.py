# ruff: noqa
# Repro (fixed on w48): train_exaggeration / train_explaingan on [0, 255] images with the default value_range (0, 1)
# trained silently ("pe x out of range" printed OK). The ExplainGAN 2-step run needs images on both sides.
import os, warnings, time; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras, traceback
from tfx_explain import counterfactual, explain_keras
def T(label, f):
    try:
        r=f(); print("OK  ", label, type(r).__name__); return r
    except Exception as e:
        tb=traceback.extract_tb(e.__traceback__)
        print("ERR ", label, type(e).__name__, str(e).splitlines()[0][:200] if str(e) else "", "| at", tb[-1].filename.split("/")[-1], tb[-1].lineno)
rng=np.random.default_rng(0)
H=W=16
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,1)); out=keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(inp))); clf=keras.Model(inp,out)
x=rng.uniform(0,1,(48,H,W,1)).astype("float32"); y=rng.integers(0,3,48)
T("eg same classes", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(1,1),steps=1,preset="tiny"))
T("eg class out of range", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(0,5),steps=1,preset="tiny"))
T("eg steps 0", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(0,1),steps=0,preset="tiny"))
T("eg preset typo", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(0,1),steps=1,preset="tinny"))
T("eg kappa typo", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(0,1),steps=1,preset="tiny",kapa=0.1))
T("pe target out of range", lambda: counterfactual.train_exaggeration(clf,x,target_class=4,steps=1,preset="tiny"))
T("pe bins 1", lambda: counterfactual.train_exaggeration(clf,x,target_class=1,bins=1,steps=1,preset="tiny"))
T("pe x out of range", lambda: counterfactual.train_exaggeration(clf,x*255,target_class=1,steps=1,preset="tiny"))
t=time.time()
eg=T("eg tiny 2 steps", lambda: counterfactual.train_explaingan(clf,(x,y),classes=(0,1),steps=2,preset="tiny",verbose=0))
print("eg s", round(time.time()-t,1))
if eg is not None:
    e=T("explain eg", lambda: explain_keras(clf,x[:4],method="explaingan",explainer=eg,progress=False))
    if e is not None:
        ex=e.extras; c=ex["composite"]; mk=ex["mask"]; tr=ex["transformed"]
        print("composite Eq5 residual", np.abs(c-(x[:4]*(1-mk)+tr*mk)).max(), "attr==mask", np.abs(e.attributions-np.broadcast_to(mk,e.attributions.shape)).max(), "classes", e.original_class, e.target_class)
    T("explain eg other classes", lambda: explain_keras(clf,x[:4],method="explaingan",explainer=eg,original_class=2,progress=False))
    T("explain eg wrong explainer type", lambda: explain_keras(clf,x[:4],method="exaggeration",explainer=eg,progress=False))
    T("explain eg no explainer", lambda: explain_keras(clf,x[:4],method="explaingan",progress=False))
