"""Explanation by Progressive Exaggeration (Singla et al., ICLR 2020; progressive_exaggeration.txt).

The explainer I_f(x, delta) = G(E(x), c_f(x, delta)) (Eq. 2) maps a query to an image whose classifier
output lands in the bin c_f(x, delta) of f(x) + delta, with [0, 1] cut into N = 1/delta bins. E and G are
residual networks with conditional batch norm on the bin (§A.1); D is a projection discriminator with
the ordinal conditional ratio r(c|x) (Eq. 3-4), trained with the hinge loss (Eq. 7-8). The generator also
minimises KL(f(x) + delta || f(x_delta)) (L_f, §2.2) and the reconstruction and cycle L1 losses (Eq. 5-6).

Faithful to the official TF1 code (counterfactual_gans.md §2) by default: the encoder is conditioned on
the bin too, D's projection shares one (2, C) table (``projection="shared"``), the classifier target of
bin c is its lower edge c / N, the cycle also matches f(x_cyc) to f(x) ("recons_evaluation"), Adam(2e-4,
0, 0.9), n_critic = 5 D steps per G step (D first), batch 32. Where the issue asks for the paper:
gradients flow through the frozen classifier (the official code stops them: ``stop_classifier_gradient``)
and L_rec is the pixel reconstruction of Eq. 5 (the official code uses an L2 loss on embeddings:
``reconstruction="embedding"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from . import layers_counterfactual as lc
from .losses import global_mean, hinge_discriminator_loss, hinge_generator_loss, l1_loss, per_example_mean
from .training import stateless_ints, stateless_uniform, step_dataset

TARGETS = ("lower_edge", "center", "dissect")


@dataclass(frozen=True)
class ExaggerationConfig(lc.ModelConfig):
    """Architecture, losses and optimiser of Progressive Exaggeration (official values by default)."""

    bins: int = 10
    stem_width: int = 64
    encoder_widths: tuple = (128, 256, 512, 1024, 1024)  # ResBlockDown widths; the decoder mirrors them
    discriminator_widths: tuple = (64, 128, 256, 512, 1024, 1024)  # the last block keeps the size
    condition_encoder: bool = True  # official: the encoder's BN is conditional on the bin too
    batch_stats_at_inference: bool = False  # official: True (batch statistics even at test time)
    projection: str = "shared"  # "shared" (official) or "paper" (Eq. 4, one vector per threshold)
    cgan_weight: float = 1.0
    f_weight: float = 1.0
    rec_weight: float = 100.0
    reconstruction: str = "pixel"  # "pixel" (Eq. 5) or "embedding" (official: L2 between E(x) and E(x_cyc))
    cycle_classifier_loss: bool = True  # official "recons_evaluation": KL(f(x) || f(x_cyc)), weight f_weight
    target: str = "lower_edge"  # p* of bin c: c/N (official), (c + 0.5)/N, or c/(N - 1) (DISSECT)
    stop_classifier_gradient: bool = False  # True reproduces the official stop_gradient on the logits
    n_critic: int = 5
    learning_rate: float = 2e-4
    beta_1: float = 0.0
    beta_2: float = 0.9
    batch_size: int = 32
    sampling: str = "balanced"  # "balanced": bins drawn uniformly (official calibrated sampling), or "uniform"

    label = "Progressive Exaggeration"


PRESETS = {
    # the official networks_128 widths, 10 bins, n_critic 5, batch 32 (a GPU config).
    "paper": ExaggerationConfig(),
    # CPU demos and the reproduction runs on 28x28 images (28 -> 14 -> 7). The paper's budget is 20k G steps
    # on a GPU; for ~2k CPU steps the weights move towards compatibility: lambda_rec = 10 instead of 100
    # (with 100, G stays an autoencoder: digits 3 vs 8, 800 steps, Pearson 0.16 at 100, 0.80 at 10) and
    # lambda_f = 10 instead of 1 (fashion coat vs shirt, 1500 steps: Pearson 0.62 -> 0.89, latent closeness
    # 0.88 -> 0.22; lambda_rec = 1 instead gave 0.83, both changed 0.88; bench/pe_weight_sweep.json).
    "cpu": ExaggerationConfig(stem_width=16, encoder_widths=(32, 64), discriminator_widths=(16, 32, 64),
                              f_weight=10.0, rec_weight=10.0, n_critic=1, batch_size=32),
    # tests and notebooks.
    "tiny": ExaggerationConfig(stem_width=8, encoder_widths=(16,), discriminator_widths=(8, 16), rec_weight=10.0,
                               n_critic=1, batch_size=8),
}


def make_config(preset="cpu", **overrides):
    config = ExaggerationConfig.from_preset(PRESETS, preset, overrides)
    _check_config(config)
    return config


def _check_config(config):
    from ..errors import InputError

    checks = [("bins", config.bins >= 2, "an int >= 2"),
              ("projection", config.projection in lc.OrdinalProjection.MODES, f"one of {lc.OrdinalProjection.MODES}"),
              ("reconstruction", config.reconstruction in ("pixel", "embedding"), "'pixel' or 'embedding'"),
              ("target", config.target in TARGETS, f"one of {TARGETS}"),
              ("sampling", config.sampling in ("balanced", "uniform"), "'balanced' or 'uniform'"),
              ("n_critic", config.n_critic >= 1, "an int >= 1"),
              ("batch_size", config.batch_size >= 2, "an int >= 2"),
              ("discriminator_widths", len(config.discriminator_widths) >= 2, "at least two widths")]
    for name, ok, expected in checks:
        if not ok:
            raise InputError(f"{name}: expected {expected}, got {getattr(config, name)!r}")


# --------------------------------------------------------------------------- bins and targets


def bin_index(p, bins):
    """c_f: the bin of probability p when [0, 1] is cut into ``bins`` equal bins; p = 1 goes to the last
    bin (the official notebook's floor(10 p) gives 10 there; DISSECT clamps as here)."""
    p = np.asarray(p, np.float64)
    return np.clip(np.floor(p * bins), 0, bins - 1).astype(np.int64)


def bin_target(c, bins, kind="lower_edge"):
    """The probability f(x) + delta that bin c asks for: c/N (official), (c + 0.5)/N, or c/(N - 1) (DISSECT)."""
    c = tf.cast(c, tf.float32) if tf.is_tensor(c) else np.asarray(c, np.float32)
    if kind == "lower_edge":
        return c / bins
    if kind == "center":
        return (c + 0.5) / bins
    return c / (bins - 1)


# --------------------------------------------------------------------------- losses (per example)


def bernoulli_kl(p, logit):
    """KL(Bern(p) || Bern(sigmoid(logit))) = BCE(p, q) - H(p), exact and stable from the logit (L_f, §2.2)."""
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=p, logits=logit)
    entropy = -(tf.math.xlogy(p, p) + tf.math.xlogy(1.0 - p, 1.0 - p))
    return bce - entropy


