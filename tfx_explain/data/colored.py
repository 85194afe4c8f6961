"""Colored variants of grey datasets: the colored-MNIST ablation of GANMEX (ganmex_main.txt §5).

Each grey image is placed in one of the R, G, B channels and the other two are zero; labels are
unchanged. The channel is chosen as the reference code does (ganmex.md §1.2): the sum of the image's
uint8 pixel values modulo 3, so the colour is a deterministic, label-independent property of the image.
"""
from __future__ import annotations

import numpy as np


def channel_of(images):
    """The colour channel (0=R, 1=G, 2=B) given to each grey image in [0, 1]."""
    as_uint8 = np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.int64)
    return as_uint8.reshape(len(images), -1).sum(axis=1) % 3


def colorize(images):
    """(N, H, W, 1) grey images -> (N, H, W, 3) images with one non-zero channel each."""
    channels = channel_of(images)
    out = np.zeros(images.shape[:3] + (3,), np.float32)
    out[np.arange(len(images)), :, :, channels] = images[..., 0]
    return out
