"""Keras layers the generators need, registered so saved models load with ``safe_mode=True``."""
from __future__ import annotations

import keras
from keras import ops

PACKAGE = "tfx_explain"


@keras.saving.register_keras_serializable(package=PACKAGE)
class InstanceNormalization(keras.layers.Layer):
    """Instance norm as TF-GAN's ``instance_norm`` (ganmex.md §1.3): per-sample moments over H and W,
    learnable per-channel scale (init 1) and offset (init 0), epsilon 1e-6."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")

    def call(self, x):
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        var = ops.var(x, axis=(1, 2), keepdims=True)
        return (x - mean) * ops.rsqrt(var + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TileCondition(keras.layers.Layer):
    """Concatenate a (N, K) condition vector to an image as K constant channels (StarGAN's conditioning,
    ``condition_input_with_pixel_padding``, ganmex.md §1.3)."""

    def call(self, inputs):
        image, condition = inputs
        shape = ops.shape(image)
        tiled = ops.broadcast_to(condition[:, None, None, :], (shape[0], shape[1], shape[2], ops.shape(condition)[-1]))
        return ops.concatenate([image, ops.cast(tiled, image.dtype)], axis=-1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpatialMean(keras.layers.Layer):
    """Mean over all positions and channels of a PatchGAN map: one score per image (ganmex.md §1.4)."""

    def call(self, x):
        return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class InverseTanh(keras.layers.Layer):
    """artanh(scale * x) for x in [-1, 1]; ``scale`` < 1 keeps it finite at the range ends."""

    def __init__(self, scale=0.99, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, x):
        y = self.scale * x
        return 0.5 * ops.log((1.0 + y) / (1.0 - y))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