def embedding_loss(a, b):
    """Official "rec" term: mean squared difference of the bottleneck embeddings."""
    return per_example_mean(tf.square(a - b))


# --------------------------------------------------------------------------- architecture


def _cbn(x, c, bins, config, name):
    if c is None:
        return lc.ConditionalBatchNorm(1, batch_stats_at_inference=config.batch_stats_at_inference, name=name)(x)
    return lc.ConditionalBatchNorm(bins, batch_stats_at_inference=config.batch_stats_at_inference, name=name)([x, c])


def _resample(x, stride, up, name):
    if stride == 1:
        return x
    return layers.UpSampling2D(2, name=name)(x) if up else layers.AveragePooling2D(2, name=name)(x)


def _gen_block(x, c, width, stride, up, config, name):
    """ResBlockDown / ResBlockUp (§2.4): CBN-ReLU-resample-conv3-CBN-ReLU-conv3, shortcut resample-conv1."""
    h = layers.ReLU(name=f"{name}_relu1")(_cbn(x, c, config.bins, config, f"{name}_cbn1"))
    h = _resample(h, stride, up, f"{name}_resample")
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(h)
    h = layers.ReLU(name=f"{name}_relu2")(_cbn(h, c, config.bins, config, f"{name}_cbn2"))
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(h)
    s = _resample(x, stride, up, f"{name}_short_resample")
    s = layers.Conv2D(width, 1, name=f"{name}_short")(s)
    return layers.Add(name=name)([h, s])


def build_generator(image_shape, config, value_range=(0.0, 1.0)):
    """I_f: inputs (x in ``value_range``, bin c) -> (G(E(x), c) in ``value_range``, embedding E(x))."""
    h, w, channels = image_shape
    strides = lc.down_strides(min(h, w), len(config.encoder_widths))
    x_in = keras.Input(image_shape, name="image")
    c_in = keras.Input((), dtype="int32", name="bin")
    x = lc.Rescale(*lc.to_unit_range(value_range), name="to_unit")(x_in)
    x = layers.ReLU(name="stem_relu")(_cbn(x, None, 1, config, "stem_bn"))
    x = layers.Conv2D(config.stem_width, 3, padding="same", name="stem_conv")(x)
    enc_c = c_in if config.condition_encoder else None
    for i, (width, stride) in enumerate(zip(config.encoder_widths, strides)):
        x = _gen_block(x, enc_c, width, stride, False, config, f"enc{i}")
    embedding = x
    widths = list(config.encoder_widths[:-1])[::-1] + [config.stem_width]
    for i, (width, stride) in enumerate(zip(widths, strides[::-1])):
        x = _gen_block(x, c_in, width, stride, True, config, f"dec{i}")
    x = layers.ReLU(name="out_relu")(_cbn(x, None, 1, config, "out_bn"))
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh", name="out_conv")(x)
    x = lc.Rescale(*lc.from_unit_range(value_range), name="explanation")(x)
    embedding = layers.Identity(name="embedding")(embedding)
    return keras.Model([x_in, c_in], [x, embedding], name="exaggeration_generator")


