# ruff: noqa
# Repro: x of shape (N, H, W) (grey, no channel axis) said "got (1, 2, 8, 8)" (fixed: a hint); plots.curves with a
# curve of another length was a matplotlib ValueError (fixed). The rest of the calls end in one clear line.
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras, traceback
from tfx_explain import explain_keras, metrics, plots
rng=np.random.default_rng(0)
def T(label, f):
    try:
        r=f(); print("OK  ", label, type(r).__name__)
    except Exception as e:
        tb=traceback.extract_tb(e.__traceback__)
        print("ERR ", label, type(e).__name__, str(e).splitlines()[0][:220] if str(e) else "", "| at", tb[-1].filename.split("/")[-1], tb[-1].lineno)
H=W=8
inp=keras.Input((H,W,1)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
x=rng.uniform(0,1,(2,H,W,1)).astype("float32")
kw=dict(score="logit", progress=False)
T("gradcam no conv", lambda: explain_keras(m,x,method="gradcam",input_range=(0,1),**kw))
T("smoothgrad no range", lambda: explain_keras(m,x,method="smoothgrad",**kw))
T("rise no range, zero filler", lambda: explain_keras(m,x,method="rise",num_samples=10,**kw))
T("lime noise filler no range", lambda: explain_keras(m,x,method="lime",num_samples=10,filler="noise",**kw))
T("kshap too few samples", lambda: explain_keras(m,x,method="kernel_shap",num_samples=3,segments=np.arange(64).reshape(8,8)//8,input_range=(0,1),**kw))
T("x 3D no channel batch", lambda: explain_keras(m,x[...,0],method="occlusion",input_range=(0,1),**kw))
T("mp filler typo", lambda: explain_keras(m,x,method="meaningful_perturbation",filler="bluur",input_range=(0,1),**kw))
T("lime kernel_width 0", lambda: explain_keras(m,x,method="lime",kernel_width=0,num_samples=10,input_range=(0,1),**kw))
T("rise normalization typo", lambda: explain_keras(m,x,method="rise",normalization="empiric",num_samples=10,input_range=(0,1),**kw))
T("sp placement typo", lambda: explain_keras(m,x,method="sliding_patch",placement="center",input_range=(0,1),**kw))
e=explain_keras(m,x,method="occlusion",input_range=(0,1),**kw)
T("plot indices out of range", lambda: e.plot(indices=[5]))
T("plot sign typo", lambda: e.plot(sign="pos"))
T("plot class_names short", lambda: e.plot(class_names=["a"]))
T("plots.curves mismatched", lambda: plots.curves(np.arange(3), {"a": np.arange(4)}, "x", "y"))
T("perturbation_curve fill=baseline without baselines", lambda: metrics.perturbation_curve(m,x,e.attributions,max_features=3,fill="baseline",**{"score":"logit","input_range":(0,1)}))
T("perturbation_curve baselines wrong shape", lambda: metrics.perturbation_curve(m,x,e.attributions,max_features=3,fill="baseline",baselines=np.zeros((3,H,W,1)),score="logit",input_range=(0,1)))
T("faithfulness deltas wrong shape", lambda: metrics.faithfulness(m,x,e.attributions,deltas=np.zeros((2,5)),score="logit",input_range=(0,1)))
T("sparsity granularity typo", lambda: metrics.sparsity(e.attributions,granularity="pixels"))
T("gini NaN", lambda: metrics.gini(np.full((1,2,2,1),np.nan)))
