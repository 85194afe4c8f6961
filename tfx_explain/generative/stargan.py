"""The GANMEX StarGAN (ganmex_main.txt §3, Eq. 9; ganmex_appendix.txt A.2; ganmex.md §1).

Generator and real/fake critic follow TF-GAN's StarGAN example as the GANMEX fork uses it:

- generator (ganmex.md §1.3): the target one-hot tiled as K input channels; pad 3 + 7x7 conv (w) + IN +
  ReLU; two pad 1 + 4x4 stride-2 convs (2w, 4w) with IN + ReLU after the first only (the reference drops
  the IN + ReLU after the second: ``reference_quirks=True`` keeps that); R residual blocks at 4w
  (pad 1 conv 3x3 IN ReLU, pad 1 conv 3x3 IN, add); two 4x4 stride-2 transposed convs (2w, w), VALID then
  cropped by one pixel, with IN + ReLU; pad 3 + 7x7 conv to C channels + tanh. All convs without bias,
  Glorot-uniform. With w = 64 and R = 6 this is the 8.4M-parameter generator.
- critic D_src (ganmex.md §1.4): [pad 1, 4x4 stride-2 conv, LeakyReLU 0.01] with 64, 128, ... filters,
  added while the feature map is at least 3 pixels (GANMEX's patch, so 28- and 32-px inputs work), at most
  6; then pad 1 + 3x3 conv to 1 channel and the mean over positions. No normalisation, no bias.
- D_cls: for GANMEX, the frozen classifier being explained (its pre-softmax logits on the GAN image
  mapped to the classifier's input space, called with training=False, ganmex.md §1.5). For the
  stand-alone ablation (``classifier_as_discriminator=False``, ganmex_main.txt §5), a Dense(K, no bias)
  head on the flattened critic trunk, trained jointly.

Losses per step (ganmex.md §1.6; one generator then one critic update, each on a fresh batch):
  L_G = -E D(G(x, c_t)) + lambda_cls CE(c_t, C(G(x, c_t))) + lambda_sim |x - G(x, c_t)|_1
        + lambda_rec |x - G(G(x, c_t), c_o)|_1                                     (Eq. 9)
  L_D = E D(G(x, c_t)) - E D(x) + lambda_gp GP  [+ lambda_cls CE(c_o, D_cls(x)) when stand-alone]
The GAN works in [-1, 1]; L1 terms are means over pixels in that space, as the reference computes them.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from . import losses
from .layers import InstanceNormalization, InverseTanh, SpatialMean, TileCondition
from .training import AdversarialModel


def _conv(x, filters, kernel, stride, pad, name):
    if pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=False, name=name)(x)


def _norm_relu(x, name):
    x = InstanceNormalization(name=f"{name}_in")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_generator(image_shape, num_classes, width=64, res_blocks=6, reference_quirks=True, input_skip=False):
    """G(x, c): images in [-1, 1] and a one-hot target (N, K) -> images in [-1, 1] (tanh).

    ``input_skip=True`` (not in the reference; used by the small CPU preset) adds the input to the
    pre-tanh output, tanh(h + artanh(0.99 x)), with the last conv initialised to zero, so the generator
    starts as the identity and a short run spends its steps on the class change rather than on learning
    to copy the input.
    """
    h, w, channels = image_shape
    if h % 4 or w % 4:
        from ..errors import InputError

        raise InputError(f"image_shape: the StarGAN generator needs H and W divisible by 4, got {image_shape}")
    image = keras.Input(shape=tuple(image_shape), name="image")
    target = keras.Input(shape=(num_classes,), name="target")
    x = TileCondition(name="condition")([image, target])
    x = _norm_relu(_conv(x, width, 7, 1, 3, "down0"), "down0")
    x = _norm_relu(_conv(x, 2 * width, 4, 2, 1, "down1"), "down1")
    x = _conv(x, 4 * width, 4, 2, 1, "down2")
    if not reference_quirks:  # the reference applies this IN + ReLU to a discarded tensor
        x = _norm_relu(x, "down2")
    for i in range(res_blocks):
        y = _norm_relu(_conv(x, 4 * width, 3, 1, 1, f"res{i}_a"), f"res{i}_a")
        y = InstanceNormalization(name=f"res{i}_b_in")(_conv(y, 4 * width, 3, 1, 1, f"res{i}_b"))
        x = layers.Add(name=f"res{i}_add")([x, y])
    for i, filters in enumerate((2 * width, width)):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="valid", use_bias=False, name=f"up{i}")(x)
        x = _norm_relu(x, f"up{i}")
        x = layers.Cropping2D(1, name=f"up{i}_crop")(x)
    if input_skip:  # zero-initialised last conv: G starts as (almost) the identity, 0.99 x
        x = layers.ZeroPadding2D(3, name="out_pad")(x)
        x = layers.Conv2D(channels, 7, padding="valid", use_bias=False, kernel_initializer="zeros", name="out")(x)
        x = layers.Add(name="input_skip")([x, InverseTanh(name="input_artanh")(image)])
    else:
        x = _conv(x, channels, 7, 1, 3, "out")
    out = layers.Activation("tanh", name="tanh", dtype="float32")(x)  # float32 under mixed precision too
    return keras.Model([image, target], out, name="generator")


def trunk_sizes(image_shape, max_layers=6):
    """Spatial sizes of the critic trunk: add stride-2 layers while the map is at least 3 px."""
    size, sizes = min(image_shape[:2]), []
    while len(sizes) < max_layers and size >= 3:
        size = (size + 2 - 4) // 2 + 1
        sizes.append(size)
    return sizes


def build_discriminator(image_shape, num_classes=None, width=64, max_layers=6):
    """D(x) -> real/fake score per image; with ``num_classes`` also D_cls logits (stand-alone ablation)."""
    image = keras.Input(shape=tuple(image_shape), name="image")
    x = image
    for i in range(len(trunk_sizes(image_shape, max_layers))):
        x = _conv(x, width * 2 ** i, 4, 2, 1, f"trunk{i}")
        x = layers.LeakyReLU(0.01, name=f"trunk{i}_lrelu")(x)
    source = SpatialMean(name="source", dtype="float32")(_conv(x, 1, 3, 1, 1, "source_map"))
    if num_classes is None:
        return keras.Model(image, source, name="discriminator")
    logits = layers.Dense(num_classes, use_bias=False, name="class_logits", dtype="float32")(
        layers.Flatten(name="flatten")(x))
    return keras.Model(image, [source, logits], name="discriminator")


class _Frozen:
    """Holds the classifier outside Keras' tracking: never trained, never checkpointed with the GAN."""

    __slots__ = ("model", "logits")

    def __init__(self, model, logits):
        self.model, self.logits = model, logits