def _disc_block(x, width, stride, first, name):
    """D blocks (§2.5): first: conv-ReLU-conv-pool, shortcut pool-conv1; others: ReLU-conv-ReLU-conv-pool,
    shortcut conv1-pool; identity shortcut when neither size nor width changes."""
    h = x if first else layers.ReLU(name=f"{name}_relu0")(x)
    h = lc.SNConv2D(width, 3, name=f"{name}_conv1")(h)
    h = layers.ReLU(name=f"{name}_relu1")(h)
    h = lc.SNConv2D(width, 3, name=f"{name}_conv2")(h)
    h = _resample(h, stride, False, f"{name}_pool")
    if stride == 1 and x.shape[-1] == width:
        s = x
    elif first:
        s = lc.SNConv2D(width, 1, name=f"{name}_short")(_resample(x, stride, False, f"{name}_short_pool"))
    else:
        s = _resample(lc.SNConv2D(width, 1, name=f"{name}_short")(x), stride, False, f"{name}_short_pool")
    return layers.Add(name=name)([h, s])


def build_discriminator(image_shape, config, value_range=(0.0, 1.0)):
    """D(x, c) = psi(phi(x)) + r(c | x) (Eq. 3-4): inputs (image in ``value_range``, bin c) -> (N,) scores."""
    widths = config.discriminator_widths
    strides = lc.down_strides(min(image_shape[:2]), len(widths) - 1) + [1]
    x_in = keras.Input(image_shape, name="image")
    c_in = keras.Input((), dtype="int32", name="bin")
    x = lc.Rescale(*lc.to_unit_range(value_range), name="to_unit")(x_in)
    for i, (width, stride) in enumerate(zip(widths, strides)):
        x = _disc_block(x, width, stride, i == 0, f"disc{i}")
    phi = lc.GlobalSumPooling(name="sum_pool")(layers.ReLU(name="disc_relu")(x))
    psi = layers.Reshape((), name="psi")(lc.SNDense(1, name="psi_dense")(phi))
    r = lc.OrdinalProjection(config.bins, config.projection, name="ordinal_projection")([phi, c_in])
    return keras.Model([x_in, c_in], layers.Add(name="score")([psi, r]), name="exaggeration_discriminator")


# --------------------------------------------------------------------------- model


