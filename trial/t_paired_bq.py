# Repro (fixed on w48): paired_difference(confidence=95) -> ci [nan, nan], excludes_zero False, silently;
# n_resamples=0 -> scipy ValueError traceback; colour_preservation(x, x[:1]) rates one baseline as N pairs;
# target_success with a class list of the wrong length -> numpy broadcast ValueError.
import numpy as np
from tfx_explain.metrics import paired_difference, baseline_quality as bq
a = np.arange(5.0)
for kw in ({"confidence": 95}, {"n_resamples": 0}):
    try:
        print(kw, paired_difference(a, 1.1 * a + 1, **kw))
    except Exception as e:
        print(kw, type(e).__name__, e)
x = np.zeros((3, 2, 2, 3), np.float32)
x[..., 0] = 1
try:
    print("colour_preservation(x, x[:1])", bq.colour_preservation(x, x[:1]))
except Exception as e:
    print(type(e).__name__, e)
