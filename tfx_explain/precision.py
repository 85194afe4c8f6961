"""Mixed precision and XLA: how a model computes, never what it computes.

``precision`` is one of :data:`PRECISIONS`:

- ``"float32"``: the default; results are the reference.
- ``"mixed_float16"``: layers compute in float16 with float32 variables (GPUs with tensor cores);
  training scales the loss against float16 underflow (Keras ``LossScaleOptimizer``).
- ``"mixed_bfloat16"``: layers compute in bfloat16 (recent GPUs, TPUs, CPUs with AVX512-BF16); no loss
  scaling is needed, as bfloat16 has float32's exponent range.

The model's last layer (its softmax, or whatever produces the class scores) stays in float32, as the
Keras mixed-precision guide advises, so scores and their gradients leave the model in float32.
``jit_compile=True`` compiles the traced attribution and training steps with XLA.

Attribution (``explain_keras(..., precision=, jit_compile=)``) and GANMEX training
(``ganmex.train(..., precision=, jit_compile=)``) match float32 within the tolerances that
``tests/scale/test_precision.py`` asserts and docs/guide/scale.md states.
"""
from __future__ import annotations

import contextlib
from typing import Any

from .errors import InputError, ModelError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")

# The tolerances against float32 that tests/scale/test_precision.py asserts and scripts/gpu_check.py checks on a
# GPU: (method, options, {switch: bound on the relative L2 error ||A - A_32|| / ||A_32|| of the attributions}),
# and {switch: bound on the max abs error of the explained scores}. "xla" is jit_compile=True in float32.
ATTRIBUTION_TOLERANCES: tuple[tuple[str, dict[str, Any], dict[str, float]], ...] = (
    ("integrated_gradients", {"steps": 16}, {"xla": 1e-5, "mixed_float16": 5e-3, "mixed_bfloat16": 2e-2}),
    ("deeplift", {}, {"xla": 1e-5, "mixed_float16": 5e-3, "mixed_bfloat16": 2e-2}),
    ("saliency", {}, {"xla": 1e-5, "mixed_float16": 2e-2, "mixed_bfloat16": 5e-2}),
)
SCORE_TOLERANCES = {"xla": 1e-6, "mixed_float16": 1e-3, "mixed_bfloat16": 2e-3}


def check_precision(precision, name="precision"):
    if precision not in PRECISIONS:
        raise InputError(f"{name}: expected one of {PRECISIONS}, got {precision!r}")
    return precision


def _computes_below_float32(model):
    """Whether any layer computes in 16 bits (a model built under a mixed-precision policy)."""
    stack = [model]
    while stack:
        layer = stack.pop()
        policy = getattr(layer, "dtype_policy", None)
        if getattr(policy, "compute_dtype", "float32") in ("float16", "bfloat16"):
            return True
        stack.extend(getattr(layer, "layers", None) or [])
    return False


def compute_model(model, precision):
    """A model that computes in ``precision``, with the same float32 weights; the user's model is untouched.

    For ``"float32"`` this is ``model`` itself, unless the model was built under a mixed-precision policy:
    then a float32 clone is explained (attributions and their exactness are float32 properties).

    The copy is a clone of a Sequential or functional model (Keras 3 or tf_keras) whose layers get the
    mixed dtype policy, all but the last, which keeps float32. The user's model is left untouched.
    """
    check_precision(precision)
    if precision == "float32" and not _computes_below_float32(model):
        return model
    from .models import introspect

    km = introspect.keras_module(model)
    last = model.layers[-1] if getattr(model, "layers", None) else None

    def clone(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer is last or precision == "float32" else precision
        return layer.__class__.from_config(config)

    kwargs = {"recursive": True} if km.__name__ == "keras" else {}
    try:
        copy = km.models.clone_model(model, clone_function=clone, **kwargs)
    except (ValueError, TypeError, AttributeError, NotImplementedError) as err:
        raise ModelError(f"precision: {precision!r} rebuilds the model with a {precision} policy, which needs a "
                         f"Sequential or functional model; cloning this {type(model).__name__} failed ({err}). "
                         "Use precision='float32'") from err
    copy.set_weights(model.get_weights())
    return copy


@contextlib.contextmanager
def dtype_policy(precision):
    """Build Keras models inside this block to compute in ``precision`` (variables stay float32)."""
    import keras

    check_precision(precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def training_optimizer(optimizer, precision):
    """Wrap ``optimizer`` in Keras' ``LossScaleOptimizer`` for float16 (dynamic loss scale), else return it.

    Train steps call ``optimizer.scale_loss(loss)`` before taking gradients; ``apply_gradients`` unscales
    them and skips a step whose gradients overflowed.
    """
    import keras

    check_precision(precision)
    if precision == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
