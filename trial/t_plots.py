# ruff: noqa
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import matplotlib; matplotlib.use("Agg")
import numpy as np, keras
from tfx_explain import explain_keras
H=W=8; C=1; K=2
inp=keras.Input((H,W,C)); f=keras.layers.Flatten()(inp); d=keras.layers.Dense(K,use_bias=False)(f); m=keras.Model(inp,d)
w=np.zeros((H*W,K),"float32"); w[:32,0]=1; w[32:,0]=-1  # top half positive, bottom negative for class 0
m.layers[-1].set_weights([w])
x=np.full((1,H,W,C),0.5,"float32"); x[0,:,:4]=1.0  # left half bright
e=explain_keras(m,x,method="gradient_input",original_class=0,score="logit",input_range=(0,1),progress=False)
fig=e.plot(overlay=False)
axes=[a for a in fig.axes if a.get_images()]
print("panels", len(axes), [a.get_title() for a in axes])
img_ax=axes[0]; im=img_ax.get_images()[0]; arr=im.get_array()
print("input displayed range", arr.min(), arr.max(), "left", arr[0,0], "right", arr[0,-1])
map_ax=axes[-1]; mi=map_ax.get_images()[0]
rgba=mi.get_cmap()(mi.norm(mi.get_array()))
print("top pixel rgba (positive)", rgba[0,0], "bottom (negative)", rgba[-1,0])
fig2=e.plot(overlay=False, sign="negative"); mi=[a for a in fig2.axes if a.get_images()][-1].get_images()[0]
rgba=mi.get_cmap()(mi.norm(mi.get_array())); print("sign=negative: bottom", rgba[-1,0], "top", rgba[0,0])
# [0,255] image vs [0,1]
e2=explain_keras(m,x*255,method="gradient_input",original_class=0,score="logit",input_range=(0,255),progress=False)
a2=[a for a in e2.plot(overlay=False).axes if a.get_images()][0].get_images()[0].get_array()
print("0-255 displayed", a2.min(), a2.max())
