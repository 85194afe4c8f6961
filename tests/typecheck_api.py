"""Checked by mypy in CI ([tool.mypy] files in pyproject.toml), never run (pytest collects test_*.py only): what a
user's type checker sees of the public API.

``tfx_explain`` loads its modules on first use (``__getattr__``); without the TYPE_CHECKING imports of its
``__init__``, ``tfx_explain.explain_keras`` would read as Any and nothing below could fail. ``assert_type`` fails
on Any; a ``type: ignore`` that stops being needed fails too (warn_unused_ignores), so the misspelt options must
stay errors.
"""
from typing import assert_type

import keras
import numpy as np

import tfx_explain
from tfx_explain import Explanation, explain_keras
from tfx_explain.ganmex import Ganmex
from tfx_explain.metrics import MetricResult


def _calls(model: keras.Model, x: np.ndarray) -> None:
    e = explain_keras(model, x, method="integrated_gradients", baseline="zero", score="logit")
    assert_type(e, Explanation)
    assert_type(tfx_explain.explain_keras(model, x, target_class=3), Explanation)
    assert_type(tfx_explain.metrics.deletion(model, x, e.attributions), MetricResult)
    assert_type(tfx_explain.ganmex.load("composite"), Ganmex)
    assert_type(e.one_vs_one, bool)


def _misspelt_options(model: keras.Model, x: np.ndarray) -> None:
    explain_keras(model, x, score="logits")  # type: ignore[arg-type]  # "logit"
    explain_keras(model, x, precision="bfloat16")  # type: ignore[arg-type]  # "mixed_bfloat16"
    tfx_explain.metrics.deletion(model, x, x, granularity="pixels")  # type: ignore[arg-type]  # "pixel"
    tfx_explain.plots.compare([], sign="positives")  # type: ignore[arg-type]  # "positive"
