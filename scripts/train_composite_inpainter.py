"""Train the inpainter shipped in tfx_explain/assets/inpainter_composite (DeepFill-v1, preset ``cpu_small``).

Training images: the composite_fashion_mnist train split at 64x64 (6000 objects on brick/grass) plus 2000
object-free crops of each of the five scikit-image textures (train half), so that the inpainter also learns
backgrounds without objects (SP-G and MP-G remove objects). The run resumes from ``--out`` when interrupted;
then the hole quality is measured on held-out test images (random boxes drawn like the training holes)
against the gray and blur fillers and a known-pixel blur, and the inpainter is exported with it.

    PYTHONPATH=. nice -n 10 python scripts/train_composite_inpainter.py --steps 3000 --out runs/inpainter_composite \\
        --export tfx_explain/assets/inpainter_composite
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

DATA = ("composite_fashion_mnist train split at 64x64 (6000 images, objects on brick/grass) + 2000 object-free "
        "crops of each of brick, grass, gravel, camera, moon (train half of the textures)")


def training_images(seed=123):
    from tfx_explain import data
    from tfx_explain.data import composite

    objects = data.load("composite_fashion_mnist", "train", image_size=64)[0]
    rng = np.random.default_rng(seed)
    scenes = [composite._scene_crops(composite._texture(s), "train", 2000, (64, 64), rng) for s in composite.SCENES]
    return np.concatenate([objects] + scenes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default="runs/inpainter_composite")
    parser.add_argument("--export", default=None, help="directory to write the final inpainter to")
    parser.add_argument("--n-eval", type=int, default=300)
    args = parser.parse_args()

    from tfx_explain import data, inpainting
    from tfx_explain.perturbation.fillers import compare_fillers

    start = time.time()
    inpainter = inpainting.train(training_images(), steps=args.steps, out_dir=args.out, preset="cpu_small",
                                 verbose=2)
    images = data.load("composite_fashion_mnist", "test", image_size=64)[0][: args.n_eval]
    masks = inpainting.random_box_masks(len(images), (64, 64), seed=0)
    quality = compare_fillers(images, masks, (inpainter, "gray", "blur"))
    inpainter.metadata.update(data=DATA, device=f"CPU, {os.cpu_count()} cores", steps=args.steps,
                              quality={"n": len(images), "holes": "random_box_masks(seed=0)", **quality},
                              seconds_this_session=round(time.time() - start, 1))
    if args.export:
        inpainter.save(args.export)
    print(quality)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
