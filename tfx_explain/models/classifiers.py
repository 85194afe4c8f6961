"""The classifiers of the GANMEX paper (ganmex_appendix.txt A.1), in Keras 3.

Every model takes images in [0, 1] and ends in ``Dense(K)`` followed by a separate
``Activation("softmax")`` layer, as the reference classifiers do (ganmex.md §1.10): the pre-softmax
logits are then one layer away, which GANMEX's discriminator and the ``score="logit"`` option use.
"""
from __future__ import annotations

import keras
from keras import layers

from ..errors import InputError


def _check(input_shape, num_classes):
    if len(input_shape) != 3 or any(int(d) < 1 for d in input_shape):
        raise InputError(f"input_shape: expected (H, W, C) with positive sizes, got {tuple(input_shape)}")
    if int(num_classes) < 2:
        raise InputError(f"num_classes: expected at least 2, got {num_classes}")


def _head(x, num_classes):
    logits = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", name="probabilities")(logits)


def mnist_cnn(input_shape=(28, 28, 1), num_classes=10, dropout=0.5, name="mnist_cnn"):
    """MNIST / SVHN classifier (A.1): two 6x6 stride-2 convs (32, 64, ReLU), dense 256, dropout, K outputs.

    Matches the reference ``get_mnist_model`` (ganmex.md §1.10); the paper reports 99.3% on MNIST.
    """
    _check(input_shape, num_classes)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(32, 6, strides=2, activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(64, 6, strides=2, activation="relu", name="conv2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="fc")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, _head(x, num_classes), name=name)


def cifar_cnn(input_shape=(32, 32, 3), num_classes=10, name="cifar_cnn"):
    """CIFAR-10 classifier (A.1): 4 units of [3x3 conv + BN, 3x3 conv + BN, 2x2 average pooling].

    Filters 32/64/128/256, ReLU, he_uniform, then Flatten, Dense 128 + BN and K outputs, as the reference
    ``get_cifar10_model`` (ganmex.md §1.10). The paper reports 87.8% after 100 epochs.
    """
    _check(input_shape, num_classes)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for unit, filters in enumerate((32, 64, 128, 256), start=1):
        for conv in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_uniform",
                              name=f"unit{unit}_conv{conv}")(x)
            x = layers.BatchNormalization(name=f"unit{unit}_bn{conv}")(x)
        x = layers.AveragePooling2D(2, name=f"unit{unit}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", kernel_initializer="he_uniform", name="fc")(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    return keras.Model(inputs, _head(x, num_classes), name=name)


def mobilenet_classifier(input_shape=(128, 128, 3), num_classes=2, weights=None, alpha=1.0, dropout=0.5,
                         name="mobilenet_classifier"):
    """apple2orange / BAM classifier (A.1): MobileNet trunk + global average pooling + dense 1024 + dropout.

    ``weights=None`` by default because pretrained ImageNet weights cannot be downloaded here; pass
    ``"imagenet"`` online or a path to your own weights file. Inputs are [0, 1] without ImageNet
    preprocessing, as in the reference code (ganmex.md §1.10, quirk 8).
    """
    _check(input_shape, num_classes)
    if min(input_shape[:2]) < 32:
        raise InputError(f"input_shape: MobileNet needs images of at least 32x32, got {tuple(input_shape)}")
    trunk_weights = weights if weights in (None, "imagenet") else None
    trunk = keras.applications.MobileNet(input_shape=tuple(input_shape), include_top=False, weights=trunk_weights,
                                         alpha=alpha)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = trunk(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(1024, activation="relu", name="fc")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    model = keras.Model(inputs, _head(x, num_classes), name=name)
    if weights not in (None, "imagenet"):
        model.load_weights(weights)
    return model


def gap_cnn(input_shape=(64, 64, 3), num_classes=10, name="gap_cnn"):
    """A compact all-convolutional classifier (not from the papers): three 3x3 stride-2 convs (16, 32, 64, ReLU),
    a 3x3 conv (64, ReLU), global average pooling and K outputs; about 60k parameters.

    Small enough to ship as a file with the package (the composite GANMEX asset of notebook 06), and its last
    conv feeds a global average pool, so Grad-CAM reduces to CAM on it (Zhou et al., 2016).
    """
    _check(input_shape, num_classes)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, filters in enumerate((16, 32, 64), start=1):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", name=f"conv{i}")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, _head(x, num_classes), name=name)


ARCHITECTURES = {"mnist_cnn": mnist_cnn, "cifar_cnn": cifar_cnn, "mobilenet_classifier": mobilenet_classifier,
                 "gap_cnn": gap_cnn}


def build(name, input_shape, num_classes, **kwargs):
    """Build a classifier by architecture name."""
    if name not in ARCHITECTURES:
        raise InputError(f"architecture: expected one of {tuple(ARCHITECTURES)}, got {name!r}")
    return ARCHITECTURES[name](input_shape=input_shape, num_classes=num_classes, **kwargs)
