import json

import numpy as np
import pytest

from tfx_explain import explain_keras, metrics
from tfx_explain.errors import InputError

CO = np.array([0, 1, 2, 0, 1, 2])
CT = np.array([1, 2, 0, 2, 0, 1])


def test_expand_targets():
    x = np.arange(4)[:, None, None, None] * np.ones((4, 2, 2, 1))
    co = np.array([0, 1, 2, 2])
    xr, c0, ct, index = metrics.expand_targets(x, co, 3, "all")
    assert len(xr) == 8 and np.all(c0 != ct)
    assert sorted(ct[c0 == 0].tolist()) == [1, 2] and np.all(xr[:, 0, 0, 0] == index)
    _, c1, t1, _ = metrics.expand_targets(x, co, 3, "random", seed=3)
    assert np.all(c1 != t1) and np.all((t1 >= 0) & (t1 < 3))
    with pytest.raises(InputError, match="targets"):
        metrics.expand_targets(x, co, 3, "some")


def test_grid_cells_equal_direct_metric_calls_and_skip_incompatible_pairs(linear, tmp_path):
    model, w, x = linear
    rng = np.random.default_rng(0)
    unit = (0.0, 1.0)  # the grid takes it from the training data: images in [0, 1)
    train = (rng.random((30, 4, 4, 1)).astype(np.float32), np.arange(30) % 3)
    grid = metrics.evaluate_grid(model, x, CO, CT, methods=["gradient_input", "integrated_gradients",
                                                            "expected_gradients"],
                                 baselines={"Zero": "zero", "Half": np.full((4, 4, 1), 0.5), "EG": "train"},
                                 metrics=["aopc_100", "sparsity", "faithfulness", "monotonicity", "deletion"],
                                 data=train, score="logit", metric_options={"aopc_100": {"L": 5}},
                                 method_options={"integrated_gradients": {"steps": 16},
                                                 "expected_gradients": {"steps": 8}}, keep_explanations=True)
    # gradient_input takes any baseline (it ignores it); IG only point baselines; EG only the distribution
    assert grid.columns() == [("gradient_input", "Zero"), ("gradient_input", "Half"), ("gradient_input", "EG"),
                              ("integrated_gradients", "Zero"), ("integrated_gradients", "Half"),
                              ("expected_gradients", "EG")]
    exp = explain_keras(model, x, method="integrated_gradients", baseline=np.full((4, 4, 1), 0.5), original_class=CO,
                        target_class=CT, score="logit", steps=16)
    np.testing.assert_allclose(grid.explanations[("integrated_gradients", "Half")].attributions, exp.attributions)
    direct = {"aopc_100": metrics.aopc(model, x, exp.attributions, CO, CT, L=5, score="logit", input_range=unit).values,
              "sparsity": metrics.gini(exp.attributions),
              "faithfulness": metrics.faithfulness(model, x, exp.attributions, CO, CT, score="logit",
                                                    input_range=unit).values,
              "monotonicity": metrics.monotonicity(model, x, exp.attributions, CO, CT, score="logit",
                                                    input_range=unit).values,
              "deletion": metrics.deletion(model, x, exp.attributions, CO, CT, score="logit").values}
    for name, values in direct.items():
        np.testing.assert_allclose(grid.results[("integrated_gradients", "Half", name)].values, values, atol=1e-6)
        row = next(r for r in grid.rows if r["method"] == "integrated_gradients" and r["baseline"] == "Half"
                   and r["metric"] == name)
        assert np.isclose(row["mean"], np.nanmean(values)) and row["n"] == 6
        assert np.isclose(row["sem"], np.std(values, ddof=1) / np.sqrt(6))
    md, csv_path, js = grid.save(tmp_path, "t")
    text = md.read_text()
    assert "| aopc_100 ↑ |" in text and "IG Half" in text and "| deletion ↓ |" in text
    assert csv_path.read_text().splitlines()[0].startswith("method,baseline,metric,mean,std,sem")
    loaded = json.loads(js.read_text())
    assert len(loaded["rows"]) == 6 * 5 and len(loaded["values"]["integrated_gradients/Half/sparsity"]) == 6


def test_grid_rejects_unknown_metrics_and_missing_ground_truth(linear):
    model, w, x = linear
    with pytest.raises(InputError, match="metrics"):
        metrics.evaluate_grid(model, x, CO, CT, metrics=["accuracy"])
    with pytest.raises(InputError, match="masks"):
        metrics.evaluate_grid(model, x, CO, CT, metrics=["inverse_localization"])
    with pytest.raises(InputError, match="no compatible"):
        metrics.evaluate_grid(model, x, CO, CT, methods=["expected_gradients"], baselines=["zero"])
