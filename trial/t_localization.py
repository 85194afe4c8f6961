# ruff: noqa
import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np
from tfx_explain import metrics
rng=np.random.default_rng(0)
# edge/center oracle: |A|=1 on edges, 4 in the centre -> 0.25
a=np.ones((2,8,8,3)); a[:,:,2:6]=4
print("edge_center", metrics.edge_center_localization(a).values)
# strip 1 px at w=4? fraction .25 of 4 -> 1 col each side
a=rng.normal(size=(1,6,4,1)); r=metrics.edge_center_localization(a).values
print("edge_center bf", r, np.abs(a[0,:,[0,3]]).mean()/np.abs(a[0,:,1:3]).mean())
# inverse localization oracle: n_scenes=2, co=0 (obj0,scene0), ct=2 (obj1,scene0) -> S_d = object mask
m=np.zeros((1,8,8,1)); m[0,2:5,2:5]=1
a=np.ones((1,8,8,3)); a[0,2:5,2:5]=5
r=metrics.inverse_localization(a,[0],[2],m,2); print("invloc diff object", r.values, "expect", 1/5, r.extras["pair_kind"])
r=metrics.inverse_localization(a,[0],[1],m,2); print("invloc diff scene", r.values, "expect", 5, r.extras["pair_kind"])
r=metrics.inverse_localization(a,[0],[3],m,2); print("invloc both", r.values)
try: metrics.inverse_localization(a,[0],[0],m,2)
except Exception as e: print("same class:", type(e).__name__, e)
try: print(metrics.inverse_localization(a,[0],[9],m,2).values)
except Exception as e: print("class 9 of 2 scenes:", type(e).__name__, e)
