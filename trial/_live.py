"""Helper: make a weights=None keras.applications model give non-degenerate outputs by setting every
BatchNormalization's moving statistics to the batch statistics of random inputs (momentum 0, one pass),
and scaling the classifier so the softmax is not flat."""
import numpy as np, keras

def liven(model, x, scale=1.0):
    bns = [l for l in model._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    for l in bns:
        l.momentum = 0.0
    model(x, training=True)
    last = [l for l in model._flatten_layers() if isinstance(l, keras.layers.Dense)][-1]
    w = last.get_weights(); w[0] = w[0] * scale; last.set_weights(w)
    return model