class GanmexGAN(AdversarialModel):
    """The GANMEX StarGAN as a keras.Model: ``fit`` on step batches from :func:`ganmex_batches`."""

    loss_names = ("g_loss", "g_adv", "g_cls", "g_sim", "g_rec", "d_loss", "d_adv", "d_gp", "d_cls")

    def __init__(self, image_shape, num_classes, classifier_logits=None, *, width=64, res_blocks=6, d_width=64,
                 d_max_layers=6, lambda_cls=1000.0, lambda_sim=100.0, lambda_rec=0.0, lambda_gp=10.0,
                 input_range=(0.0, 1.0), reference_quirks=True, input_skip=False, d_steps=1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.standalone = classifier_logits is None
        self.generator = build_generator(image_shape, num_classes, width, res_blocks, reference_quirks, input_skip)
        self.discriminator = build_discriminator(image_shape, num_classes if self.standalone else None, d_width,
                                                 d_max_layers)
        self._classifier = _Frozen(None, classifier_logits)
        self.lambda_cls, self.lambda_sim = float(lambda_cls), float(lambda_sim)
        self.lambda_rec, self.lambda_gp = float(lambda_rec), float(lambda_gp)
        # (low, high) of the classifier's input: scalars or per-channel values (broadcast over NHWC)
        self.input_range = tuple(np.asarray(v, np.float32).tolist() for v in input_range)
        # The reference builds the reconstruction pass even at lambda_rec = 0 (ganmex.md §1.6); it adds
        # nothing to the loss or the gradients then, so we skip it.
        self.compute_reconstruction = self.lambda_rec > 0
        self.d_steps = int(d_steps)  # critic updates per generator update (reference: 1, TF-GAN upstream: 5)
        self._mark_built()

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def to_classifier_space(self, x):
        low, high = (tf.cast(v, x.dtype) for v in self.input_range)
        return low + (x + 1.0) * 0.5 * (high - low)

    def critic(self, x, training=True):
        out = self.discriminator(x, training=training)
        return out[0] if self.standalone else out

    def class_logits(self, x):
        """C(x): the frozen classifier's logits (GANMEX) or the jointly trained D_cls head (stand-alone)."""
        if self.standalone:
            return self.discriminator(x, training=True)[1]
        return self._classifier.logits(self.to_classifier_space(x))

    def train_step(self, batch):
        # 1. Generator update on its own batch: translate to random targets (Eq. 9).
        g = self._generator_step(batch["x_g"], batch["c_g"], batch["t_g"])
        # 2. Critic update(s), each on a fresh batch: WGAN-GP (+ D_cls on real images when stand-alone).
        for k in range(self.d_steps):  # critic batches are stacked on axis 1; axis 0 is split across replicas
            d = self._discriminator_step(batch["x_d"][:, k], batch["c_d"][:, k], batch["t_d"][:, k],
                                         batch["alpha"][:, k])
        return self.record(**g, **d)

    def _generator_step(self, x, source, target):
        t1 = tf.one_hot(target, self.num_classes)
        with tf.GradientTape() as tape:
            fake = self.generator([x, t1], training=True)
            adv = losses.wasserstein_generator_loss(self.critic(fake))
            cls = losses.softmax_cross_entropy(t1, self.class_logits(fake))
            sim = losses.l1_loss(x, fake)
            if self.compute_reconstruction:
                back = self.generator([fake, tf.one_hot(source, self.num_classes)], training=True)
                rec = losses.l1_loss(x, back)
            else:
                rec = tf.zeros_like(sim)
            per_example = adv + self.lambda_cls * cls + self.lambda_sim * sim + self.lambda_rec * rec
            loss = self.g_optimizer.scale_loss(losses.global_mean(per_example))  # scaled only for float16
        variables = self.generator_variables()
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return {"g_loss": tf.reduce_mean(per_example), "g_adv": tf.reduce_mean(adv), "g_cls": tf.reduce_mean(cls),
                "g_sim": tf.reduce_mean(sim), "g_rec": tf.reduce_mean(rec)}

    def _discriminator_step(self, x, source, target, alpha):
        fake = tf.stop_gradient(self.generator([x, tf.one_hot(target, self.num_classes)], training=True))
        with tf.GradientTape() as tape:
            adv = losses.wasserstein_discriminator_loss(self.critic(x), self.critic(fake))
            gp = losses.gradient_penalty(self.critic, x, fake, alpha)
            per_example = adv + self.lambda_gp * gp
            if self.standalone:
                cls = losses.softmax_cross_entropy(tf.one_hot(source, self.num_classes), self.class_logits(x))
                per_example += self.lambda_cls * cls
            else:  # inert under a frozen classifier (ganmex.md §1.6): logged, not trained
                cls = losses.softmax_cross_entropy(tf.one_hot(source, self.num_classes), self.class_logits(x))
            loss = self.d_optimizer.scale_loss(losses.global_mean(per_example))
        variables = self.discriminator_variables()
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        d_loss = per_example if self.standalone else per_example + self.lambda_cls * cls
        return {"d_loss": tf.reduce_mean(d_loss), "d_adv": tf.reduce_mean(adv), "d_gp": tf.reduce_mean(gp),
                "d_cls": tf.reduce_mean(cls)}


def class_balanced_batches(images, labels, num_classes, per_class, seed, d_steps=1):
    """``make_dataset(start_step)`` for :func:`train_loop`: class-balanced batches for one step.

    Each step holds ``per_class`` images of every class for the generator update and ``d_steps`` more such
    batches for the critic updates (the reference zips one dataset per class and pulls a fresh batch per update,
    ganmex.md §1.2, §1.7), random targets drawn uniformly over all K classes, the source included
    (ganmex.md §1.8), and the gradient-penalty mixing weights. Every draw depends only on (seed, step).
    """
    import numpy as np

    from .training import stateless_ints, stateless_uniform, step_dataset

    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=num_classes)
    if np.any(counts == 0):
        from ..errors import InputError

        raise InputError(f"data: every class needs training images; class(es) {np.flatnonzero(counts == 0)} "
                         "have none")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pool = tf.constant(images[order])
    pool_labels = tf.constant(labels[order].astype(np.int64))
    counts_t = tf.constant(counts[:, None].astype(np.float32))
    offsets_t = tf.constant(offsets[:, None].astype(np.int64))
    batch = num_classes * per_class

    def draw(step, stream):
        u = stateless_uniform((num_classes, per_class), seed, step, stream)
        index = tf.reshape(offsets_t + tf.cast(tf.floor(u * counts_t), tf.int64), (-1,))
        return tf.gather(pool, index), tf.gather(pool_labels, index)

    def batch_fn(step):
        x_g, c_g = draw(step, 0)
        critic = [draw(step, 10 + k) for k in range(d_steps)]
        return {"x_g": x_g, "c_g": c_g, "t_g": stateless_ints((batch,), seed, step, 2, num_classes),
                "x_d": tf.stack([x for x, _ in critic], axis=1), "c_d": tf.stack([c for _, c in critic], axis=1),
                "t_d": stateless_ints((batch, d_steps), seed, step, 3, num_classes),
                "alpha": stateless_uniform((batch, d_steps, 1, 1, 1), seed, step, 4)}

    return lambda start: step_dataset(start, batch_fn)


