# ruff: noqa
# Repro (fixed on w48): Inpainter.inpaint of [0, 255] images with a [0, 1] inpainter mixed scales silently;
# random_box_masks at images under 8 px -> numpy "high <= 0"; hole_quality(x, filled[:1], m) broadcast one filled image.
import os, warnings; os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"; warnings.simplefilter("ignore")
import numpy as np, traceback, time
from tfx_explain import inpainting
def T(label, f):
    try:
        r=f(); print("OK  ", label, r if not isinstance(r,np.ndarray) else (r.shape, r.dtype))
    except Exception as e:
        tb=traceback.extract_tb(e.__traceback__)
        print("ERR ", label, type(e).__name__, str(e).splitlines()[0][:160] if str(e) else "", "| at", tb[-1].filename.split("/")[-1], tb[-1].lineno)
t=time.time(); inp=inpainting.load(); print(inp, inp.metadata.get("config",{}).get("image_size"), "load s", round(time.time()-t,1))
rng=np.random.default_rng(0)
x=rng.uniform(0,1,(3,12,12,1)).astype("float32")
m=np.zeros((3,12,12,1),"float32"); m[:,3:8,3:8]=1
out=inp.inpaint(x,m); print("known kept", np.array_equal(out[m[...,0]==0], x[m[...,0]==0]) if False else np.abs((out-x)*(1-m)).max(), "range", out.min(), out.max())
x3=rng.uniform(0,1,(2,10,14,3)).astype("float32"); m3=np.zeros((2,10,14),"float32"); m3[:,2:6,2:9]=1
o3=inp.inpaint(x3,m3); print("rgb 10x14 known kept", np.abs((o3-x3)*(1-m3[...,None])).max())
T("mask wrong size", lambda: inp.inpaint(x,np.zeros((3,10,10,1))))
T("mask wrong N", lambda: inp.inpaint(x,np.zeros((2,12,12,1))))
T("2 channel images", lambda: inp.inpaint(np.zeros((1,12,12,2),"float32"),np.zeros((1,12,12))))
T("batch_size 0", lambda: inp.inpaint(x,m,batch_size=0))
T("random_box_masks 6px", lambda: inpainting.random_box_masks(2,(6,6)))
T("random_box_masks n=0", lambda: inpainting.random_box_masks(0,(12,12)))
T("hole_quality filled wrong N", lambda: inpainting.hole_quality(x,out[:1],m))
T("hole_quality perfect", lambda: inpainting.hole_quality(x,x,m))
T("known_pixel_blur", lambda: inpainting.known_pixel_blur(x,m))
kb=inpainting.known_pixel_blur(x,m); print("kpb known kept", np.abs((kb-x)*(1-m)).max())
# [0,255] images with input_range (0,1) inpainter
T("uint8-range images", lambda: inp.inpaint(x*255,m).max())