class ExaggerationModel(lc.FrozenClassifierGAN):
    """Progressive Exaggeration as a keras.Model. A batch is {"x": (B, n_critic, H, W, C), "source": (B,
    n_critic) bins of f(x), "target": (B, n_critic) random bins}; one ``train_step`` runs n_critic D steps
    on the n_critic sub-batches and then one G step on the last (official schedule, §2.7).

    ``target_logit(x)`` is the frozen classifier's logit of the explained class: f(x) = sigmoid(logit).
    """

    loss_names = ("d_loss", "g_loss", "adversarial", "kl", "cycle_kl", "rec", "cyc", "in_bin", "abs_error")

    def __init__(self, image_shape, config, target_logit, value_range=(0.0, 1.0), **kwargs):
        super().__init__(image_shape, config, target_logit, build_generator, build_discriminator, value_range,
                         **kwargs)

    def classifier_logit(self, x):
        logit = self._frozen[0](x)
        return tf.stop_gradient(logit) if self.config.stop_classifier_gradient else logit

    def discriminator_losses(self, x, source, target):
        x_t, _ = self.generator([x, target], training=True)
        real = self.discriminator([x, source], training=True)
        fake = self.discriminator([x_t, target], training=True)
        return global_mean(hinge_discriminator_loss(real, fake))  # Eq. 7

    def generator_losses(self, x, source, target):
        cfg = self.config
        x_t, _ = self.generator([x, target], training=True)  # x_delta = I_f(x, delta)
        x_cyc, e_cyc = self.generator([x_t, source], training=True)  # back to c_f(x, 0), Eq. 6
        x_rec, e_x = self.generator([x, source], training=True)  # I_f(x, 0), Eq. 5
        fake = self.discriminator([x_t, target], training=True)
        logit_t = self.classifier_logit(x_t)
        p_target = bin_target(target, cfg.bins, cfg.target)
        terms = {"adversarial": global_mean(hinge_generator_loss(fake)),  # Eq. 8
                 "kl": global_mean(bernoulli_kl(p_target, logit_t)),  # L_f
                 "cyc": global_mean(l1_loss(self.unit(x), self.unit(x_cyc)))}  # Eq. 6
        if cfg.reconstruction == "pixel":
            terms["rec"] = global_mean(l1_loss(self.unit(x), self.unit(x_rec)))  # Eq. 5
        else:
            terms["rec"] = global_mean(embedding_loss(e_x, e_cyc))
        if cfg.cycle_classifier_loss:
            p_x = tf.sigmoid(tf.stop_gradient(self._frozen[0](x)))
            terms["cycle_kl"] = global_mean(bernoulli_kl(p_x, self.classifier_logit(x_cyc)))
        else:
            terms["cycle_kl"] = tf.zeros(())
        g_loss = (cfg.cgan_weight * terms["adversarial"] + cfg.f_weight * (terms["kl"] + terms["cycle_kl"])
                  + cfg.rec_weight * (terms["rec"] + terms["cyc"]))
        q = tf.sigmoid(logit_t)
        reached = tf.cast(tf.equal(tf.minimum(tf.cast(tf.floor(q * cfg.bins), tf.int32), cfg.bins - 1),
                                   tf.cast(target, tf.int32)), tf.float32)
        stats = {"in_bin": tf.reduce_mean(reached),
                 "abs_error": tf.reduce_mean(tf.abs(q - bin_target(target, cfg.bins, "center")))}
        return g_loss, terms, stats

    def train_step(self, batch):
        x, source, target = batch["x"], batch["source"], batch["target"]
        d_vars, g_vars = self.discriminator_variables(), self.generator_variables()
        for k in range(self.config.n_critic):
            with tf.GradientTape() as tape:
                d_loss = self.discriminator_losses(x[:, k], source[:, k], target[:, k])
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        last = self.config.n_critic - 1
        with tf.GradientTape() as tape:
            g_loss, terms, stats = self.generator_losses(x[:, last], source[:, last], target[:, last])
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return self.record(d_loss=d_loss, g_loss=g_loss, **terms, **stats)


def build_model(image_shape, config, target_logit, value_range=(0.0, 1.0)):
    """An ExaggerationModel compiled as :meth:`FrozenClassifierGAN.compiled` does."""
    return ExaggerationModel.compiled(image_shape, config, target_logit, value_range)


def bin_dataset(images, source_bins, config, seed):
    """``start_step -> tf.data`` of {"x", "source", "target"} batches laid out (B, n_critic, ...).

    ``sampling="balanced"`` draws a non-empty bin uniformly and then an image of it (the official
    notebook's calibrated sampling gives every bin the same number of images, §2.2; it also sets each
    bin's label mix, which needs ground-truth labels and is left out). Target bins are uniform on
    {0..N-1}, independently per image and step (§2.2). Everything depends on (seed, step) only.
    """
    order = np.argsort(source_bins, kind="stable")
    counts = np.bincount(source_bins, minlength=config.bins)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    present = np.flatnonzero(counts)
    pool = tf.constant(images[order])
    bins_sorted = tf.constant(source_bins[order].astype(np.int32))
    t_present = tf.constant(present.astype(np.int64))
    t_counts = tf.constant(counts.astype(np.float32))
    t_offsets = tf.constant(offsets.astype(np.int64))
    n, shape = len(images), (config.batch_size, config.n_critic)

    def batch_fn(step):
        if config.sampling == "balanced":
            which = tf.gather(t_present, stateless_ints(shape, seed, step, 0, len(present)))
            within = tf.floor(stateless_uniform(shape, seed, step, 1) * tf.gather(t_counts, which))
            index = tf.gather(t_offsets, which) + tf.cast(within, tf.int64)
        else:
            index = stateless_ints(shape, seed, step, 0, n)
        target = tf.cast(stateless_ints(shape, seed, step, 2, config.bins), tf.int32)
        return {"x": tf.gather(pool, index), "source": tf.gather(bins_sorted, index), "target": target}

    return lambda start: step_dataset(start, batch_fn)


def sample_grid(model, x):
    """A picture for TensorBoard and ``samples/``: per row the query, then I_f(x, c) for every bin c."""
    lo, hi = model.value_range
    bins = model.config.bins
    rows = []
    for xi in x:
        out, _ = model.generator([np.repeat(xi[None], bins, 0), np.arange(bins, dtype=np.int32)], training=False)
        rows.append(list((np.concatenate([xi[None], np.asarray(out)]) - lo) / (hi - lo)))
    return lc.tile_grid(rows)
