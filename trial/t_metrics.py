# ruff: noqa
import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras, tensorflow as tf
from tfx_explain import metrics
rng=np.random.default_rng(0)
H=W=6; C=1; N=3; K=3
inp=keras.Input((H,W,C)); d=keras.layers.Dense(K)(keras.layers.Flatten()(inp)); m=keras.Model(inp,d)
m.build((None,H,W,C))
x=rng.uniform(0,1,(N,H,W,C)).astype("float32")
Wt=m.layers[-1].kernel.numpy(); b=m.layers[-1].bias.numpy()
co=np.array([0,1,2]); 
# gini one-hot
oh=np.zeros((2,H,W,C)); oh[:,1,2,0]=5
print("gini onehot", metrics.gini(oh), 1-1/(H*W*C))
# faithfulness on linear: delta_i = w_i (x_i - (1-x_i))
A=np.stack([ (Wt[:,c].reshape(H,W,C))*(2*x[i]-1) for i,c in enumerate(co)])
r=metrics.faithfulness(m,x,A,co,score="logit",input_range=(0,1))
print("faith", r.values)
r=metrics.monotonicity(m,x,A,co,score="logit",input_range=(0,1)); print("mono",r.values)
# AOPC brute force
L=10
r=metrics.aopc(m,x,A,co,L=L,score="logit",input_range=(0,1))
bf=[]
for i,c in enumerate(co):
    flat=x[i].ravel().copy(); order=np.argsort(-A[i].ravel(),kind="stable")
    s0=flat@Wt[:,c]+b[c]; drops=[]
    for k in range(L+1):
        f=flat.copy(); f[order[:k]]=1-f[order[:k]]; drops.append(s0-(f@Wt[:,c]+b[c]))
    bf.append(np.mean(drops))
print("aopc", r.values, bf)
r2=metrics.aopc(m,x,A,co,L=L,step=3,score="logit",input_range=(0,1)); print("aopc step3", r2.values, r2.extras["levels"])
# one-vs-one
ct=np.array([1,2,0])
A2=np.stack([ ((Wt[:,c]-Wt[:,t]).reshape(H,W,C))*(2*x[i]-1) for i,(c,t) in enumerate(zip(co,ct))])
r=metrics.faithfulness(m,x,A2,co,ct,score="logit",input_range=(0,1)); print("faith 1v1",r.values)
# deletion brute force
r=metrics.deletion(m,x,A,co,steps=4,score="logit",input_range=(0,1)); print("deletion",r.values, r.extras["fractions"])
bf=[]
for i,c in enumerate(co):
    fs=A[i].sum(-1).ravel(); order=np.argsort(-fs,kind="stable"); n=len(fs)
    lv=np.unique(np.round(np.linspace(0,n,5)).astype(int)); sc=[]
    for k in lv:
        f=x[i].reshape(-1,C).copy(); f[order[:k]]=0; sc.append(f.ravel()@Wt[:,c]+b[c])
    bf.append(np.trapezoid(sc,lv/n))
print("deletion bf",bf)
r=metrics.insertion(m,x,A,co,steps=4,score="logit",fill="zero",input_range=(0,1)); print("insertion",r.values)
bf=[]
for i,c in enumerate(co):
    fs=A[i].sum(-1).ravel(); order=np.argsort(-fs,kind="stable"); n=len(fs)
    lv=np.unique(np.round(np.linspace(0,n,5)).astype(int)); sc=[]
    for k in lv:
        f=np.zeros_like(x[i].reshape(-1,C)); f[order[:k]]=x[i].reshape(-1,C)[order[:k]]; sc.append(f.ravel()@Wt[:,c]+b[c])
    bf.append(np.trapezoid(sc,lv/n))
print("insertion bf",bf)
# paired_difference
a=rng.normal(size=30); bb=a+0.5+rng.normal(scale=0.01,size=30)
print(metrics.paired_difference(a,bb))
