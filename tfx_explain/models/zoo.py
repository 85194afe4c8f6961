"""A model zoo of the backbones users own, built offline, made hard enough to test exactness on.

keras.applications architectures with ``weights=None`` (no download), a pooled-features head
``Dense(K)`` with a bias, then a separate ``Softmax``. An untrained ``weights=None`` backbone has no biases
and unit batch-norm statistics, so it is positively homogeneous: with a zero baseline plain gradient ×
input already sums to the logit delta, and an exactness test could not fail. :func:`build` therefore sets
every BatchNormalization's moving statistics from one random input batch (so features are affine, not
linear, in the input) and gives the head random biases, with the features' standardisation folded in so
that logits are O(1) and vary with the input; tests use random non-zero baselines.
"""
from __future__ import annotations

import numpy as np

#: name -> (keras.applications constructor name, smallest convenient input size, global pooling)
ARCHITECTURES = {
    "resnet50": ("ResNet50", 32, "avg"),
    "mobilenetv2": ("MobileNetV2", 32, "avg"),
    "efficientnetb0": ("EfficientNetB0", 32, "avg"),
    "densenet121": ("DenseNet121", 32, "avg"),
    "vgg16": ("VGG16", 32, "max"),
    "xception": ("Xception", 71, "avg"),
    "convnexttiny": ("ConvNeXtTiny", 32, "avg"),
}


def build(name, size=None, classes=5, seed=0, head="softmax", dtype=None):
    """A keras.applications backbone with a biased head, batch-norm statistics set from one input batch.

    Args:
        name: a key of :data:`ARCHITECTURES`.
        size: input height and width (default: the architecture's smallest convenient size).
        classes: K.
        seed: seeds the weights, the statistics batch and the head.
        head: ``"softmax"`` (Dense(K) then a separate Softmax layer) or ``"logits"`` (Dense(K) alone).
        dtype: build the model in this float type (e.g. ``"float64"``, to tell float32 rounding from a rule's
            error); default Keras' ``floatx``.
    Returns:
        A functional ``keras.Model`` from (size, size, 3) images in [0, 1] to (N, K) scores.
    """
    import keras

    if dtype is not None:
        previous = keras.config.floatx()
        keras.config.set_floatx(dtype)
        try:
            return build(name, size, classes, seed, head)
        finally:
            keras.config.set_floatx(previous)
    ctor, default_size, pool = ARCHITECTURES[name]
    size = size or default_size
    keras.utils.set_random_seed(seed)
    backbone = getattr(keras.applications, ctor)(include_top=False, weights=None, input_shape=(size, size, 3))
    inputs = keras.Input((size, size, 3))
    pooled = (keras.layers.GlobalMaxPooling2D() if pool == "max" else keras.layers.GlobalAveragePooling2D())(
        backbone(inputs))
    logits = keras.layers.Dense(classes, bias_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed),
                                name="head")(pooled)
    out = keras.layers.Softmax()(logits) if head == "softmax" else logits
    model = keras.Model(inputs, out, name=f"{name}_zoo")
    batch = np.random.default_rng(seed).uniform(0, 1, (8, size, size, 3)).astype("float32")
    set_batchnorm_statistics(model, batch)
    _standardise_head(model.get_layer("head"), keras.Model(inputs, pooled).predict(batch, verbose=0), seed)
    return model


def _standardise_head(dense, features, seed):
    """Fold the features' batch standardisation into the head, so logits are O(1) like a trained model's.

    Untrained backbones give pooled features of any scale (hundreds for EfficientNet, nearly constant for
    VGG16); standardised, every model's logits vary with its input on the same scale.
    """
    mean, std = features.mean(axis=0), features.std(axis=0)
    std = np.maximum(std, np.median(std) + 1e-6)  # a feature nearly constant on the batch is not blown up
    kernel = np.random.default_rng(seed).normal(size=dense.kernel.shape) / np.sqrt(features.shape[1])
    bias = np.random.default_rng(seed + 1).normal(size=dense.bias.shape)
    dense.set_weights([(kernel / std[:, None]).astype("float32"),
                       (bias - (mean / std) @ kernel).astype("float32")])


def set_batchnorm_statistics(model, x):
    """Set every BatchNormalization's moving mean and variance to its batch statistics on ``x``.

    One forward pass in training mode with momentum 0 does it layer by layer: each layer sees the outputs
    of the layers before it, already normalised with the statistics it will use at inference.
    """
    layers = [layer for layer in _all_layers(model) if type(layer).__name__ == "BatchNormalization"]
    saved = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    try:
        model(x, training=True)
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum


def _all_layers(model):
    stack, out = [model], []
    while stack:
        layer = stack.pop()
        out.append(layer)
        stack.extend(getattr(layer, "layers", None) or [])
    return out
