"""Layers of the counterfactual explainers (ExplainGAN, Progressive Exaggeration), registered so that the
saved explainers load with ``safe_mode=True``.

- :class:`ConditionalBatchNorm`: batch norm whose scale and offset are looked up by a bin index
  (SNGAN-projection / official PE ``conditional_batchnorm``, counterfactual_gans.md §2.4).
- :class:`SNConv2D`, :class:`SNDense`: spectral normalisation computed *in the forward pass*
  (W / sigma(W), one power iteration per training call), as the official PE ``ops.py`` (§2.5). Keras'
  own ``SpectralNormalization`` instead overwrites the kernel in place, so no gradient flows through
  sigma (§2.12).
- :class:`OrdinalProjection`: the ordinal conditional ratio r(c|x) of PE Eq. 4.
- :class:`GlobalSumPooling`, :class:`ClassSelect`, :class:`Rescale`: small glue layers.
"""
from __future__ import annotations

import dataclasses

import keras
from keras import ops

from .training import AdversarialModel, adam

PACKAGE = "tfx_explain"
_register = keras.saving.register_keras_serializable(package=PACKAGE)


@_register
class ConditionalBatchNorm(keras.layers.Layer):
    """y = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c]; inputs ``[x, c]`` with c (N,) ints in [0, bins),
    or ``x`` alone for the unconditional form (``bins=1``).

    Official PE: gamma (init 1) and beta (init 0) tables of shape (bins, C), moments over (N, H, W),
    epsilon 1e-3, and *batch statistics always*, even at test time (an EMA exists but is never used,
    §2.4). ``batch_stats_at_inference=True`` reproduces that; the default keeps moving averages
    (momentum ``momentum``) and uses them at inference, so an explanation does not depend on the other
    images of its batch. With ``bins=1`` this is plain batch normalisation.
    """

    def __init__(self, bins, momentum=0.9, epsilon=1e-3, batch_stats_at_inference=False, **kwargs):
        super().__init__(**kwargs)
        self.bins = int(bins)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.batch_stats_at_inference = bool(batch_stats_at_inference)

    def build(self, input_shape):
        channels = (input_shape[0] if isinstance(input_shape, (list, tuple)) and
                    isinstance(input_shape[0], (list, tuple)) else input_shape)[-1]
        self.gamma = self.add_weight(name="gamma", shape=(self.bins, channels), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.bins, channels), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(channels,), initializer="zeros",
                                           trainable=False, aggregation="mean")
        self.moving_variance = self.add_weight(name="moving_variance", shape=(channels,), initializer="ones",
                                               trainable=False, aggregation="mean")

    def call(self, inputs, training=None):
        x, c = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        if training or self.batch_stats_at_inference:
            mean = ops.mean(x, axis=(0, 1, 2))
            var = ops.var(x, axis=(0, 1, 2))
            if training:
                m = self.momentum
                self.moving_mean.assign(m * self.moving_mean + (1.0 - m) * mean)
                self.moving_variance.assign(m * self.moving_variance + (1.0 - m) * var)
        else:
            mean, var = self.moving_mean, self.moving_variance
        normalized = (x - mean) * ops.rsqrt(var + self.epsilon)
        if c is None:
            return normalized * self.gamma[0] + self.beta[0]
        c = ops.cast(ops.reshape(c, (-1,)), "int32")
        gamma = ops.take(self.gamma, c, axis=0)[:, None, None, :]
        beta = ops.take(self.beta, c, axis=0)[:, None, None, :]
        return normalized * gamma + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "momentum": self.momentum, "epsilon": self.epsilon,
                "batch_stats_at_inference": self.batch_stats_at_inference}


def _l2_normalize(v, epsilon=1e-12):
    return v * ops.rsqrt(ops.maximum(ops.sum(ops.square(v)), epsilon))