def streamed_class_balanced_batches(ds, num_classes, per_class, seed, d_steps=1, to_gan=None, strategy=None):
    """:func:`class_balanced_batches` for a dataset larger than memory: a resumable ``make_dataset``.

    ``ds``: a :func:`tfx_explain.data.stream.training_stream` of (image, int64 label), every class present.
    Step t takes the next ``per_class * (1 + d_steps)`` images of every class from per-class streams
    (:func:`tfx_explain.data.stream.class_blocks`): the first ``per_class`` for the generator update, the
    others for the critic updates, so every batch is exactly balanced, in the dataset's own order (shuffle it
    upstream with a seed). Targets and gradient-penalty weights are drawn from (seed, step) as in memory.
    ``to_gan``: images -> the generator's [-1, 1], in the graph. Returns a
    :class:`tfx_explain.data.stream.ResumableBatches`.
    """
    from ..data import stream
    from .training import stateless_ints, stateless_uniform

    k, p = int(num_classes), int(per_class)
    batch = k * p
    labels = tf.repeat(tf.range(k, dtype=tf.int64), p)  # class-major, as in memory

    def batch_fn(step, blocks):  # blocks: (K, p * (1 + d_steps), H, W, C)
        x = tf.cast(blocks, tf.float32)
        x = to_gan(x) if to_gan is not None else x
        shape = tf.shape(x)[2:]
        critic = tf.reshape(x[:, p:], tf.concat([[k, d_steps, p], shape], 0))
        critic = tf.transpose(critic, tf.concat([[0, 2, 1], tf.range(3, 3 + tf.size(shape))], 0))
        return {"x_g": tf.reshape(x[:, :p], tf.concat([[batch], shape], 0)), "c_g": labels,
                "t_g": stateless_ints((batch,), seed, step, 2, k),
                "x_d": tf.reshape(critic, tf.concat([[batch, d_steps], shape], 0)),
                "c_d": tf.tile(labels[:, None], [1, d_steps]),
                "t_d": stateless_ints((batch, d_steps), seed, step, 3, k),
                "alpha": stateless_uniform((batch, d_steps, 1, 1, 1), seed, step, 4)}

    batches = stream.stepped(stream.class_blocks(ds, k, p * (1 + int(d_steps))), batch_fn)
    return stream.ResumableBatches(batches, *stream.resume_mode(batches, strategy))
