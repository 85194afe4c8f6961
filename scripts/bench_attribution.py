"""Attribution throughput on mnist_cnn at 28x28, side by side with the peers installed here.

Writes JSON (default bench/attribution.json): images per second of every tfx_explain method (N=256,
one-vs-one score delta, zero baseline, IG/EG at 200 steps), the same work through shap's DeepExplainer
(deeplift/deepshap) and xplique's IntegratedGradients and Occlusion when importable, the ratios, and the
peak RSS of IG over 10,000 images (measured in a fresh process).

Speed is compared only on work whose results agree. shap's DeepExplainer is fed the logit delta with one
zero reference; our DeepLIFT and native DeepSHAP (the mean of our DeepLIFT over the references, not shap's
estimator) equal it there, on this ReLU/MaxPool/Dense model explained on logits (tests/attribution/
test_parity.py, test_model_zoo.py), so the ratios against shap use our ``score="logit"`` runs. On the default
probability score their maps differ from shap's (other softmax rule), and no ratio is reported.

    PYTHONPATH=. python scripts/bench_attribution.py --out bench/attribution.json
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats=1):
    fn()  # warm-up: tracing happens here, not in the measurement
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def classifier(cache):
    from tfx_explain.models import load_model, save_model, train_classifier

    path = Path(cache) / "mnist_cnn_digits.keras"
    if path.exists():
        return load_model(path)
    model = train_classifier("mnist_cnn", "digits", epochs=30, verbose=0).model
    save_model(model, path)
    return model


def ours(model, x, xt, yt, co, ct, steps):
    import tfx_explain as tx

    runs = {"saliency": {}, "gradient_input": {}, "integrated_gradients": {"steps": steps},
            "expected_gradients": {"steps": steps, "baseline": "train"}, "deeplift": {},
            "deepshap": {"engine": "native"}, "occlusion": {},
            # the work shap's DeepExplainer does below (logit delta, one zero reference), where the maps agree
            "deeplift_logit": {"method": "deeplift", "score": "logit"},
            "deepshap_native_logit": {"method": "deepshap", "engine": "native", "score": "logit"}}
    results = {}
    for label, options in runs.items():
        options = dict(options)
        method = options.pop("method", label)
        baseline = options.pop("baseline", "zero")
        call = lambda: tx.explain_keras(model, x, method=method, baseline=baseline, data=(xt, yt), original_class=co,
                                        target_class=ct, progress=False, **options)
        seconds = timed(call)
        results[label] = {"seconds": round(seconds, 3), "images_per_second": round(len(x) / seconds, 1)}
        print(f"tfx_explain {label}: {len(x) / seconds:.1f} img/s", flush=True)
    return results


def peers(model, x, co, ct, steps):
    import keras

    results = {}
    weights = np.zeros((len(x), 10), np.float32)
    weights[np.arange(len(x)), co] = 1
    weights[np.arange(len(x)), ct] -= 1
    try:
        import shap

        from tfx_explain.models import introspect

        logits = introspect.logits_model(model)
        by_pair = {}
        for i, key in enumerate(zip(co, ct)):
            by_pair.setdefault(key, []).append(i)

        def shap_run():  # the delta model per class pair, one zero reference, as the reference harness fed it
            for (a, b), rows in by_pair.items():
                inputs = keras.Input((28, 28, 1))
                head = keras.layers.Dense(1, use_bias=False)
                out = head(logits(inputs))
                head.set_weights([(np.eye(10)[a] - np.eye(10)[b]).reshape(10, 1).astype(np.float32)])
                shap.DeepExplainer(keras.Model(inputs, out), np.zeros((1, 28, 28, 1), np.float32)).shap_values(
                    x[rows], check_additivity=False)

        seconds = timed(shap_run)
        results["shap_deepexplainer"] = {"seconds": round(seconds, 3), "images_per_second": round(len(x) / seconds, 1),
                                         "version": shap.__version__, "note": "one explainer per class pair"}
        print(f"shap DeepExplainer: {len(x) / seconds:.1f} img/s", flush=True)
    except Exception as err:  # a peer that fails to import or run is reported, not fatal
        results["shap_deepexplainer"] = {"error": f"{type(err).__name__}: {err}"}
    try:
        import xplique
        from xplique.attributions import IntegratedGradients, Occlusion

        logits_model = __import__("tfx_explain").models.introspect.logits_model(model)
        ig = IntegratedGradients(logits_model, steps=steps, batch_size=64)
        seconds = timed(lambda: ig.explain(x, weights))
        results["xplique_integrated_gradients"] = {"seconds": round(seconds, 3),
                                                   "images_per_second": round(len(x) / seconds, 1),
                                                   "version": xplique.__version__}
        print(f"xplique IG: {len(x) / seconds:.1f} img/s", flush=True)
        occ = Occlusion(logits_model, patch_size=1, patch_stride=1, batch_size=256, occlusion_value=0.0)
        seconds = timed(lambda: occ.explain(x[:32], weights[:32]))
        results["xplique_occlusion"] = {"seconds": round(seconds, 3), "images_per_second": round(32 / seconds, 1),
                                        "images": 32, "version": xplique.__version__}
        print(f"xplique occlusion: {32 / seconds:.1f} img/s", flush=True)
    except Exception as err:
        results["xplique"] = {"error": f"{type(err).__name__}: {err}"}
    return results


def memory_probe(cache, n):
    """Peak RSS of IG (200 steps) over n images, in a fresh process so nothing else is counted."""
    code = f"""
