"""The prepared GPU check of issue 18 §3: one run, one JSON, under 8 minutes on one GPU.

Sections (each times itself; one that fails is reported with its error and the run goes on):

- ``device``: TensorFlow's build, the visible GPUs (name, compute capability), ``nvidia-smi`` when present.
- ``ig``: IG over 10,000 28x28 images at 200 steps on mnist_cnn (the GANMEX paper's Table 4: 43.5 s on a
  V100; target <= 4 s on an A100/H100-class GPU), at the default chunking and at larger ones.
- ``precision_speed``: IG in float32 (TF32 on, as TensorFlow runs float32 on Ampere and later, and TF32 off),
  ``mixed_float16``, ``mixed_bfloat16`` and XLA (``jit_compile``).
- ``mirrored``: IG and GANMEX training under ``MirroredStrategy`` over every visible GPU (``--smoke``: two
  logical CPUs), against the single-device result.
- ``ganmex``: the ``reference`` preset's training steps/s (from two runs of different length, so that tracing
  cancels) and the time to generate 10,000 baselines.
- ``tolerances``: float32 against ``mixed_float16`` / ``mixed_bfloat16`` / XLA with the tolerances the tests
  assert (:data:`tfx_explain.precision.ATTRIBUTION_TOLERANCES`, ``tests/scale/test_precision.py``), with TF32
  off and op determinism on (TensorFlow's determinism cannot be switched off again, so this runs last).

``--smoke`` runs every section at tiny sizes on the CPU (tests/test_gpu_check.py runs it so that it does not rot).

    scripts/gpu_check.sh                      # writes $OUT/gpu_check.json, or bench/gpu_check.json
    scripts/gpu_check.sh --smoke --out /tmp/gpu_check.json
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

# Sizes of the full run (one GPU) and of the smoke run (a loaded 2-core CPU, in the test suite).
SIZES = {  # budget_s: no new section (but the tolerances) starts after this; the tolerances need about a minute
    "full": dict(ig_images=10_000, ig_steps=200, ig_batch_sizes=(None, 8192, 32768), repeats=3,
                 speed_images=2000, mirrored_images=10_000, ganmex_steps=(20, 220), ganmex_overrides={},
                 baselines=10_000, classifier_epochs=2, image_size=28, budget_s=360),
    "smoke": dict(ig_images=32, ig_steps=8, ig_batch_sizes=(None, 64), repeats=1, speed_images=16,
                  mirrored_images=16, ganmex_steps=(2,), baselines=32, classifier_epochs=1, image_size=16,
                  ganmex_overrides=dict(width=4, res_blocks=1, d_width=4, d_max_layers=2), budget_s=120),
}
PAPER_TABLE4_V100_S = 43.5  # IG over 10k 28x28 images at 200 steps, GANMEX paper Table 4
TARGET_S = 4.0  # issue 18 §3, on an A100/H100-class GPU


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (the test suite's run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON path (default $OUT/gpu_check.json when OUT is set, else bench/gpu_check.json)")
    args = parser.parse_args(argv)
    out = args.out or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT")
                       else Path("bench/gpu_check.json"))
    mode = "smoke" if args.smoke else "full"
    sizes = SIZES[mode]
    if args.smoke:  # before TensorFlow starts: two logical CPUs for MirroredStrategy, and no GPU even if one exists
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        from tfx_explain.distribute import configure_logical_cpus

        configure_logical_cpus(2)
    import tensorflow as tf

    from tfx_explain._io import write_json

    start = time.perf_counter()
    report = {"mode": mode, "command": "scripts/gpu_check.sh " + " ".join(argv if argv is not None else sys.argv[1:]),
              "sizes": {k: v for k, v in sizes.items() if k != "ganmex_overrides"}, "sections": {}}
    ctx = Context(tf, sizes, args.smoke)
    sections = [("device", device), ("ig", ig_throughput), ("precision_speed", precision_speed),
                ("mirrored", mirrored), ("ganmex", ganmex_speed), ("tolerances", tolerances)]
    for name, fn in sections:
        t0 = time.perf_counter()
        if name != "tolerances" and t0 - start > sizes["budget_s"]:
            report["sections"][name] = {"skipped": f"over the {sizes['budget_s']} s budget"}
            continue
        try:
            result = fn(ctx)
        except Exception as err:  # reported, not fatal: the other sections still run
            result = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(limit=6)}
        result["section_seconds"] = round(time.perf_counter() - t0, 2)
        report["sections"][name] = result
        print(f"{name}: {_summary(result)}", flush=True)
        write_json(out, report)  # after every section: a run cut short keeps what it measured
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["ok"] = all("error" not in s for s in report["sections"].values()) and report["sections"].get(
        "tolerances", {}).get("all_passed", False)
    write_json(out, report)
    print(f"wrote {out} in {report['seconds']} s, ok={report['ok']}", flush=True)
    return 0 if report["ok"] else 1


def _summary(result):
    keys = ("error", "images_per_second", "all_passed", "steps_per_second", "gpus")
    return {k: result[k] for k in keys if k in result} or "done"


class Context:
    """What the sections share: TensorFlow, the sizes, and the models and data, built once on first use."""

    def __init__(self, tf, sizes, smoke):
        self.tf, self.sizes, self.smoke = tf, sizes, smoke
        self._cache = {}

    def once(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def classifier(self):
        """mnist_cnn trained briefly on digits at the run's image size (28 px; 8 px in the smoke run)."""
        def build():
            from tfx_explain.models import train_classifier

            return train_classifier("mnist_cnn", self.train_data(), epochs=self.sizes["classifier_epochs"],
                                    batch_size=128, test_data=None, verbose=0).model
        return self.once("classifier", build)

    def train_data(self):
        import tfx_explain as tx

        return self.once("train", lambda: tx.data.load("digits", "train", image_size=self.sizes["image_size"]))

    def images(self, n):
        """n test digits (repeated when n exceeds the split) with their predicted and contrast classes."""
        import tfx_explain as tx

        x, _ = self.once("test", lambda: tx.data.load("digits", "test", image_size=self.sizes["image_size"]))
        x = np.resize(x, (n,) + x.shape[1:]).astype(np.float32)
        co = self.classifier().predict(x, verbose=0, batch_size=1024).argmax(1)
        return x, co, (co + 1) % 10

    def strategy(self):
        from tfx_explain.distribute import mirrored

        devices = None if not self.smoke else [d.name for d in self.tf.config.list_logical_devices("CPU")[:2]]
        return self.once("strategy", lambda: mirrored(devices))


