# ruff: noqa
import os, warnings, time; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
from tfx_explain import counterfactual, explain_keras
rng=np.random.default_rng(0); H=W=16
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,1)); f=keras.layers.Flatten()(inp)
d=keras.layers.Dense(3, kernel_initializer="zeros")(f); clf=keras.Model(inp,keras.layers.Softmax()(d))
k=np.zeros((H*W,3),"float32"); k[:,0]=-20/(H*W); k[:,1]=20/(H*W); clf.layers[2].set_weights([k, np.array([10,-10,-5],"float32")])
x=rng.uniform(0,1,(48,H,W,1)).astype("float32"); x[:24]*=0.5; x[24:]=0.5+0.5*x[24:]
print("pred", np.bincount(clf.predict(x,verbose=0).argmax(1),minlength=3))
t=time.time(); eg=counterfactual.train_explaingan(clf,x,classes=(0,1),steps=2,preset="tiny",verbose=0); print("train s", round(time.time()-t,1))
e=explain_keras(clf,x[:3],method="explaingan",explainer=eg,progress=False)
ex=e.extras; print(sorted(ex))
c,mk,tr=ex["composite"],ex["mask"],ex["transformed"]
print("Eq5 residual", np.abs(c-(x[:3]*(1-mk)+tr*mk)).max(), "attr vs mask", np.abs(e.attributions-np.broadcast_to(mk,e.attributions.shape)).max(), "co", e.original_class, "ct", e.target_class)
try: explain_keras(clf,x[:3],method="explaingan",explainer=eg,original_class=2,progress=False); print("class 2 accepted")
except Exception as err: print(type(err).__name__, err)
t=time.time(); pe=counterfactual.train_exaggeration(clf,x,target_class=1,bins=4,steps=2,preset="tiny",verbose=0); print("pe s", round(time.time()-t,1))
e=explain_keras(clf,x[:3],method="exaggeration",explainer=pe,progress=False)
s=e.extras["series"]; print("series", s.shape, "attr = |x_last - x_first|", np.abs(e.attributions-np.abs(s[:,-1]-s[:,0])).max(), "requested", e.extras["requested"][0])
