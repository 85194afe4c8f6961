# ruff: noqa
# Repro (NOT fixed): explain_keras(method="explaingan" / "exaggeration") ignores original_class / target_class.
# The Explanation records the classes passed (or the model's argmax over all K classes), while the map explains
# the explainer's own decision (ExplainGAN: its pair (a, b), side by the pair logit; PE: its target_class).
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
from tfx_explain import counterfactual, explain_keras
rng=np.random.default_rng(0); H=W=16
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,1)); d=keras.layers.Dense(3)(keras.layers.Flatten()(inp)); clf=keras.Model(inp,keras.layers.Softmax()(d))
k=np.zeros((H*W,3),"float32"); k[:,0]=-20/(H*W); k[:,1]=20/(H*W); clf.layers[2].set_weights([k, np.array([10,-10,-5],"float32")])
x=rng.uniform(0,1,(48,H,W,1)).astype("float32"); x[:24]*=0.5; x[24:]=0.5+0.5*x[24:]
eg=counterfactual.train_explaingan(clf,x,classes=(0,1),steps=1,preset="tiny",verbose=0)
e1=explain_keras(clf,x[:3],method="explaingan",explainer=eg,progress=False)
e2=explain_keras(clf,x[:3],method="explaingan",explainer=eg,original_class=2,target_class=1,progress=False)
print("same map with other classes:", np.array_equal(e1.attributions,e2.attributions),
      "| recorded co/ct:", e2.original_class, e2.target_class, "| explained pair", eg.classes,
      "| counterfactual_class", e2.extras["counterfactual_class"])