class _SpectralNorm:
    """Mixin: sigma(W) by power iteration on W reshaped to (-1, C_out) (official PE ``spectral_normalization``).

    u (1, C_out) is non-trainable, initialised N(0, 1) truncated; one power iteration per training call
    updates it. The official code skips the update on the real-image pass of D; here every training
    call updates u (a second power iteration per step, which only converges sigma faster).
    """

    def _build_u(self, out_dim):
        self.u = self.add_weight(name="sn_u", shape=(1, out_dim),
                                 initializer=keras.initializers.TruncatedNormal(stddev=1.0),
                                 trainable=False, aggregation="mean")

    def normalized(self, kernel, training):
        w = ops.reshape(kernel, (-1, kernel.shape[-1]))
        u = ops.convert_to_tensor(self.u)
        v = _l2_normalize(ops.matmul(u, ops.transpose(w)))
        u_new = _l2_normalize(ops.matmul(v, w))
        u_new = ops.stop_gradient(u_new)
        v = ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(ops.matmul(v, w), ops.transpose(u_new)))
        if training:
            self.u.assign(u_new)
        return kernel / sigma


@_register
class SNConv2D(_SpectralNorm, keras.layers.Layer):
    """Conv2D (stride 1 or 2, 'same' padding, Glorot-uniform kernel, zero bias) with spectral norm."""

    def __init__(self, filters, kernel_size=3, strides=1, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.use_bias = int(filters), int(kernel_size), int(strides), \
            bool(use_bias)

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(name="kernel", shape=(k, k, input_shape[-1], self.filters),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros") if self.use_bias else None
        self._build_u(self.filters)

    def call(self, x, training=None):
        y = ops.conv(x, self.normalized(self.kernel, training), strides=self.strides, padding="same")
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        down = lambda s: None if s is None else -(-s // self.strides)  # noqa: E731
        return (n, down(h), down(w), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "use_bias": self.use_bias}


@_register
class SNDense(_SpectralNorm, keras.layers.Layer):
    """Dense with spectral norm (official PE ``linear(..., is_sn=True)``)."""

    def __init__(self, units, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), bool(use_bias)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None
        self._build_u(self.units)

    def call(self, x, training=None):
        y = ops.matmul(x, self.normalized(self.kernel, training))
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias}


@_register
class OrdinalProjection(_SpectralNorm, keras.layers.Layer):
    """The ordinal conditional ratio r(c | x) of PE Eq. 4, from features phi (N, C) and bins c (N,).

    - ``mode="shared"`` (official code, default): every threshold i = 1..bins-1 adds <V[1(i <= c)], phi>
      with ONE shared, spectrally normalised table V (2, C), so
      r = (bins - 1 - c) <V_0, phi> + c <V_1, phi>: affine in c (counterfactual_gans.md §2.5).
    - ``mode="paper"`` (Eq. 4 as printed, Frank & Hall): r(c = k | x) = sum_{i < k} <v_i, phi> with one
      vector per threshold (a table (bins - 1, C), spectrally normalised as a whole).
    """

    MODES = ("shared", "paper")

    def __init__(self, bins, mode="shared", **kwargs):
        super().__init__(**kwargs)
        self.bins, self.mode = int(bins), mode

    def build(self, input_shape):
        channels = input_shape[0][-1]
        rows = 2 if self.mode == "shared" else max(1, self.bins - 1)
        # stored transposed (C, rows) so that sigma is taken over V^T as the official code does
        self.kernel = self.add_weight(name="embedding", shape=(channels, rows), initializer="glorot_uniform")
        self._build_u(rows)

    def call(self, inputs, training=None):
        phi, c = inputs
        v = self.normalized(self.kernel, training)  # (C, rows)
        scores = ops.matmul(phi, v)  # (N, rows): <v_r, phi>
        c = ops.cast(ops.reshape(c, (-1,)), phi.dtype)
        if self.mode == "shared":
            return (self.bins - 1 - c) * scores[:, 0] + c * scores[:, 1]
        thresholds = ops.arange(1, self.bins, dtype=phi.dtype)  # v_i used for i < k, i.e. thresholds <= c
        thermometer = ops.cast(thresholds[None, :] <= c[:, None], phi.dtype)
        return ops.sum(thermometer * scores[:, : self.bins - 1], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "mode": self.mode}


@_register
class GlobalSumPooling(keras.layers.Layer):
    """Sum over H and W (the official PE discriminator pools by summing, §2.5)."""

    def call(self, x):
        return ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@_register
class ClassSelect(keras.layers.Layer):
    """``[a, b, y]`` -> a where y == 0 and b where y == 1, per sample (y (N,) or (N, 1) in {0, 1}).

    ExplainGAN routes each image through the encoder or discriminator of its class (Eq. 4, Eq. 8).
    """

    def call(self, inputs):
        return select_by_class(*inputs)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def select_by_class(a, b, y):
    """a where y == 0, b where y == 1; y (N,) broadcast over the other axes of a and b."""
    y = ops.cast(ops.reshape(y, (-1,) + (1,) * (len(a.shape) - 1)), a.dtype)
    return a * (1.0 - y) + b * y


@_register
class Rescale(keras.layers.Layer):
    """y = x * scale + offset (maps the classifier's pixel range to the GANs' [-1, 1] and back)."""

    def __init__(self, scale, offset, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x):
        return x * self.scale + self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


def to_unit_range(value_range):
    """Rescale taking pixels in ``value_range`` to [-1, 1]."""
    lo, hi = (float(v) for v in value_range)
    return 2.0 / (hi - lo), -1.0 - 2.0 * lo / (hi - lo)


def from_unit_range(value_range):
    """Rescale taking [-1, 1] back to ``value_range``."""
    lo, hi = (float(v) for v in value_range)
    return (hi - lo) / 2.0, (hi + lo) / 2.0


def down_strides(size, layers):
    """Stride 2 while the spatial size stays even, then 1: a 28-pixel image goes 28, 14, 7, 7, ...

    Lets one config serve 28x28 digits and the papers' 64/128-pixel images; decoders mirror it.
    """
    strides = []
    for _ in range(layers):
        s = 2 if size % 2 == 0 and size > 1 else 1
        strides.append(s)
        size //= s
    return strides


def tile_grid(rows):
    """Rows of (H, W, C) images in [0, 1] -> one (rows*H, cols*W, 3) picture (training sample grids)."""
    import numpy as np

    grid = np.concatenate([np.concatenate(list(r), axis=1) for r in rows], axis=0)
    return np.repeat(grid, 3, axis=-1) if grid.shape[-1] == 1 else grid[..., :3]


class FrozenClassifierGAN(AdversarialModel):
    """The plumbing ExplainGAN and Progressive Exaggeration share: a generator and a discriminator built from
    ``(image_shape, config, value_range)``, and a frozen classifier function ``frozen(x)`` kept in a list so
    that Keras does not track (or save) the classifier's weights. Subclasses write ``train_step``."""

    def __init__(self, image_shape, config, frozen, build_generator, build_discriminator, value_range=(0.0, 1.0),
                 **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.value_range = tuple(float(v) for v in value_range)
        self.generator = build_generator(image_shape, config, self.value_range)
        self.discriminator = build_discriminator(image_shape, config, self.value_range)
        self._frozen = [frozen]
        self._mark_built()

    @classmethod
    def compiled(cls, image_shape, config, frozen, value_range=(0.0, 1.0)):
        """The model compiled with Adam(lr, beta_1, beta_2, eps 1e-8) for both players (build it in a strategy
        scope)."""
        model = cls(image_shape, config, frozen, value_range)
        model.compile(g_optimizer=adam(config.learning_rate, config.beta_1, config.beta_2),
                      d_optimizer=adam(config.learning_rate, config.beta_1, config.beta_2))
        return model

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def unit(self, images):
        """Images in ``value_range`` mapped to [-1, 1], where the losses are measured."""
        scale, offset = to_unit_range(self.value_range)
        return images * scale + offset


class ModelConfig:
    """Mixin of the counterfactual models' frozen config dataclasses: JSON round trip and presets."""

    label = "model"  # named in error messages

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    @classmethod
    def from_preset(cls, presets, preset, overrides):
        """``presets[preset]`` with ``overrides`` replaced; names outside the dataclass raise InputError."""
        from ..errors import InputError

        if preset not in presets:
            raise InputError(f"preset: expected one of {tuple(presets)}, got {preset!r}")
        fields = cls.__dataclass_fields__
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise InputError(f"config: unknown {cls.label} settings {unknown}; expected some of {sorted(fields)}")
        return dataclasses.replace(presets[preset], **overrides)
