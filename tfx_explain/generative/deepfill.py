"""DeepFill-v1 (Yu et al., "Generative Image Inpainting with Contextual Attention", CVPR 2018) in Keras 3.

Faithful to the released v1.0.0 code (generative_attribution.md §1): a coarse network and a refinement
network with contextual attention (ELU convolutions, dilations 2/4/8/16, output clipped to [-1, 1], no
normalisation), WGAN-GP global and local critics (5x5 stride-2 convs, LeakyReLU 0.2), and the losses of
``build_graph_with_losses``: spatially discounted L1 on the local patch, L1 on the known pixels ("ae"),
WGAN losses of both critics and a gradient penalty masked by the hole. Images are in [-1, 1], masks 1 = hole.

Differences from v1, all documented where they happen: one hole mask per sample (v1 shares one per batch;
SP and LIME need per-sample masks); G and D have separate Adam optimizers (v1 shares one object, so Adam's
bias correction counts D and G steps together); the gradient-penalty norm has 1e-10 inside the square root
(v1 has none; it avoids NaN gradients where the masked gradient is exactly zero).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from . import losses
from .contextual_attention import ClipUnit, ContextualAttention, MaskChannels, PasteHole, ResizeMaskLike
from .training import AdversarialModel, stateless_ints, stateless_uniform

DILATIONS = (2, 4, 8, 16)


def _conv(cnum, ksize, name, stride=1, rate=1, activation="elu"):
    """v1 ``gen_conv``: SAME-padded conv with bias and ELU (None for the last layer)."""
    return layers.Conv2D(cnum, ksize, strides=stride, dilation_rate=rate, padding="same", activation=activation,
                         name=name)


def _deconv(x, cnum, name):
    """v1 ``gen_deconv``: x2 nearest upsampling (align_corners x2 equals repeat) then a 3x3 conv."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=name)(x)
    return _conv(cnum, 3, f"{name}_conv")(x)


def _dilated_encoder(x, c, prefix, widths):
    """v1's six-conv encoder: 5x5 then 3x3 convs, layers 2 and 4 downsampling; ``widths`` in units of ``c``
    (the coarse net and the refinement's hallucination branch differ only in layer 2's width)."""
    for i, w in enumerate(widths, start=1):
        downsample = i in (2, 4)
        layer_name = f"{prefix}{i}_downsample" if downsample else f"{prefix}{i}"
        x = _conv(w * c, 5 if i == 1 else 3, layer_name, stride=2 if downsample else 1)(x)
    return x


def _dilations(x, c, prefix):
    """v1's dilated 3x3 convs, layers 7-10 (rates 2, 4, 8, 16)."""
    for i, rate in enumerate(DILATIONS, start=7):
        x = _conv(4 * c, 3, f"{prefix}{i}_atrous", rate=rate)(x)
    return x


