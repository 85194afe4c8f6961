"""DeepFill-v1's contextual attention and the small layers its generator needs (Yu et al., CVPR 2018, §3.2).

Everything follows the released v1.0.0 code (generative_attribution.md §1.2-1.3, §1.9), vectorised over the
batch, with one hole mask per sample (the Agarwal fork's change; the official v1 shares one mask per batch):

* nearest resizes use TF1's legacy ``align_corners=True`` rule (source index ``round(i (in-1)/(out-1))``),
  which is *not* stride slicing for downsamplings;
* matching: 3x3 patches of the background at 1/rate resolution, each divided by ``max(||patch||, 1e-4)``
  (the foreground is not normalised), scored against every foreground position (a convolution);
* fuse: the (foreground x background) score map is convolved with a 3x3 identity kernel, then the same
  after swapping H and W of both grids (attention propagation, k = 3);
* validity: a background patch is valid iff its 3x3 mask patch is entirely known; invalid patches get
  logit 0 before the softmax (scale 10) and weight 0 after it;
* paste: 4x4 full-resolution patches (stride 2) weighted by the attention scores and overlap-added
  (a transposed convolution), divided by 4.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from .layers import PACKAGE


def resize_nearest_align_corners(x, size):
    """TF1 ``resize_nearest_neighbor(align_corners=True)`` (neuralgym ``resize``); ``size`` an (h, w) tensor."""
    return tf.raw_ops.ResizeNearestNeighbor(images=x, size=tf.cast(size, tf.int32), align_corners=True,
                                            half_pixel_centers=False)


def _patches(x, size, stride):
    """(B, h', w', size*size*C) patches with SAME zero padding (``tf.image.extract_patches``)."""
    return tf.image.extract_patches(x, sizes=[1, size, size, 1], strides=[1, stride, stride, 1],
                                    rates=[1, 1, 1, 1], padding="SAME")


def _diagonal_sum(scores):
    """Convolve each (P, L) map with a 3x3 identity kernel, SAME: S'[p, q] = sum_d S[p+d, q+d], d in -1..1."""
    padded = tf.pad(scores, [[0, 0], [1, 1], [1, 1]])
    p, q = tf.shape(scores)[1], tf.shape(scores)[2]
    return padded[:, :p, :q] + scores + padded[:, 2:, 2:]


def _fuse(scores, fh, fw, bh, bw):
    """Attention propagation of the v1 code: identity conv along the flattened rows, then along the columns."""
    batch = tf.shape(scores)[0]
    y = _diagonal_sum(scores)
    y = tf.reshape(y, tf.stack([batch, fh, fw, bh, bw]))
    y = tf.reshape(tf.transpose(y, [0, 2, 1, 4, 3]), tf.stack([batch, fw * fh, bw * bh]))
    y = _diagonal_sum(y)
    y = tf.reshape(y, tf.stack([batch, fw, fh, bw, bh]))
    return tf.reshape(tf.transpose(y, [0, 2, 1, 4, 3]), tf.stack([batch, fh * fw, bh * bw]))


def _overlap_add(patches, rate, height, width):
    """Batched ``conv2d_transpose(y, raw_patches, strides=rate, SAME)`` for kernel 2*rate.

    ``patches`` is (B, h, w, 2r, 2r, C): the pasted patch of every coarse position. Output (B, H, W, C) with
    H = r h. Kernel offset k = r a + phase lands at full index r (i + a) + phase - pad_top, pad_top = r / 2.
    """
    batch = tf.shape(patches)[0]
    channels = patches.shape[-1]
    phases = []
    for ph in range(rate):
        for pw in range(rate):
            total = 0.0
            for ah in range(2):
                for aw in range(2):
                    part = patches[:, :, :, rate * ah + ph, rate * aw + pw, :]
                    total += tf.pad(part, [[0, 0], [ah, 1 - ah], [aw, 1 - aw], [0, 0]])
            phases.append(total)  # (B, h + 1, w + 1, C) on the coarse grid
    stacked = tf.concat(phases, axis=-1)  # channel order (ph, pw, C) as depth_to_space expects
    full = tf.nn.depth_to_space(stacked, rate)  # (B, r (h + 1), r (w + 1), C)
    pad_top = (2 * rate - rate) // 2  # TF SAME padding of the forward conv: total 2r - r, top half
    out = full[:, pad_top : pad_top + height, pad_top : pad_top + width, :]
    return tf.reshape(out, tf.stack([batch, height, width, channels]))


