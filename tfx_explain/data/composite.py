"""A BAM-like composite dataset: real objects pasted on real scenes, with ground-truth object masks.

BAM (Yang & Kim, 2019) pastes MS-COCO objects on Miniplaces scenes; GANMEX (ganmex_main.txt §4.1,
Table 1) treats every (object, scene) pair as a class: four classes from two objects x two scenes.
Neither BAM nor COCO can be downloaded here, so this set is built from what is on the machine:

* objects: grey images of two classes of ``fashion_mnist`` or ``digits``, each resized to
  ``object_size`` and pasted at a random position, coloured with ``OBJECT_COLOR`` using its grey level as
  the opacity (alpha);
* scenes: random crops of real textures shipped with scikit-image (``brick``, ``grass``, ``gravel``,
  ...), resized to ``image_size``. Train crops come from the top half of each texture, test crops from the
  bottom half, so test scenes are unseen.

Class ``o * n_scenes + s`` is (object o, scene s). The mask of an image is exactly the set of pixels the
pasted object changed (alpha >= 1/255); every other pixel equals the scene.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._common import check_image_size, check_split, resize

SCENES = ("brick", "grass", "gravel", "camera", "moon")
DEFAULT_SCENES = ("brick", "grass")
DEFAULT_OBJECTS = {"fashion_mnist": (1, 8), "digits": (0, 1)}  # Trouser/Bag; 0/1
DEFAULT_MAX_PER_CLASS = {"train": 1500, "test": 300}
OBJECT_COLOR = np.array([1.0, 0.85, 0.2], np.float32)
MIN_ALPHA = 1.0 / 255.0
_SPLIT_SEED = {"train": 0, "test": 1}


def _texture(name):
    import skimage.data

    if name not in SCENES:
        raise InputError(f"scenes: expected names from {SCENES}, got {name!r}")
    img = getattr(skimage.data, name)().astype(np.float32) / 255.0
    if img.ndim == 3:
        img = img[..., :3].mean(axis=-1)
    return img


def _scene_crops(texture, split, n, image_size, rng):
    """n random crops of side 3*image_size from the split's half of the texture, resized, grey -> RGB."""
    half = texture.shape[0] // 2
    region = texture[:half] if split == "train" else texture[half:]
    side = min(3 * max(image_size), region.shape[0], region.shape[1])
    tops = rng.integers(0, region.shape[0] - side + 1, size=n)
    lefts = rng.integers(0, region.shape[1] - side + 1, size=n)
    crops = np.stack([region[t : t + side, l : l + side] for t, l in zip(tops, lefts)])[..., None]
    return np.repeat(resize(crops, image_size), 3, axis=-1)


def compose(objects, scenes, positions, image_size):
    """Paste grey objects (N, h, w, 1) on RGB scenes (N, H, W, 3) at (top, left) positions.

    Returns (images, masks): images = alpha * OBJECT_COLOR + (1 - alpha) * scene inside the pasted box,
    masks = alpha > 0 as float32 (N, H, W, 1).
    """
    n, h, w, _ = objects.shape
    alpha = np.zeros((n,) + tuple(image_size) + (1,), np.float32)
    rows = positions[:, 0, None] + np.arange(h)[None]  # (N, h)
    cols = positions[:, 1, None] + np.arange(w)[None]  # (N, w)
    alpha[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = objects
    alpha[alpha < MIN_ALPHA] = 0.0  # resampling leaves faint halos; below one grey level is no object
    images = alpha * OBJECT_COLOR + (1.0 - alpha) * scenes
    return images.astype(np.float32), (alpha > 0).astype(np.float32)


def load(objects="fashion_mnist", split="train", image_size=32, object_classes=None, scenes=DEFAULT_SCENES,
         object_size=None, max_per_class=None, seed=0, data_dir=None):
    """Build the composite split; returns (images, labels, masks, class_names)."""
    from . import load as load_base
    from . import class_names as base_class_names

    check_split(split)
    size = check_image_size(image_size)
    if objects not in DEFAULT_OBJECTS:
        raise InputError(f"objects: expected one of {tuple(DEFAULT_OBJECTS)}, got {objects!r}")
    object_classes = tuple(object_classes or DEFAULT_OBJECTS[objects])
    scenes = tuple(scenes)
    if len(object_classes) < 2 or len(scenes) < 1:
        raise InputError("object_classes, scenes: expected at least two object classes and one scene")
    obj_size = check_image_size(object_size or (size[0] * 5 // 8, size[1] * 5 // 8), "object_size")
    if obj_size[0] > size[0] or obj_size[1] > size[1]:
        raise InputError(f"object_size: expected at most image_size {size}, got {obj_size}")
    cap = max_per_class if max_per_class is not None else DEFAULT_MAX_PER_CLASS[split]

    base_x, base_y = load_base(objects, split, data_dir=data_dir)
    base_x = resize(base_x, obj_size)
    rng = np.random.default_rng([seed, _SPLIT_SEED[split]])
    textures = [_texture(s) for s in scenes]
    images, labels, masks = [], [], []
    for o, cls in enumerate(object_classes):
        pool = np.flatnonzero(base_y == cls)
        if len(pool) == 0:
            raise InputError(f"object_classes: class {cls} has no {split} images in {objects}")
        for s, texture in enumerate(textures):
            n = min(cap, len(pool))
            picked = rng.permutation(pool)[:n]
            positions = np.stack([rng.integers(0, size[0] - obj_size[0] + 1, n),
                                  rng.integers(0, size[1] - obj_size[1] + 1, n)], axis=1)
            scene = _scene_crops(texture, split, n, size, rng)
            img, mask = compose(base_x[picked], scene, positions, size)
            images.append(img)
            masks.append(mask)
            labels.append(np.full(n, o * len(scenes) + s, np.int64))
    order = rng.permutation(sum(len(l) for l in labels))
    base_names = base_class_names(objects)
    names = tuple(f"{base_names[c]}/{s}" for c in object_classes for s in scenes)
    return (np.concatenate(images)[order], np.concatenate(labels)[order], np.concatenate(masks)[order], names)


def distinguishing_mask(masks, original_class, target_class, n_scenes):
    """The distinguishing feature set S_d of GANMEX's inverse localization (ganmex_main.txt §4.1).

    Same scene, another object: S_d is the object. Same object, another scene: S_d is the background.
    Pairs that differ in both are not defined by the paper; they get the object-or-background union
    (every pixel), and callers usually leave them out. Returns float32 (N, H, W, 1).
    """
    original_class = np.asarray(original_class)
    target_class = np.asarray(target_class)
    same_scene = (original_class % n_scenes) == (target_class % n_scenes)
    same_object = (original_class // n_scenes) == (target_class // n_scenes)
    out = np.ones_like(masks)
    out[same_scene & ~same_object] = masks[same_scene & ~same_object]
    out[same_object & ~same_scene] = 1.0 - masks[same_object & ~same_scene]
    return out