def build_generator(cnum=32, name="inpaint_net"):
    """The two-stage generator ``[x_incomplete (B,H,W,3), mask (B,H,W,1)] -> [x_stage1, x_stage2]``.

    Layer names and widths are those of the released checkpoint (§1.2, §1.8): ``cnum=32`` gives 3,601,542
    parameters. H and W must be multiples of 8; the model takes any such size.
    """
    c = int(cnum)
    x_in = keras.Input((None, None, 3), name="x_incomplete")
    mask = keras.Input((None, None, 1), name="mask")
    x = MaskChannels(name="stage1_input")([x_in, mask])
    x = _dilated_encoder(x, c, "conv", widths=(1, 2, 2, 4, 4, 4))
    mask_s = ResizeMaskLike(name="mask_s")([mask, x])
    x = _dilations(x, c, "conv")
    x = _conv(4 * c, 3, "conv11")(x)
    x = _conv(4 * c, 3, "conv12")(x)
    x = _deconv(x, 2 * c, "conv13_upsample")
    x = _conv(2 * c, 3, "conv14")(x)
    x = _deconv(x, c, "conv15_upsample")
    x = _conv(c // 2, 3, "conv16")(x)
    x = _conv(3, 3, "conv17", activation=None)(x)
    x_stage1 = ClipUnit(name="x_stage1")(x)

    x = PasteHole(name="stage2_paste")([x_stage1, x_in, mask])
    x_now = MaskChannels(name="stage2_input")([x, mask])
    h = _dilations(_dilated_encoder(x_now, c, "xconv", widths=(1, 1, 2, 2, 4, 4)), c, "xconv")  # hallucination
    a = _conv(c, 5, "pmconv1")(x_now)  # attention branch
    a = _conv(c, 3, "pmconv2_downsample", stride=2)(a)
    a = _conv(2 * c, 3, "pmconv3")(a)
    a = _conv(4 * c, 3, "pmconv4_downsample", stride=2)(a)
    a = _conv(4 * c, 3, "pmconv5")(a)
    a = _conv(4 * c, 3, "pmconv6", activation="relu")(a)
    a = ContextualAttention(rate=2, softmax_scale=10.0, fuse=True, name="contextual_attention")([a, mask_s])
    a = _conv(4 * c, 3, "pmconv9")(a)
    a = _conv(4 * c, 3, "pmconv10")(a)
    x = layers.Concatenate(axis=-1, name="merge")([h, a])
    x = _conv(4 * c, 3, "allconv11")(x)
    x = _conv(4 * c, 3, "allconv12")(x)
    x = _deconv(x, 2 * c, "allconv13_upsample")
    x = _conv(2 * c, 3, "allconv14")(x)
    x = _deconv(x, c, "allconv15_upsample")
    x = _conv(c // 2, 3, "allconv16")(x)
    x = _conv(3, 3, "allconv17", activation=None)(x)
    x_stage2 = ClipUnit(name="x_stage2")(x)
    return keras.Model([x_in, mask], [x_stage1, x_stage2], name=name)


def build_critic(input_shape, cnum=64, widths=(1, 2, 4, 4), name="discriminator_global"):
    """WGAN critic of v1 (``build_wgan_global/local_discriminator``): 4 ``dis_conv`` (5x5, stride 2,
    LeakyReLU 0.2 = TF1's default alpha, not Keras' 0.3), flatten, dense(1). Global widths (1, 2, 4, 4) x 64;
    local widths (1, 2, 4, 8) x 64."""
    suffix = name.rsplit("_", 1)[-1]
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    for i, width in enumerate(widths, start=1):
        x = layers.Conv2D(int(cnum) * width, 5, strides=2, padding="same", name=f"conv{i}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"lrelu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(1, name=f"dout_{suffix}_fc")(x)
    return keras.Model(inputs, out[:, 0], name=name)


def spatial_discount(height, width, gamma):
    """v1 ``spatial_discounting_mask``: D[i, j] = max(gamma^min(i, H-i), gamma^min(j, W-j)) over the local box.

    The distance is to the box edges (as the released code; the paper describes the distance to the nearest
    known pixel), and v1's ``inpaint.yml`` uses gamma = 0.9 where the paper states 0.99 (issue #74).
    """
    i = np.arange(height)
    j = np.arange(width)
    di = gamma ** np.minimum(i, height - i)
    dj = gamma ** np.minimum(j, width - j)
    return np.maximum(di[:, None], dj[None, :]).astype(np.float32)


def crop_boxes(x, tops, size):
    """Per-sample crops ``x[b, top:top+h, left:left+w]`` of a fixed size; tops (B, 2) int."""
    h, w = size
    rows = tops[:, 0:1] + tf.range(h)[None]
    cols = tops[:, 1:2] + tf.range(w)[None]
    x = tf.gather(x, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


class DeepFillModel(AdversarialModel):
    """DeepFill-v1 training (``build_graph_with_losses`` + 5 critic steps per generator step).

    A batch is a dict with ``images`` (B, n_critic + 1, H, W, 3) in [-1, 1], ``masks`` (B, n_critic + 1, H, W, 1),
    ``boxes`` (B, n_critic + 1, 2), the top-left corners of the local boxes, and ``alphas`` (B, n_critic + 1, 2),
    the gradient-penalty interpolation weights: slot k < n_critic feeds the
    k-th critic step, the last slot the generator step (each step draws a fresh batch and box, as v1's
    ``SecondaryTrainer``). Batch first, so tf.distribute splits samples, not steps.
    """

    loss_names = ("g_loss", "d_loss", "l1", "ae", "g_gan", "gp")

    def __init__(self, image_size, box_size, cnum=32, d_cnum=64, n_critic=5, gamma=0.9, coarse_alpha=1.2,
                 l1_alpha=1.2, ae_alpha=1.2, gan_alpha=0.001, global_wgan_alpha=1.0, gp_lambda=10.0, seed=0,
                 **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.box_size = tuple(image_size), tuple(box_size)
        self.n_critic = int(n_critic)
        self.gamma, self.coarse_alpha, self.l1_alpha, self.ae_alpha = gamma, coarse_alpha, l1_alpha, ae_alpha
        self.gan_alpha, self.global_wgan_alpha = gan_alpha, global_wgan_alpha
        self.gp_lambda, self.seed = gp_lambda, seed
        self.generator = build_generator(cnum)
        self.critic_global = build_critic(self.image_size + (3,), d_cnum, (1, 2, 4, 4), "discriminator_global")
        self.critic_local = build_critic(self.box_size + (3,), d_cnum, (1, 2, 4, 8), "discriminator_local")
        self.discount = tf.constant(spatial_discount(*self.box_size, gamma)[None, :, :, None])
        self._mark_built()

    def discriminator_variables(self):
        return self.critic_global.trainable_variables + self.critic_local.trainable_variables

    def complete(self, images, masks, training=True):
        """(x1, x2, completed) for ground truth images and hole masks."""
        incomplete = images * (1.0 - masks)
        x1, x2 = self.generator([incomplete, masks], training=training)
        return x1, x2, x2 * masks + incomplete * (1.0 - masks)

    def critic_losses(self, images, masks, boxes, completed, alphas):
        """Per-example d_loss = d_global + d_local + lambda (gp_local + gp_global), and the gp alone.

        ``alphas`` (B, 2) are the interpolation weights of the global and local penalties (neuralgym
        ``random_interpolates``: one U(0, 1) per sample), drawn with the batch so replicas agree.
        """
        local_real = crop_boxes(images, boxes, self.box_size)
        local_fake = crop_boxes(completed, boxes, self.box_size)
        local_mask = crop_boxes(masks, boxes, self.box_size)
        d = (losses.wasserstein_discriminator_loss(self.critic_global(images, training=True),
                                                   self.critic_global(completed, training=True))
             + losses.wasserstein_discriminator_loss(self.critic_local(local_real, training=True),
                                                     self.critic_local(local_fake, training=True)))
        alpha_g, alpha_l = alphas[:, 0, None, None, None], alphas[:, 1, None, None, None]
        gp = (losses.gradient_penalty(self.critic_global, images, completed, alpha_g, mask=masks)
              + losses.gradient_penalty(self.critic_local, local_real, local_fake, alpha_l, mask=local_mask))
        return d + self.gp_lambda * gp, gp

    def generator_losses(self, images, masks, boxes):
        """Per-example g_loss = gan_alpha g_gan + l1_alpha l1 + ae_alpha ae (v1 ``build_graph_with_losses``)."""
        x1, x2, completed = self.complete(images, masks)
        local = lambda t: crop_boxes(t, boxes, self.box_size)  # noqa: E731
        gt_local = local(images)
        l1 = (self.coarse_alpha * losses.per_example_mean(tf.abs(gt_local - local(x1)) * self.discount)
              + losses.per_example_mean(tf.abs(gt_local - local(x2)) * self.discount))
        known = 1.0 - masks
        ae = (self.coarse_alpha * losses.per_example_mean(tf.abs(images - x1) * known)
              + losses.per_example_mean(tf.abs(images - x2) * known)) / losses.per_example_mean(known)
        global_score = self.critic_global(completed, training=True)
        local_score = self.critic_local(local(completed), training=True)
        g_gan = (self.global_wgan_alpha * losses.wasserstein_generator_loss(global_score)
                 + losses.wasserstein_generator_loss(local_score))
        total = self.gan_alpha * g_gan + self.l1_alpha * l1 + self.ae_alpha * ae
        return total, l1, ae, g_gan

    def train_step(self, batch):
        images, masks, boxes, alphas = batch["images"], batch["masks"], batch["boxes"], batch["alphas"]
        d_loss, gp = tf.zeros(()), tf.zeros(())
        for k in range(self.n_critic):
            img_k, mask_k, box_k = images[:, k], masks[:, k], boxes[:, k]
            _, _, completed = self.complete(img_k, mask_k)
            completed = tf.stop_gradient(completed)
            with tf.GradientTape() as tape:
                d_per, gp_per = self.critic_losses(img_k, mask_k, box_k, completed, alphas[:, k])
                d_loss = losses.global_mean(d_per)
            grads = tape.gradient(d_loss, self.discriminator_variables())
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator_variables()))
            gp = losses.global_mean(gp_per)
        img_g, mask_g, box_g = images[:, -1], masks[:, -1], boxes[:, -1]
        with tf.GradientTape() as tape:
            g_per, l1, ae, g_gan = self.generator_losses(img_g, mask_g, box_g)
            g_loss = losses.global_mean(g_per)
        grads = tape.gradient(g_loss, self.generator_variables())
        self.g_optimizer.apply_gradients(zip(grads, self.generator_variables()))
        return self.record(g_loss=g_loss, d_loss=d_loss, l1=losses.global_mean(l1), ae=losses.global_mean(ae),
                           g_gan=losses.global_mean(g_gan), gp=gp)

    def checkpoint(self, step):
        return tf.train.Checkpoint(generator=self.generator, critic_global=self.critic_global,
                                   critic_local=self.critic_local, g_optimizer=self.g_optimizer,
                                   d_optimizer=self.d_optimizer, step=step)


# ---- training data: one batch per step, a function of (seed, step) only ------------------------------

def box_masks(tops, box_size, shrink, image_size):
    """v1 ``bbox2mask`` per sample: the local box at ``tops`` (B, 2) shrunk by ``shrink`` (B, 2) px on each
    side (the same amount top and bottom, left and right). Returns (B, H, W, 1) float32, 1 = hole."""
    rows = tf.range(image_size[0], dtype=tops.dtype)[None]
    cols = tf.range(image_size[1], dtype=tops.dtype)[None]
    top, left = tops[:, 0:1] + shrink[:, 0:1], tops[:, 1:2] + shrink[:, 1:2]
    bottom, right = tops[:, 0:1] + box_size[0] - shrink[:, 0:1], tops[:, 1:2] + box_size[1] - shrink[:, 1:2]
    in_rows = (rows >= top) & (rows < bottom)
    in_cols = (cols >= left) & (cols < right)
    return tf.cast(in_rows[:, :, None] & in_cols[:, None, :], tf.float32)[..., None]


def batch_function(images_uint8, batch_size, slots, box_size, max_delta, flip, seed):
    """``step -> {"images", "masks", "boxes"}`` with ``slots`` fresh batches per step (n_critic + 1).

    Boxes are uniform over the image (v1 ``random_bbox`` with zero margins); the hole is the box shrunk by
    U{0..max_delta//2} px per side (v1 ``bbox2mask``); images are mapped to [-1, 1] and optionally flipped
    left-right. Every draw depends only on (seed, step), so resumed and distributed runs are exact.
    """
    pool = tf.constant(images_uint8)
    n = images_uint8.shape[0]
    count = int(batch_size) * int(slots)
    masked = _masked_batch(images_uint8.shape[1:3], batch_size, slots, box_size, max_delta, flip, seed)
    return lambda step: masked(step, tf.gather(pool, stateless_ints([count], seed, step, 0, n)))


def streamed_batches(images_uint8, batch_size, slots, box_size, max_delta, flip, seed, strategy=None):
    """:func:`batch_function` for a dataset larger than memory: a resumable ``make_dataset`` for train_loop.

    ``images_uint8``: an unbatched tf.data.Dataset of (H, W, 3) uint8 images. Step t takes the next
    ``batch_size * slots`` images in stream order (repeated; shuffle upstream with a seed); flips, boxes and
    holes are drawn from (seed, step) as in memory. Returns a :class:`tfx_explain.data.stream.ResumableBatches`.
    """
    from ..data import stream

    height, width = (int(d) for d in images_uint8.element_spec.shape[:2])
    masked = _masked_batch((height, width), batch_size, slots, box_size, max_delta, flip, seed)
    batches = stream.stepped(stream.image_blocks(images_uint8, int(batch_size) * int(slots), has_labels=False),
                             masked)
    return stream.ResumableBatches(batches, *stream.resume_mode(batches, strategy))


def _masked_batch(image_size, batch_size, slots, box_size, max_delta, flip, seed):
    """``(step, uint8 images (batch_size * slots, H, W, 3)) -> dict``: the draws of :func:`batch_function`."""
    height, width = (int(d) for d in image_size)
    count = int(batch_size) * int(slots)

    def batch_fn(step, images):
        x = tf.cast(images, tf.float32) / 127.5 - 1.0
        if flip:
            flipped = stateless_uniform([count, 1, 1, 1], seed, step, 1) < 0.5
            x = tf.where(flipped, x[:, :, ::-1], x)
        tops = tf.stack([stateless_ints([count], seed, step, 2, height - box_size[0] + 1),
                         stateless_ints([count], seed, step, 3, width - box_size[1] + 1)], axis=1)
        shrink = tf.stack([stateless_ints([count], seed, step, 4, max_delta[0] // 2 + 1),
                           stateless_ints([count], seed, step, 5, max_delta[1] // 2 + 1)], axis=1)
        masks = box_masks(tops, box_size, shrink, (height, width))
        per_step = lambda t: tf.reshape(t, tf.concat([[batch_size, slots], tf.shape(t)[1:]], 0))  # noqa: E731
        alphas = stateless_uniform([count, 2], seed, step, 6)
        return {"images": per_step(x), "masks": per_step(masks), "boxes": per_step(tf.cast(tops, tf.int32)),
                "alphas": per_step(alphas)}

    return batch_fn


# ---- the released TF1 checkpoint (§1.8) ---------------------------------------------------------------

def tf1_variable_map(generator, scope="inpaint_net"):
    """{TF1 variable name: Keras variable} for every kernel and bias of the generator (84 for v1)."""
    out = {}
    for layer in generator.layers:
        if not isinstance(layer, layers.Conv2D):
            continue
        path = layer.name
        if layer.name.endswith("_upsample_conv"):
            path = f"{layer.name[: -len('_conv')]}/{layer.name}"
        out[f"{scope}/{path}/kernel"] = layer.kernel
        out[f"{scope}/{path}/bias"] = layer.bias
    return out
