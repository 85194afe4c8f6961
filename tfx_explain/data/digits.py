"""scikit-learn's bundled 8x8 handwritten digits: real data that needs no download.

1,797 images of 8x8 pixels with 17 grey levels (0..16), ten classes. They are scaled to [0, 1] and
resized (bilinear, antialiased) to ``image_size`` (default 28x28, so the MNIST architectures apply).

The split is fixed and documented: in the order scikit-learn ships the samples, every fifth sample
(index i with i % 5 == 4) is a test sample, the rest train: 1,438 train and 359 test images, with
every class present in both.
"""
from __future__ import annotations

import numpy as np

from ._common import check_image_size, check_split, resize

CLASS_NAMES = tuple(str(d) for d in range(10))
TEST_EVERY = 5


def load(split="train", image_size=28):
    from sklearn.datasets import load_digits

    check_split(split)
    size = check_image_size(image_size)
    bunch = load_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[..., None]
    labels = bunch.target.astype(np.int64)
    is_test = np.arange(len(labels)) % TEST_EVERY == TEST_EVERY - 1
    keep = is_test if split == "test" else ~is_test
    return resize(images[keep], size), labels[keep]
