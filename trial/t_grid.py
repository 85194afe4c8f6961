# ruff: noqa
import os, warnings, tempfile, json; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, keras
from tfx_explain import metrics, explain_keras
rng=np.random.default_rng(0); H=W=6; C=1
keras.utils.set_random_seed(0)
inp=keras.Input((H,W,C)); m=keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
x=rng.uniform(0,1,(4,H,W,C)).astype("float32"); co=np.array([0,1,2,0]); ct=np.array([1,2,0,2])
g=metrics.evaluate_grid(m,x,co,ct,methods=["occlusion","gradient_input","lime"],baselines={"Zero":"zero"},
    metrics=["aopc_all","sparsity","faithfulness","deletion"],score="logit",input_range=(0,1),
    method_options={"lime":{"num_samples":30,"n_segments":4}})
d=tempfile.mkdtemp(); g.save(d); print(sorted(os.listdir(d)))
print(open(os.path.join(d,"grid.md")).read()[:1500])
# cross-check one cell against a direct call
e=explain_keras(m,x,method="occlusion",original_class=co,target_class=ct,score="logit",input_range=(0,1),progress=False)
r=metrics.faithfulness(m,x,e.attributions,co,ct,score="logit",input_range=(0,1))
print("direct occlusion faithfulness mean", r.values.mean(), "grid", [row for row in g.rows if row["metric"]=="faithfulness" and row["method"] in ("occlusion","Occlusion")][:1])
r=metrics.gini(e.attributions); print("direct gini", r.mean())