def device(ctx):
    tf = ctx.tf
    build = tf.sysconfig.get_build_info()
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append({"name": gpu.name, "device_name": details.get("device_name"),
                     "compute_capability": details.get("compute_capability")})
    result = {"tensorflow": tf.__version__, "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version"),
              "gpus": gpus, "cpu": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
              "load_average": [round(v, 2) for v in os.getloadavg()],
              "tf32_enabled": tf.config.experimental.tensor_float_32_execution_enabled()}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        if smi.returncode == 0:
            result["nvidia_smi"] = smi.stdout.strip().splitlines()
    result["device"] = gpus[0]["device_name"] if gpus else "CPU (no GPU visible)"
    return result


def _timed(fn, repeats):
    """(median seconds of ``repeats`` calls after one warm-up call that traces, last result)."""
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _ig(ctx, x, co, ct, model=None, **options):
    import tfx_explain as tx

    return tx.explain_keras(model or ctx.classifier(), x, method="integrated_gradients", steps=ctx.sizes["ig_steps"],
                            baseline="zero", original_class=co, target_class=ct, progress=False, **options)


def ig_throughput(ctx):
    """IG over ``ig_images`` images at ``ig_steps`` steps, per chunking (``batch_size``: path points per call), and
    with the other route for the first convolution's input gradient (:mod:`tfx_explain.attribution.input_gradient`)."""
    import keras

    from tfx_explain.attribution import input_gradient

    n = ctx.sizes["ig_images"]
    x, co, ct = ctx.images(n)
    runs, reference = {}, None
    for batch_size in ctx.sizes["ig_batch_sizes"]:
        seconds, e = _timed(lambda: _ig(ctx, x, co, ct, batch_size=batch_size), ctx.sizes["repeats"])
        if reference is None:
            reference = e.attributions
        runs[str(batch_size)] = {"seconds": round(seconds, 3), "images_per_second": round(n / seconds, 1),
                                 "max_abs_difference_to_default": float(np.abs(e.attributions - reference).max())}
    # the other route for few-channel Conv2D input gradients than the default's ("auto": overlap-add on CPUs only)
    input_gradient.ENABLED = bool(ctx.tf.config.list_logical_devices("GPU"))
    twin = keras.models.clone_model(ctx.classifier())  # another model object: IG is traced afresh for it
    twin.set_weights(ctx.classifier().get_weights())
    try:
        seconds, e = _timed(lambda: _ig(ctx, x, co, ct, model=twin, batch_size=ctx.sizes["ig_batch_sizes"][0]),
                            ctx.sizes["repeats"])
    finally:
        route = input_gradient.ENABLED
        input_gradient.ENABLED = "auto"
    other = {"overlap_add_conv_input_gradient": route, "seconds": round(seconds, 3),
             "images_per_second": round(n / seconds, 1),
             "max_abs_difference_to_default": float(np.abs(e.attributions - reference).max())}
    best = min(runs.values(), key=lambda r: r["seconds"])
    return {"images": n, "steps": ctx.sizes["ig_steps"], "model": "mnist_cnn", "by_batch_size": runs,
            "other_conv_gradient_route": other,
            "seconds": best["seconds"], "images_per_second": best["images_per_second"],
            "paper_table4_v100_seconds": PAPER_TABLE4_V100_S, "target_seconds": TARGET_S,
            "speedup_vs_paper": round(PAPER_TABLE4_V100_S * n / 10_000 / best["seconds"], 2)}


