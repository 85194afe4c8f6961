"""The "Model support" numbers (docs/model-support.md): DeepLIFT and native DeepSHAP summation-to-delta on the model zoo.

For each keras.applications architecture of :mod:`tfx_explain.models.zoo` (the setup of
``tests/attribution/test_model_zoo.py``: 2 images, random non-zero baselines, logits, one-vs-one 0 vs 1,
DeepSHAP with 2 references per image), writes max |sum(A) - dS| / max |dS| and the ops without a rule.
``--float64`` repeats DeepLIFT with the model built in float64, which separates float32 rounding from a rule's
error.

    PYTHONPATH=. python scripts/model_zoo_table.py --out bench/model_zoo.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def measure(name, float64=False):
    import numpy as np

    if float64:
        import keras

        keras.config.set_floatx("float64")
    import tfx_explain as tx
    from tfx_explain.models import zoo

    model = zoo.build(name)
    shape = model.input_shape[1:]
    rng = np.random.default_rng(1)
    x, b = rng.uniform(0, 1, (2,) + shape).astype("float32"), rng.uniform(0, 1, (2,) + shape).astype("float32")
    refs = np.concatenate([b, np.random.default_rng(2).uniform(0, 1, (2,) + shape).astype("float32")])
    out = {}
    runs = {"deeplift": dict(method="deeplift", baseline=b)}
    if not float64:
        runs["deepshap_native"] = dict(method="deepshap", engine="native", baseline="train",
                                       data=(refs, np.ones(4, np.int64)), background_size=2)
    for label, kwargs in runs.items():
        e = tx.explain_keras(model, x, score="logit", original_class=0, target_class=1, **kwargs)
        delta = e.input_scores - e.baseline_scores
        out[label] = {"relative_residual": float(np.abs(e.convergence_delta).max() / np.abs(delta).max()),
                      "max_abs_residual": float(np.abs(e.convergence_delta).max()),
                      "max_abs_delta": float(np.abs(delta).max()),
                      "uncovered_ops": list(e.options.get("uncovered_ops", ()))}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--float64", nargs="*", default=["convnexttiny"], help="architectures to repeat in float64")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one measurement per process
    parser.add_argument("--f64", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.f64)))
        return None
    from tfx_explain._io import write_json
    from tfx_explain.models import zoo

    table = {"command": "PYTHONPATH=. python scripts/model_zoo_table.py " + " ".join(argv or sys.argv[1:]),
             "device": f"CPU ({os.cpu_count()} cores)", "models": {}}
    for name in zoo.ARCHITECTURES:  # one process each: floatx and traced functions do not leak between models
        jobs = [(name, False)] + ([(name, True)] if name in args.float64 else [])
        for arch, f64 in jobs:
            cmd = [sys.executable, __file__, "--one", arch] + (["--f64"] if f64 else [])
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            table["models"].setdefault(arch, {})["float64" if f64 else "float32"] = json.loads(line)
            print(arch, "float64" if f64 else "float32", line, flush=True)
    if args.out:
        write_json(args.out, table)
    return table


if __name__ == "__main__":
    main()