import resource, numpy as np, tfx_explain as tx
from tfx_explain.models import load_model
m = load_model({str(Path(cache) / 'mnist_cnn_digits.keras')!r})
x, _ = tx.data.load('fashion_mnist', 'test')
x = np.resize(x, ({n}, 28, 28, 1))
e = tx.explain_keras(m, x, method='integrated_gradients', target_class=(m.predict(x, verbose=0).argmax(1) + 1) % 10,
                     progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, e.attributions.shape[0])
"""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {"images": int(out[1]), "peak_rss_mb": round(int(out[0]) / 1024, 1),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/attribution.json"))
    parser.add_argument("--cache", type=Path, default=Path("bench/cache"))
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--memory-images", type=int, default=10_000)
    args = parser.parse_args(argv)

    import tensorflow as tf

    import tfx_explain as tx
    from tfx_explain._io import write_json

    args.cache.mkdir(parents=True, exist_ok=True)
    model = classifier(args.cache)
    (xt, yt), (x, _) = tx.data.load("digits", "train"), tx.data.load("digits", "test")
    x = x[: args.n]
    co = model.predict(x, verbose=0).argmax(1)
    ct = (co + 1) % 10
    report = {"device": f"{platform.processor() or platform.machine()}, {tf.config.threading.get_intra_op_parallelism_threads() or 'all'} threads",
              "cpu_count": __import__("os").cpu_count(), "tensorflow": tf.__version__, "images": len(x),
              "steps": args.steps, "model": "mnist_cnn (digits, 28x28x1)", "target": "one-vs-one score delta",
              "tfx_explain": ours(model, x, xt, yt, co, ct, args.steps), "peers": peers(model, x, co, ct, args.steps)}
    ratios = {}
    p, t = report["peers"], report["tfx_explain"]
    if "images_per_second" in p.get("xplique_integrated_gradients", {}):
        ratios["integrated_gradients_vs_xplique"] = round(t["integrated_gradients"]["images_per_second"]
                                                          / p["xplique_integrated_gradients"]["images_per_second"], 2)
    if "images_per_second" in p.get("xplique_occlusion", {}):
        ratios["occlusion_vs_xplique"] = round(t["occlusion"]["images_per_second"]
                                               / p["xplique_occlusion"]["images_per_second"], 2)
    if "images_per_second" in p.get("shap_deepexplainer", {}):
        # same work, same maps: logit delta, one zero reference (see the module docstring)
        ratios["deeplift_logit_vs_shap"] = round(t["deeplift_logit"]["images_per_second"]
                                                 / p["shap_deepexplainer"]["images_per_second"], 2)
        ratios["deepshap_native_logit_vs_shap"] = round(t["deepshap_native_logit"]["images_per_second"]
                                                        / p["shap_deepexplainer"]["images_per_second"], 2)
    report["ratios"] = ratios
    if args.memory_images:
        report["memory"] = memory_probe(args.cache, args.memory_images)
    report["load_average"] = list(__import__("os").getloadavg())
    write_json(args.out, report)
    print(json.dumps(report["ratios"]), json.dumps(report.get("memory")))
    return report


if __name__ == "__main__":
    main()
