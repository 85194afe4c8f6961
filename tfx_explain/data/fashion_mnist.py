"""The real Fashion-MNIST (Xiao et al., 2017): 60,000 train and 10,000 test 28x28 grey images.

Looked up, in order, in: the ``data_dir`` argument, the ``TFX_EXPLAIN_FASHION_MNIST`` environment
variable, and Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``, see
``dpkg -L dataset-fashion-mnist``). The four IDX files may be gzipped or not. With ``download=True``
the loader falls back to tensorflow-datasets, which needs network access.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import DataNotFoundError
from ._common import check_image_size, check_split, resize

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "TFX_EXPLAIN_FASHION_MNIST"
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def candidate_dirs(data_dir=None):
    dirs = [Path(data_dir)] if data_dir else []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    dirs.append(DEBIAN_DIR)
    return dirs


def find_files(split, data_dir=None):
    """Return (images_path, labels_path) of the first directory that holds both, else None."""
    for d in candidate_dirs(data_dir):
        found = []
        for stem in _FILES[split]:
            hits = [d / (stem + ext) for ext in (".gz", "") if (d / (stem + ext)).is_file()]
            found.append(hits[0] if hits else None)
        if all(found):
            return tuple(found)
    return None


def is_available(data_dir=None):
    return all(find_files(s, data_dir) for s in ("train", "test"))


def read_idx(path):
    """Read an IDX file (optionally gzipped): the magic number's third byte is the dtype, the fourth the rank."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataNotFoundError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    rank = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    return data.reshape(shape)


def load(split="train", image_size=28, data_dir=None, download=False):
    check_split(split)
    size = check_image_size(image_size)
    files = find_files(split, data_dir)
    if files is None:
        if download:
            from .tfds_source import load as tfds_load

            return tfds_load("fashion_mnist", split, image_size=size)
        looked = ", ".join(str(d) for d in candidate_dirs(data_dir))
        raise DataNotFoundError(
            f"fashion_mnist: the IDX files for split {split!r} ({_FILES[split][0]}[.gz], {_FILES[split][1]}[.gz]) "
            f"were not found in: {looked}. Get them with `apt-get install dataset-fashion-mnist` (Debian), "
            f"or pass data_dir= (or set {ENV_VAR}) to a directory holding them, or pass download=True to "
            "fetch them through tensorflow-datasets (needs network access).")
    images = read_idx(files[0]).astype(np.float32)[..., None] / 255.0
    labels = read_idx(files[1]).astype(np.int64)
    return resize(images, size), labels
