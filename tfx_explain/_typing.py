"""Type aliases shared by the public API's annotations.

The modules import these names under ``typing.TYPE_CHECKING`` only (their annotations are strings, PEP 563), so
nothing here starts TensorFlow. The aliases name TensorFlow and Keras types as forward references: mypy reads
them (as Any, since those libraries ship no type information; see ``[tool.mypy]`` in pyproject.toml) and the API
reference shows them, but no import happens at run time.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    import tf_keras

    from .input_range import InputRange

# A classifier or generator: Keras 3, or Keras 2 through tf_keras (both are accepted wherever a model is).
Model = Union["keras.Model", "tf_keras.Model"]
# Images (N, H, W, C) or one (H, W, C): a NumPy array, nested sequences np.asarray reads, or an eager tensor.
Images = Union[NDArray[Any], Sequence[Any], "tf.Tensor"]
# Classes: an int for all samples, one per sample (N,), or one-hot rows (N, K).
Classes = Union[int, ArrayLike]
# A float array computed by the library (attributions, scores, baselines).
FloatArray = NDArray[np.floating[Any]]
IntArray = NDArray[np.integer[Any]]
# Images as the attribution methods receive them from explain_keras: checked float32 (N, H, W, C).
Float32 = NDArray[np.float32]
# A file or directory path.
PathLike = Union[str, "os.PathLike[str]"]
# A tf.distribute strategy, its name, or a list of device names (tfx_explain.distribute.get_strategy).
Strategy = Union["tf.distribute.Strategy", str, Sequence[str]]


class DistributeStrategy(Protocol):
    """What get_strategy returns: a tf.distribute.Strategy, named here by the members the package uses. (mypy
    reads TensorFlow as Any; a function that replaces its ``strategy`` argument with get_strategy's result
    would otherwise keep the argument's ``str``.)"""

    num_replicas_in_sync: int
    extended: Any
    cluster_resolver: Any

    def scope(self) -> Any: ...
    def run(self, fn: Any, args: Any = ..., kwargs: Any = ..., options: Any = ...) -> Any: ...
    def gather(self, value: Any, axis: int) -> Any: ...
    def experimental_local_results(self, value: Any) -> Any: ...
    def experimental_distribute_values_from_function(self, value_fn: Any) -> Any: ...
# Show a progress bar: True, False, or "auto" (on a terminal).
Progress = Union[bool, Literal["auto"]]
# (low, high) of a model's input: scalars or per-channel arrays, or an InputRange.
Range = Union["InputRange", tuple[ArrayLike, ArrayLike]]
Score = Literal["probability", "logit"]
Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]
Head = Literal["auto", "softmax", "logits", "sigmoid"]
Granularity = Literal["pixel", "element"]
# Which attributions a plot shows, and how its colours scale (tfx_explain.plots).
Sign = Literal["all", "positive", "negative", "absolute"]
ColorScale = Literal["per_map", "row", "shared"]
# Training data: a dataset name (tfx_explain.data.load) or an (images, labels) pair.
Data = Union[str, tuple[ArrayLike, ArrayLike]]
# What removed pixels become (tfx_explain.perturbation.fillers): a filler name, or a callable
# (images, masks) -> filled such as an Inpainter or a Filler.
FillerSpec = Union[str, Callable[[Any, Any], Any]]


class Generator(Protocol):
    """What explain_keras takes as a baseline generator: anything with ``generate(x, target_class)``, such as
    :class:`tfx_explain.ganmex.Ganmex` (a Protocol, so that these aliases need not import
    tfx_explain.ganmex, which annotates with them)."""

    def generate(self, x: Any, target_class: Any) -> Any: ...


# explain_keras' baseline: a name, an array, a callable (x, target_class) -> baselines, a GANMEX generator or
# the path of a saved one.
Baseline = Union[str, ArrayLike, Callable[[Any, Any], Any], Generator, "os.PathLike[str]"]