def precision_speed(ctx):
    """IG images/s per switch; float32 with TF32 on (TensorFlow's default on Ampere+) and off."""
    tf = ctx.tf
    n = ctx.sizes["speed_images"]
    x, co, ct = ctx.images(n)
    switches = {"float32_tf32": {}, "float32_no_tf32": {}, "mixed_float16": {"precision": "mixed_float16"},
                "mixed_bfloat16": {"precision": "mixed_bfloat16"}, "xla": {"jit_compile": True}}
    runs = {}
    for name, options in switches.items():
        tf.config.experimental.enable_tensor_float_32_execution(name != "float32_no_tf32")
        try:
            seconds, _ = _timed(lambda: _ig(ctx, x, co, ct, **options), ctx.sizes["repeats"])
            runs[name] = {"seconds": round(seconds, 3), "images_per_second": round(n / seconds, 1)}
        except Exception as err:  # e.g. float16 on a CPU without the kernels: reported per switch
            runs[name] = {"error": f"{type(err).__name__}: {err}"}
    tf.config.experimental.enable_tensor_float_32_execution(True)
    return {"images": n, "steps": ctx.sizes["ig_steps"], "method": "integrated_gradients", "runs": runs}


def mirrored(ctx):
    """IG and GANMEX training under MirroredStrategy; IG's maps against the single-device run."""
    import tfx_explain as tx

    strategy = ctx.strategy()
    n = ctx.sizes["mirrored_images"]
    x, co, ct = ctx.images(n)
    single = _ig(ctx, x, co, ct).attributions
    seconds, e = _timed(lambda: _ig(ctx, x, co, ct, strategy=strategy), ctx.sizes["repeats"])
    error = float(np.linalg.norm(e.attributions - single) / np.linalg.norm(single))
    result = {"replicas": strategy.num_replicas_in_sync, "devices": list(strategy.extended.worker_devices),
              "ig": {"images": n, "seconds": round(seconds, 3), "images_per_second": round(n / seconds, 1),
                     "relative_l2_to_single_device": error, "matches_single_device": error <= 1e-5}}
    if ctx.smoke:  # the training path under a strategy is tested in tests/scale; the smoke run keeps to its budget
        result["ganmex"] = "not run with --smoke"
        return result
    steps = ctx.sizes["ganmex_steps"]
    runs = [tx.ganmex.train(ctx.classifier(), ctx.train_data(), steps=s, preset="reference", strategy=strategy,
                            verbose=0, checkpoint_every=0, sample_every=0).metadata["seconds"] for s in steps]
    result["ganmex"] = {"preset": "reference", "runs": [{"steps": s, "seconds_with_tracing": t}
                                                        for s, t in zip(steps, runs)],
                        "steps_per_second": round((steps[-1] - steps[0]) / max(runs[-1] - runs[0], 1e-9), 2)}
    return result


