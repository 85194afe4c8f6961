"""Peak RSS of IG on ResNet50 at 224x224 with batch_size=None (path points per call from the memory budget).

    PYTHONPATH=. python scripts/bench_ig_memory.py --images 2 --steps 20
Peak RSS depends on the path points per model call, not on the number of steps.
"""
import argparse
import resource

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    import tfx_explain as tx
    from tfx_explain.models import zoo

    model = zoo.build("resnet50", size=224)
    x = np.random.default_rng(0).uniform(0, 1, (args.images, 224, 224, 3)).astype("float32")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tx.explain_keras(model, x, method="integrated_gradients", steps=args.steps, original_class=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ResNet50 224x224, {args.images} images, {args.steps} steps: peak RSS {peak:.0f} MB "
          f"(before IG {before:.0f} MB)")


if __name__ == "__main__":
    main()
