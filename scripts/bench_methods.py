"""Issue 17's speed table in one run: Grad-CAM, SmoothGrad, RISE and KernelSHAP against their peers (xplique,
shap) at equal work and against their limits (the bare model evaluations or gradient passes each cannot
avoid), on cifar_cnn at 64 px and ResNet50 at 224 px. Writes ``bench/methods.json`` (device, load average,
and each part's timings and ratios); the parts are scripts/bench_methods_{gradcam,smoothgrad,perturbation}.py,
each runnable alone.

    PYTHONPATH=. python scripts/bench_methods.py                                   # both models
    PYTHONPATH=. python scripts/bench_methods.py --models cifar_cnn --repeats 3    # one model
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from pathlib import Path

# model -> (size, images per part): ResNet50 on a 2-core CPU takes ~0.25 s per gradient pass, so few images
SIZES = {"cifar_cnn": (64, {"gradcam": 64, "smoothgrad": 16, "perturbation": 2}),
         "resnet50": (224, {"gradcam": 8, "smoothgrad": 1, "perturbation": 1})}


def _part(name):
    path = Path(__file__).with_name(f"bench_methods_{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_methods_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--parts", nargs="+", default=["gradcam", "smoothgrad", "perturbation"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench/methods.json")
    args = parser.parse_args(argv)

    from tfx_explain._io import write_json

    report = {"device": f"{platform.machine()} CPU, {os.cpu_count()} cores", "command": "scripts/bench_methods.py "
              + " ".join(argv if argv is not None else os.sys.argv[1:]), "results": {}}
    for model in args.models:
        size, images = SIZES[model]
        for part in args.parts:
            start, load = time.time(), os.getloadavg()[0]
            module = _part(part)
            kwargs = {"repeats": args.repeats} if part != "perturbation" else {"repeats": max(1, args.repeats - 2)}
            result = module.run(model, size, images[part], **kwargs)
            result["load_average_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            result["seconds"] = round(time.time() - start, 1)
            report["results"][f"{part} {model} {size}px"] = result
            write_json(args.out, report)  # after every part: a long run keeps what it measured
            print(part, model, result.get("ratios", ""), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