def contextual_attention(f, b, mask, ksize=3, stride=1, rate=2, fuse_k=3, softmax_scale=10.0, fuse=True):
    """DeepFill-v1 contextual attention (v1.0.0 ``inpaint_ops.contextual_attention``), batched.

    Args:
        f: (B, H, W, C) foreground features (the ones being filled).
        b: (B, H, W, C) background features (the ones copied from).
        mask: (B, H, W, 1) hole mask at this resolution, 1 = missing; or None (no hole).
        ksize, stride, rate, fuse_k, softmax_scale, fuse: the v1 defaults (3, 1, 2, 3, 10, True); only
            ``ksize=3, stride=1, fuse_k=3`` are supported (the only values the v1 network uses).
    Returns:
        (output (B, H, W, C), attention (B, H/rate * W/rate, H/rate * W/rate)).
    """
    if (ksize, stride, fuse_k) != (3, 1, 3):
        raise ValueError(f"contextual_attention: supports ksize=3, stride=1, fuse_k=3 only, got "
                         f"{(ksize, stride, fuse_k)}")
    shape = tf.shape(b)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = b.shape[-1]
    kernel = 2 * rate
    raw = tf.reshape(_patches(b, kernel, rate * stride), tf.stack([batch, -1, kernel * kernel * channels]))
    small = tf.stack([height // rate, width // rate])
    f_s = resize_nearest_align_corners(f, small)
    b_s = resize_nearest_align_corners(b, small)
    fh, fw = small[0], small[1]
    w_b = tf.reshape(_patches(b_s, ksize, stride), tf.stack([batch, -1, ksize * ksize * channels]))
    w_b = w_b / tf.maximum(tf.norm(w_b, axis=-1, keepdims=True), 1e-4)
    if mask is None:
        valid = tf.ones(tf.shape(w_b)[:2], f.dtype)
    else:
        m_s = resize_nearest_align_corners(tf.cast(mask, f.dtype), small)
        m_patch = tf.reshape(_patches(m_s, ksize, stride), tf.stack([batch, -1, ksize * ksize]))
        valid = tf.cast(tf.equal(tf.reduce_mean(m_patch, axis=-1), 0.0), f.dtype)  # (B, L)
    f_patch = tf.reshape(_patches(f_s, ksize, 1), tf.stack([batch, -1, ksize * ksize * channels]))
    scores = tf.einsum("bpk,bqk->bpq", f_patch, w_b)  # (B, P, L): the conv of f with the normalised filters
    if fuse:
        scores = _fuse(scores, fh, fw, fh, fw)
    scores = scores * valid[:, None, :]
    attention = tf.nn.softmax(scores * softmax_scale, axis=-1) * valid[:, None, :]
    pasted = tf.einsum("bpq,bqk->bpk", attention, raw)
    pasted = tf.reshape(pasted, tf.stack([batch, fh, fw, kernel, kernel, channels]))
    out = _overlap_add(pasted, rate, height, width) / 4.0
    return out, attention


@keras.saving.register_keras_serializable(package=PACKAGE)
class ContextualAttention(keras.layers.Layer):
    """Keras layer of :func:`contextual_attention` with ``f = b``; inputs ``[features, mask]``."""

    def __init__(self, rate=2, softmax_scale=10.0, fuse=True, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.softmax_scale, self.fuse = int(rate), float(softmax_scale), bool(fuse)

    def call(self, inputs):
        features, mask = inputs
        out, _ = contextual_attention(features, features, mask, rate=self.rate, softmax_scale=self.softmax_scale,
                                      fuse=self.fuse)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "softmax_scale": self.softmax_scale, "fuse": self.fuse}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResizeMaskLike(keras.layers.Layer):
    """``resize_mask_like(mask, x)``: the hole mask resized to a feature map's size (nearest, align_corners)."""

    def call(self, inputs):
        mask, like = inputs
        return resize_nearest_align_corners(mask, tf.shape(like)[1:3])

    def compute_output_shape(self, input_shape):
        return input_shape[1][:3] + (input_shape[0][-1],)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskChannels(keras.layers.Layer):
    """The generator's 5-channel input: concat([x, ones, ones * mask]) (v1 ``build_inpaint_net``)."""

    def call(self, inputs):
        x, mask = inputs
        ones = tf.ones_like(x[..., :1])
        return tf.concat([x, ones, ones * mask], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[0][:3] + (input_shape[0][-1] + 2,)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PasteHole(keras.layers.Layer):
    """Stage-2 input ``x1 * mask + x_incomplete * (1 - mask)`` (gradients flow into stage 1, as in v1)."""

    def call(self, inputs):
        generated, incomplete, mask = inputs
        return generated * mask + incomplete * (1.0 - mask)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package=PACKAGE)
class ClipUnit(keras.layers.Layer):
    """``tf.clip_by_value(x, -1, 1)``: DeepFill's output has no tanh."""

    def call(self, x):
        return tf.clip_by_value(x, -1.0, 1.0)
