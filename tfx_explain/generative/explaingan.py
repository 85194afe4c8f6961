"""ExplainGAN (Samangouei et al., ECCV 2018; explaingan.txt): decision-boundary crossing transformations.

For a binary decision F between two classes, class-specific encoders z_j = E_j(x) (Eq. 4) feed one
decoder with three outputs: G_0(z) and G_1(z), an image of each class, and a mask G_m(z). For an input
predicted as j, G_j(z_j) is its reconstruction, G_{1-j}(z_j) its transformation t, and the composite
C_{1-j}(x) = x (1 - G_m(z_j)) + G_{1-j}(z_j) G_m(z_j) (Eq. 5) the explanation. Per-class discriminators
D_0, D_1 share their last layers, as do E_0, E_1 (§5.2).

Architecture: "quite similar to DCGAN" (§5.2): 4x4 convolutions with stride 2 while the size allows
(:func:`down_strides`), LeakyReLU(0.2) in E and D, BatchNorm + ReLU in the decoder, tanh image heads and
a sigmoid mask head. Deviations, documented: E and D carry no BatchNorm because every image runs through
both class branches before :class:`ClassSelect` keeps one, which would mix both classes into the batch
statistics; D uses spectral normalisation instead (``spectral_norm=True``). The decoder has no BatchNorm
by default (``decoder_norm="none"``): with DCGAN's BatchNorm the moving averages lag the fast-changing GAN
weights, and inference outputs differ from training ones (measured on digits 3 vs 8, cpu preset, 300
steps: composites crossed the boundary for 0% of test images in inference mode, 100% in training mode).

Losses are pure per-example functions, one per equation, computed on pixels mapped to [-1, 1]; the paper
gives no weights or kappa (§5.2 says they were cross-validated), so every weight is a config field.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import layers

from . import layers_counterfactual as lc
from .losses import global_mean, per_example_mean
from .training import stateless_ints, step_dataset


@dataclass(frozen=True)
class ExplainGANConfig(lc.ModelConfig):
    """Architecture, loss weights and optimiser of ExplainGAN. Widths are per conv layer."""

    encoder_widths: tuple = (64, 128, 256)
    shared_encoder_layers: int = 1  # the last conv layers (and the projection to z) that E_0 and E_1 share
    latent_dim: int = 128
    decoder_widths: tuple = (256, 128, 64)  # first = channels of the reshaped latent; len = len(encoder_widths)
    discriminator_widths: tuple = (64, 128, 256)
    shared_discriminator_layers: int = 1  # the last conv layers (and the output unit) that D_0 and D_1 share
    kernel_size: int = 4
    decoder_norm: str = "none"  # "none", or "batch" as DCGAN (see the module docstring)
    spectral_norm: bool = True
    # loss weights (Eq. 6, 12) and the count prior's kappa (Eq. 14)
    gan_weight: float = 1.0
    classifier_weight: float = 1.0
    recon_weight: float = 10.0
    const_weight: float = 10.0
    count_weight: float = 10.0
    kappa: float = 0.1
    smooth_weight: float = 1.0
    entropy_weight: float = 0.5
    prior_ramp_steps: int = 0  # count and entropy weights grow linearly from 0 over these steps
    generator_loss: str = "non_saturating"  # or "minimax": G minimises log(1 - D(G)) as Eq. 8 is written
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    batch_size: int = 64

    label = "ExplainGAN"


PRESETS = {
    # DCGAN widths (Radford et al., 2016), as §5.2 describes; a GPU config.
    "paper": ExplainGANConfig(),
    # CPU demos and the reproduction runs on 28x28 digits / Fashion-MNIST.
    "cpu": ExplainGANConfig(encoder_widths=(32, 64, 128), latent_dim=64, decoder_widths=(128, 64, 32),
                            discriminator_widths=(32, 64, 128), batch_size=32, prior_ramp_steps=200),
    # tests and notebooks: seconds, not quality.
    "tiny": ExplainGANConfig(encoder_widths=(8, 16), latent_dim=16, decoder_widths=(16, 8),
                             discriminator_widths=(8, 16), batch_size=16),
}


def make_config(preset="cpu", **overrides):
    config = ExplainGANConfig.from_preset(PRESETS, preset, overrides)
    _check_config(config)
    return config


def _check_config(config):
    from ..errors import InputError

    n = len(config.encoder_widths)
    if len(config.decoder_widths) != n:
        raise InputError(f"decoder_widths: expected {n} widths (one per encoder layer), got {config.decoder_widths}")
    if not 0 <= config.shared_encoder_layers < n:
        raise InputError(f"shared_encoder_layers: expected 0..{n - 1}, got {config.shared_encoder_layers}")
    if not 0 <= config.shared_discriminator_layers < len(config.discriminator_widths):
        raise InputError(f"shared_discriminator_layers: expected 0..{len(config.discriminator_widths) - 1}, got "
                         f"{config.shared_discriminator_layers}")
    if config.decoder_norm not in ("batch", "none"):
        raise InputError(f"decoder_norm: expected 'batch' or 'none', got {config.decoder_norm!r}")
    if config.generator_loss not in ("non_saturating", "minimax"):
        raise InputError(f"generator_loss: expected 'non_saturating' or 'minimax', got {config.generator_loss!r}")
    if not 0.0 <= config.kappa <= 1.0:
        raise InputError(f"kappa: expected a fraction in [0, 1], got {config.kappa}")
    if config.batch_size < 2 or config.batch_size % 2:
        raise InputError(f"batch_size: expected an even int >= 2 (half of each class), got {config.batch_size}")


# --------------------------------------------------------------------------- architecture


def _conv(width, kernel, stride, spectral, name):
    if spectral:
        return lc.SNConv2D(width, kernel, stride, name=name)
    return layers.Conv2D(width, kernel, stride, padding="same", name=name)


def _branch(x, widths, strides, kernel, spectral, prefix):
    for i, (w, s) in enumerate(zip(widths, strides)):
        x = _conv(w, kernel, s, spectral, f"{prefix}{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"{prefix}{i}_lrelu")(x)
    return x


def _two_branch_net(image, widths, shared, strides, kernel, spectral, head_units, prefix):
    """Class-specific first layers, shared last layers (explaingan.txt §5.2); returns (out_0, out_1)."""
    own = len(widths) - shared
    shared_layers = []
    for i in range(own, len(widths)):
        shared_layers.append(_conv(widths[i], kernel, strides[i], spectral, f"{prefix}_shared{i}"))
        shared_layers.append(layers.LeakyReLU(0.2, name=f"{prefix}_shared{i}_lrelu"))
    flatten = layers.Flatten(name=f"{prefix}_flatten")
    head = lc.SNDense(head_units, name=f"{prefix}_out") if spectral else layers.Dense(head_units, name=f"{prefix}_out")
    outs = []
    for j in (0, 1):
        h = _branch(image, widths[:own], strides[:own], kernel, spectral, f"{prefix}{j}_")
        for layer in shared_layers:
            h = layer(h)
        outs.append(head(flatten(h)))
    return outs


def _norm(kind, name):
    return layers.BatchNormalization(name=name) if kind == "batch" else layers.Identity(name=name)


def build_explainer(image_shape, config, value_range=(0.0, 1.0)):
    """The inference network: inputs (x in ``value_range``, predicted class y in {0, 1}) -> (G_0, G_1, G_m).

    G_0 and G_1 are images in ``value_range``; G_m is a one-channel mask in [0, 1].
    """
    h, w, c = image_shape
    strides = lc.down_strides(min(h, w), len(config.encoder_widths))
    scale = 1
    for s in strides:
        scale *= s
    if h % scale or w % scale:
        raise ValueError(f"image_shape: {image_shape} is not divisible by the encoder's total stride {scale}")
    x = keras.Input(image_shape, name="image")
    y = keras.Input((), name="predicted_class")
    unit = lc.Rescale(*lc.to_unit_range(value_range), name="to_unit")(x)
    z0, z1 = _two_branch_net(unit, config.encoder_widths, config.shared_encoder_layers, strides, config.kernel_size,
                             False, config.latent_dim, "enc")
    z = lc.ClassSelect(name="z")([z0, z1, y])  # Eq. 4: the encoder of the predicted class

    rev = strides[::-1]
    t = layers.Dense((h // scale) * (w // scale) * config.decoder_widths[0], use_bias=False, name="dec_fc")(z)
    t = _norm(config.decoder_norm, "dec_fc_bn")(t)
    t = layers.ReLU(name="dec_fc_relu")(t)
    t = layers.Reshape((h // scale, w // scale, config.decoder_widths[0]), name="dec_reshape")(t)
    for i, width in enumerate(config.decoder_widths[1:]):
        t = layers.Conv2DTranspose(width, config.kernel_size, rev[i], padding="same", use_bias=False,
                                   name=f"dec{i}")(t)
        t = _norm(config.decoder_norm, f"dec{i}_bn")(t)
        t = layers.ReLU(name=f"dec{i}_relu")(t)
    back = lc.from_unit_range(value_range)
    outputs = []
    for name, channels, activation in (("g0", c, "tanh"), ("g1", c, "tanh"), ("mask", 1, "sigmoid")):
        o = layers.Conv2DTranspose(channels, config.kernel_size, rev[-1], padding="same", activation=activation,
                                   name=f"head_{name}")(t)
        outputs.append(lc.Rescale(*back, name=name)(o) if name != "mask" else o)
    return keras.Model([x, y], outputs, name="explaingan_explainer")


def build_discriminator(image_shape, config, value_range=(0.0, 1.0)):
    """D_y(x) logits: inputs (image in ``value_range``, class y in {0, 1}) -> (N,)."""
    strides = lc.down_strides(min(image_shape[:2]), len(config.discriminator_widths))
    x = keras.Input(image_shape, name="image")
    y = keras.Input((), name="class")
    unit = lc.Rescale(*lc.to_unit_range(value_range), name="to_unit")(x)
    d0, d1 = _two_branch_net(unit, config.discriminator_widths, config.shared_discriminator_layers, strides,
                             config.kernel_size, config.spectral_norm, 1, "disc")
    out = lc.ClassSelect(name="select")([d0, d1, y])
    return keras.Model([x, y], layers.Reshape((), name="logit")(out), name="explaingan_discriminator")


# --------------------------------------------------------------------------- losses (per example)


def composite(x, transformed, mask):
    """C(x) = x (1 - m) + t m  (Eq. 5); the mask broadcasts over channels."""
    return x * (1.0 - mask) + transformed * mask


def discriminator_loss(real, fakes):
    """-L_GAN:j for D (Eq. 8): -log D(x) - sum_fakes log(1 - D(fake)), from logits: softplus(-d) + sum softplus(d_f)."""
    return tf.nn.softplus(-real) + tf.add_n([tf.nn.softplus(f) for f in fakes])


def generator_gan_loss(fakes, kind="non_saturating"):
    """The generator side of Eq. 8 over the reconstruction, transformation and composite logits.

    ``"minimax"``: G minimises sum log(1 - D(fake)) = -sum softplus(d), as Eq. 8 is written.
    ``"non_saturating"`` (default): G minimises sum -log D(fake) = sum softplus(-d) (Goodfellow et al.,
    2014, §3), the usual practice of DCGAN implementations; the fixed point is the same.
    """
    if kind == "minimax":
        return -tf.add_n([tf.nn.softplus(f) for f in fakes])
    return tf.add_n([tf.nn.softplus(-f) for f in fakes])


def classifier_loss(composite_logit, target):
    """L_classifier (Eq. 9-10): -log F(C_1(x)) for x in S_0 and -log(1 - F(C_0(x))) for x in S_1.

    ``composite_logit`` is the binary logit log F/(1 - F) of the composite; ``target`` = 1 - y.
    """
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(target, composite_logit.dtype),
                                                   logits=composite_logit)


def recon_loss(x, reconstruction):
    """L_recon (Eq. 11): ||G_j(E_j(x)) - x||^2, as a mean over pixels."""
    return per_example_mean(tf.square(reconstruction - x))


def const_loss(x, transformed, mask):
    """L_const (Eq. 13): ||(1 - m) x - (1 - m) G_{1-j}(z_j)||^2, as a mean over pixels."""
    return per_example_mean(tf.square((1.0 - mask) * (x - transformed)))


def count_loss(mask, kappa):
    """L_count (Eq. 14): max(|G_m(z)|_1 / n, kappa): no pressure while at most a kappa fraction is masked."""
    return tf.maximum(per_example_mean(tf.abs(mask)), kappa)


def smoothness_loss(mask):
    """L_smoothness (Eq. 15): total variation |grad G_m(z)|, as the mean absolute difference between
    vertical neighbours plus that between horizontal neighbours."""
    dh = per_example_mean(tf.abs(mask[:, 1:] - mask[:, :-1]))
    dw = per_example_mean(tf.abs(mask[:, :, 1:] - mask[:, :, :-1]))
    return dh + dw


def entropy_loss(mask):
    """L_entropy (Eq. 16): ||min(m, 1 - m)||, with the L1 norm per pixel (a mean); the paper names no norm."""
    return per_example_mean(tf.minimum(mask, 1.0 - mask))


def class_sum(per_example):
    """sum_j E_{x in S_j}[.] from a class-balanced batch (half S_0, half S_1): twice the global batch mean."""
    return 2.0 * global_mean(per_example)


# --------------------------------------------------------------------------- model


class ExplainGANModel(lc.FrozenClassifierGAN):
    """ExplainGAN as a keras.Model: ``train_step`` on class-balanced batches {"x", "y"} (y = F's class).

    ``pair_logit(x) -> log F(x) / (1 - F(x))`` is the frozen classifier's binary logit (class 1 vs class 0);
    gradients flow through it to the composite (the classifier's weights are never updated).
    """

    loss_names = ("d_loss", "g_loss", "gan", "classifier", "recon", "const", "count", "smooth", "entropy",
                  "crossed", "mask_area")

    def __init__(self, image_shape, config, pair_logit, value_range=(0.0, 1.0), **kwargs):
        super().__init__(image_shape, config, pair_logit, build_explainer, build_discriminator, value_range,
                         **kwargs)

    def forward(self, x, y, training):
        """Every tensor of one training step (Eq. 4, 5, 8)."""
        g0, g1, mask = self.generator([x, y], training=training)
        recon = lc.select_by_class(g0, g1, y)  # G_y(z_y)
        transformed = lc.select_by_class(g1, g0, y)  # G_{1-y}(z_y)
        comp = composite(x, transformed, mask)
        other = 1.0 - y
        logits = {"real": self.discriminator([x, y], training=training),
                  "recon": self.discriminator([recon, y], training=training),
                  "transformed": self.discriminator([transformed, other], training=training),
                  "composite": self.discriminator([comp, other], training=training)}
        return recon, transformed, mask, comp, logits

    def losses_of(self, x, y, step):
        cfg = self.config
        recon, transformed, mask, comp, d = self.forward(x, y, training=True)
        fakes = [d["recon"], d["transformed"], d["composite"]]
        d_loss = class_sum(discriminator_loss(d["real"], fakes))
        comp_logit = self._frozen[0](comp)
        xu, ru, tu = self.unit(x), self.unit(recon), self.unit(transformed)
        ramp = 1.0 if cfg.prior_ramp_steps <= 0 else tf.minimum(1.0, tf.cast(step, tf.float32) / cfg.prior_ramp_steps)
        terms = {"gan": class_sum(generator_gan_loss(fakes, cfg.generator_loss)),
                 "classifier": class_sum(classifier_loss(comp_logit, 1.0 - y)),
                 "recon": class_sum(recon_loss(xu, ru)),
                 "const": class_sum(const_loss(xu, tu, mask)),
                 "count": class_sum(count_loss(mask, cfg.kappa)),
                 "smooth": class_sum(smoothness_loss(mask)),
                 "entropy": class_sum(entropy_loss(mask))}
        g_loss = (cfg.gan_weight * terms["gan"] + cfg.classifier_weight * terms["classifier"]
                  + cfg.recon_weight * terms["recon"] + cfg.const_weight * terms["const"]
                  + ramp * cfg.count_weight * terms["count"] + cfg.smooth_weight * terms["smooth"]
                  + ramp * cfg.entropy_weight * terms["entropy"])
        crossed = tf.reduce_mean(tf.cast(tf.equal(tf.cast(comp_logit > 0, y.dtype), 1.0 - y), tf.float32))
        return d_loss, g_loss, terms, {"crossed": crossed, "mask_area": tf.reduce_mean(mask)}

    def train_step(self, batch):
        """One simultaneous step: D and G gradients from the same forward pass (Eq. 6)."""
        x, y = batch["x"], tf.cast(batch["y"], tf.float32)
        with tf.GradientTape(persistent=True) as tape:
            d_loss, g_loss, terms, stats = self.losses_of(x, y, self.g_optimizer.iterations)
        g_vars, d_vars = self.generator_variables(), self.discriminator_variables()
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        del tape
        return self.record(d_loss=d_loss, g_loss=g_loss, **terms, **stats)


def build_model(image_shape, config, pair_logit, value_range=(0.0, 1.0)):
    """An ExplainGANModel compiled with Adam(lr, beta_1, beta_2) for both players (build in a strategy scope)."""
    return ExplainGANModel.compiled(image_shape, config, pair_logit, value_range)


def balanced_dataset(images, predicted, batch_size, seed):
    """``start_step -> tf.data`` of class-balanced batches: sample i is of class i % 2 (so every replica of
    an even split gets both classes), drawn with replacement by (seed, step) only."""
    pools = [tf.constant(images[predicted == j]) for j in (0, 1)]
    half = batch_size // 2

    def batch_fn(step):
        parts = [tf.gather(pools[j], stateless_ints((half,), seed, step, j, tf.shape(pools[j], tf.int64)[0]))
                 for j in (0, 1)]
        x = tf.reshape(tf.stack(parts, axis=1), tf.concat([[batch_size], tf.shape(parts[0])[1:]], 0))
        y = tf.tile(tf.constant([0.0, 1.0]), [half])
        return {"x": x, "y": y}

    return lambda start: step_dataset(start, batch_fn)


def sample_grid(model, x, pair_logit):
    """A picture for TensorBoard and ``samples/``: per row input | transformed | mask | composite."""
    import numpy as np

    y = (np.asarray(pair_logit(x)) > 0).astype(np.float32)
    g0, g1, mask = model.generator([x, y], training=False)
    t = lc.select_by_class(g1, g0, y)
    c = composite(x, t, mask)
    lo, hi = model.value_range
    unit = lambda v: (np.asarray(v) - lo) / (hi - lo)  # noqa: E731
    m = np.repeat(np.asarray(mask), x.shape[-1], axis=-1)
    return lc.tile_grid([[unit(x[i]), unit(t[i]), m[i], unit(c[i])] for i in range(len(x))])