def ganmex_speed(ctx):
    """Steps/s of the reference preset (from two run lengths: tracing cancels) and the time to 10k baselines."""
    import tfx_explain as tx

    runs = []
    for steps in ctx.sizes["ganmex_steps"]:
        gen = tx.ganmex.train(ctx.classifier(), ctx.train_data(), steps=steps, preset="reference", verbose=0,
                              checkpoint_every=0, sample_every=0, **ctx.sizes["ganmex_overrides"])
        runs.append((steps, gen.metadata["seconds"]))
    if len(runs) > 1:
        (s1, t1), (s2, t2) = runs[0], runs[-1]
        rate = (s2 - s1) / max(t2 - t1, 1e-9)
    else:
        rate = runs[0][0] / runs[0][1]  # smoke: one short run, tracing included
    n = ctx.sizes["baselines"]
    x, co, ct = ctx.images(n)
    seconds, baselines = _timed(lambda: gen.generate(x, ct), 1)
    parameters = int(sum(np.prod(w.shape) for w in gen.generator.weights))
    return {"preset": "reference", "overrides": ctx.sizes["ganmex_overrides"], "generator_parameters": parameters,
            "runs": [{"steps": s, "seconds_with_tracing": t} for s, t in runs], "steps_per_second": round(rate, 2),
            "batch": 6 * 10, "baselines": {"images": n, "seconds": round(seconds, 3),
                                           "finite": bool(np.isfinite(baselines).all())}}


@contextlib.contextmanager
def exact_float32(tf):
    """TF32 off and op determinism on (cuDNN picks non-deterministic kernels otherwise); restored after."""
    from tensorflow.python.framework import config as tf_config

    tf.config.experimental.enable_tensor_float_32_execution(False)
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(True)
        getattr(tf_config, "disable_op_determinism", lambda: None)()


def tolerances(ctx):
    """The test suite's precision checks (tests/scale/test_precision.py), on its tiny 8x8 digits classifier."""
    import keras

    import tfx_explain as tx
    from tfx_explain.precision import ATTRIBUTION_TOLERANCES, SCORE_TOLERANCES

    keras.utils.set_random_seed(0)
    xt, yt = tx.data.load("digits", "train", image_size=8)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Softmax()])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(xt[:300], yt[:300], epochs=2, verbose=0)
    x = tx.data.load("digits", "test", image_size=8)[0][:16]
    co = model.predict(x, verbose=0).argmax(1)
    checks = []
    with exact_float32(ctx.tf):
        for method, options, by_switch in ATTRIBUTION_TOLERANCES:
            kwargs = dict(method=method, original_class=co, target_class=(co + 3) % 10, progress=False, **options)
            reference = tx.explain_keras(model, x, **kwargs)
            for switch, tolerance in by_switch.items():
                flags = {"jit_compile": True} if switch == "xla" else {"precision": switch}
                try:
                    e = tx.explain_keras(model, x, **kwargs, **flags)
                except Exception as err:
                    checks.append({"method": method, "switch": switch, "passed": False,
                                   "error": f"{type(err).__name__}: {err}"})
                    continue
                error = float(np.linalg.norm(e.attributions - reference.attributions)
                              / np.linalg.norm(reference.attributions))
                score_error = float(np.abs(e.input_scores - reference.input_scores).max())
                checks.append({"method": method, "switch": switch, "relative_l2": error, "tolerance": tolerance,
                               "score_max_abs": score_error, "score_tolerance": SCORE_TOLERANCES[switch],
                               "passed": bool(error <= tolerance and score_error <= SCORE_TOLERANCES[switch])})
    return {"tf32": False, "op_determinism": True, "checks": checks,
            "all_passed": bool(checks) and all(c["passed"] for c in checks)}


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
