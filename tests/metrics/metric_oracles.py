"""Oracle models and closed forms for the metric tests: linear logit models whose perturbation effects have closed forms."""
import numpy as np


def linear_model(weights, bias=None, shape=None):
    """A Keras model x -> flatten(x) @ weights + bias (logits, no softmax): S_w is exactly linear."""
    import keras

    d, k = weights.shape
    shape = shape or (int(np.sqrt(d)), int(np.sqrt(d)), 1)
    inputs = keras.Input(shape)
    dense = keras.layers.Dense(k, name="logits")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights.astype(np.float32), np.zeros(k, np.float32) if bias is None else bias])
    return model




def flip_deltas(w, x, co, ct):
    """delta_i = S(x) - S(x with x_i -> 1 - x_i) = v_i (2 x_i - 1), v = W[:, co] - W[:, ct] (per sample)."""
    v = w[:, co].T - (w[:, ct].T if ct is not None else 0.0)
    return v * (2.0 * x.reshape(len(x), -1) - 1.0)
