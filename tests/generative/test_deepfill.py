"""DeepFill-v1: layout of the released checkpoint, contextual attention against a per-sample reference written
from the v1 code (generative_attribution.md §1.3), the TF1 loader, the inpainter's pixel guarantees, losses."""
import numpy as np
import pytest
import tensorflow as tf

from tfx_explain import inpainting
from tfx_explain.errors import InputError, MismatchError
from tfx_explain.generative import losses
from tfx_explain.generative.contextual_attention import contextual_attention, resize_nearest_align_corners
from tfx_explain.generative.deepfill import (DeepFillModel, batch_function, build_generator, spatial_discount,
                                            tf1_variable_map)
from tfx_explain.distribute import mirrored


def released_layout(c):
    """{TF1 name: kernel shape} of the released generator (§1.8), for width c (32 in the release)."""
    table = {"conv1": (5, 5, 5, c), "conv2_downsample": (3, 3, c, 2 * c), "conv3": (3, 3, 2 * c, 2 * c),
             "conv4_downsample": (3, 3, 2 * c, 4 * c), "conv13_upsample/conv13_upsample_conv": (3, 3, 4 * c, 2 * c),
             "conv14": (3, 3, 2 * c, 2 * c), "conv15_upsample/conv15_upsample_conv": (3, 3, 2 * c, c),
             "conv16": (3, 3, c, c // 2), "conv17": (3, 3, c // 2, 3), "xconv1": (5, 5, 5, c),
             "xconv2_downsample": (3, 3, c, c), "xconv3": (3, 3, c, 2 * c), "xconv4_downsample": (3, 3, 2 * c, 2 * c),
             "xconv5": (3, 3, 2 * c, 4 * c), "pmconv1": (5, 5, 5, c), "pmconv2_downsample": (3, 3, c, c),
             "pmconv3": (3, 3, c, 2 * c), "pmconv4_downsample": (3, 3, 2 * c, 4 * c),
             "allconv11": (3, 3, 8 * c, 4 * c), "allconv12": (3, 3, 4 * c, 4 * c),
             "allconv13_upsample/allconv13_upsample_conv": (3, 3, 4 * c, 2 * c), "allconv14": (3, 3, 2 * c, 2 * c),
             "allconv15_upsample/allconv15_upsample_conv": (3, 3, 2 * c, c), "allconv16": (3, 3, c, c // 2),
             "allconv17": (3, 3, c // 2, 3)}
    for name in ["conv5", "conv6", "conv11", "conv12", "xconv6", "pmconv5", "pmconv6", "pmconv9", "pmconv10"] + \
            [f"{p}conv{i}_atrous" for p in ("", "x") for i in (7, 8, 9, 10)]:
        table[name] = (3, 3, 4 * c, 4 * c)
    out = {}
    for name, shape in table.items():
        out[f"inpaint_net/{name}/kernel"] = shape
        out[f"inpaint_net/{name}/bias"] = (shape[-1],)
    return out


def test_generator_has_the_released_variables_and_parameter_count():
    generator = build_generator(32)
    assert generator.count_params() == 3_601_542
    mapping = tf1_variable_map(generator)
    assert len(mapping) == 84
    assert {k: tuple(v.shape) for k, v in mapping.items()} == released_layout(32)


def test_nearest_resize_uses_legacy_align_corners_indices():
    x = tf.reshape(tf.range(64, dtype=tf.float32), (1, 64, 1, 1))
    down = resize_nearest_align_corners(x, [32, 1]).numpy().ravel()
    expected = np.round(np.arange(32) * 63 / 31).astype(int)  # round(i (in-1)/(out-1))
    assert down.tolist() == expected.tolist()
    assert down[:16].tolist() == list(range(0, 32, 2)) and down[16] == 33  # not stride slicing
    up = resize_nearest_align_corners(tf.reshape(tf.range(32.0), (1, 32, 1, 1)), [64, 1]).numpy().ravel()
    assert up.tolist() == np.repeat(np.arange(32.0), 2).tolist()  # x2 equals pixel repeat


def reference_attention(f, b, mask, rate=2, scale=10.0):
    """One sample at a time with conv2d / conv2d_transpose, as the v1 code (§1.3)."""
    outs = []
    for i in range(f.shape[0]):
        fi, bi, mi = f[i : i + 1], b[i : i + 1], mask[i : i + 1]
        h, w, c = bi.shape[1:]
        raw = tf.image.extract_patches(bi, [1, 4, 4, 1], [1, rate, rate, 1], [1, 1, 1, 1], "SAME")
        raw = tf.transpose(tf.reshape(raw, (-1, 4, 4, c)), [1, 2, 3, 0])  # (4, 4, C, L)
        fs = resize_nearest_align_corners(fi, [h // rate, w // rate])
        bs = resize_nearest_align_corners(bi, [h // rate, w // rate])
        ms = resize_nearest_align_corners(mi, [h // rate, w // rate])
        wb = tf.image.extract_patches(bs, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")
        wb = tf.transpose(tf.reshape(wb, (-1, 3, 3, c)), [1, 2, 3, 0])  # (3, 3, C, L)
        wb = wb / tf.maximum(tf.sqrt(tf.reduce_sum(tf.square(wb), axis=[0, 1, 2])), 1e-4)
        mm = tf.image.extract_patches(ms, [1, 3, 3, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")
        mm = tf.cast(tf.equal(tf.reduce_mean(tf.reshape(mm, (-1, 9)), axis=1), 0.0), tf.float32)
        y = tf.nn.conv2d(fs, wb, 1, "SAME")  # (1, fh, fw, L)
        fh, fw = fs.shape[1:3]
        eye = tf.reshape(tf.eye(3), (3, 3, 1, 1))
        y = tf.nn.conv2d(tf.reshape(y, (1, fh * fw, fh * fw, 1)), eye, 1, "SAME")
        y = tf.transpose(tf.reshape(y, (1, fh, fw, fh, fw)), [0, 2, 1, 4, 3])
        y = tf.nn.conv2d(tf.reshape(y, (1, fh * fw, fh * fw, 1)), eye, 1, "SAME")
        y = tf.transpose(tf.reshape(y, (1, fw, fh, fw, fh)), [0, 2, 1, 4, 3])
        y = tf.reshape(y, (1, fh, fw, fh * fw)) * mm
        y = tf.nn.softmax(y * scale, axis=3) * mm
        outs.append(tf.nn.conv2d_transpose(y, raw, (1, h, w, c), rate, "SAME") / 4.0)
    return tf.concat(outs, axis=0)


def test_contextual_attention_equals_the_per_sample_reference(rng):
    f = tf.constant(rng.normal(size=(3, 16, 12, 4)).astype(np.float32))
    mask = np.zeros((3, 16, 12, 1), np.float32)
    mask[0, 4:10, 3:8] = 1
    mask[1, 0:6, 6:12] = 1  # sample 2 has no hole
    out, attention = contextual_attention(f, f, tf.constant(mask))
    np.testing.assert_allclose(out.numpy(), reference_attention(f, f, tf.constant(mask)).numpy(), atol=2e-5)
    assert out.shape == f.shape
    # weights of invalid background patches are exactly 0; without a hole each row sums to 1
    small = resize_nearest_align_corners(tf.constant(mask), [8, 6]).numpy()[..., 0]
    padded = np.pad(small, [(0, 0), (1, 1), (1, 1)])
    touched = np.stack([padded[:, i : i + 8, j : j + 6] for i in range(3) for j in range(3)]).max(axis=0)
    invalid = touched.reshape(3, -1) > 0
    assert invalid[0].any() and np.all(attention.numpy()[invalid[:, None, :].repeat(48, axis=1)] == 0)
    np.testing.assert_allclose(attention.numpy()[2].sum(axis=1), 1.0, atol=1e-5)


def write_tf1_checkpoint(prefix, cnum, rng):
    """A checkpoint under the released names (plus a critic variable to ignore), random values."""
    names, tensors = [], []
    for name, shape in released_layout(cnum).items():
        names.append(name)
        tensors.append(rng.normal(size=shape).astype(np.float32))
    names.append("discriminator/discriminator_local/conv1/kernel")
    tensors.append(np.zeros((5, 5, 3, 8), np.float32))
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    tf.compat.v1.train.update_checkpoint_state(str(prefix.parent), str(prefix))  # the 'checkpoint' file
    return dict(zip(names, tensors))


def test_tf1_loader_maps_every_variable(tmp_path, rng):
    values = write_tf1_checkpoint(tmp_path / "snap-0", 4, rng)
    loaded = inpainting.load(tmp_path)
    assert loaded.channel_order == "BGR" and loaded.cnum == 4
    mapping = tf1_variable_map(loaded.generator)
    assert len(mapping) == 84 and loaded.metadata["mapped_variables"] == 84
    for name, variable in mapping.items():
        np.testing.assert_array_equal(variable.numpy(), values[name])
    mapped = {id(v) for v in mapping.values()}
    assert all(id(v) in mapped for v in loaded.generator.trainable_variables)  # nothing left unmapped


def test_tf1_loader_refuses_an_incomplete_checkpoint(tmp_path, rng):
    names = ["inpaint_net/conv1/kernel", "inpaint_net/conv1/bias"]
    tf.raw_ops.SaveV2(prefix=str(tmp_path / "snap-0"), tensor_names=names, shape_and_slices=["", ""],
                      tensors=[np.zeros((5, 5, 5, 4), np.float32), np.zeros(4, np.float32)])
    with pytest.raises(MismatchError, match="lacks 82"):
        inpainting.load(tmp_path / "snap-0")


@pytest.fixture(scope="module")
def random_inpainter():
    tf.keras.utils.set_random_seed(0)
    return inpainting.Inpainter(build_generator(4))


@pytest.mark.parametrize("shape", [(3, 28, 28, 1), (2, 32, 40, 3)])
def test_inpaint_keeps_known_pixels_exactly(random_inpainter, rng, shape):
    images = rng.uniform(size=shape).astype(np.float32)
    masks = (rng.uniform(size=shape[:3]) > 0.6).astype(np.float32)
    out = random_inpainter.inpaint(images, masks, batch_size=2)
    assert out.shape == images.shape and out.dtype == np.float32
    known = np.broadcast_to(masks[..., None] == 0, shape)
    np.testing.assert_array_equal(out[known], images[known])
    assert np.abs(out[~known] - images[~known]).max() > 0  # the hole is filled with something else
    assert out.min() >= 0 and out.max() <= 1


def test_inpaint_is_batched_per_sample(random_inpainter, rng):
    images = rng.uniform(size=(4, 16, 16, 3)).astype(np.float32)
    masks = np.zeros((4, 16, 16), np.float32)
    for i in range(4):
        masks[i, 2 * i : 2 * i + 6, 3:9] = 1
    together = random_inpainter.inpaint(images, masks, batch_size=4)
    alone = np.concatenate([random_inpainter.inpaint(images[i : i + 1], masks[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_bundled_inpainter_fills_composite_holes():
    from tfx_explain import data

    bundled = inpainting.load()
    x, _, m = data.load("composite_fashion_mnist", "test", image_size=64, with_masks=True, max_per_class=2)
    out = bundled.inpaint(x, m)
    np.testing.assert_array_equal(out[m[..., 0] == 0], x[m[..., 0] == 0])
    assert bundled.metadata["config"]["image_size"] == [64, 64]


def test_inpaint_rejects_bad_masks(random_inpainter):
    with pytest.raises(InputError, match="masks"):
        random_inpainter.inpaint(np.zeros((2, 16, 16, 3)), np.zeros((3, 16, 16)))
    with pytest.raises(InputError, match="grey or RGB"):
        random_inpainter.inpaint(np.zeros((2, 16, 16, 2)), np.zeros((2, 16, 16)))
    with pytest.raises(InputError, match="image_size"):
        inpainting.training_config("cpu_small", {"image_size": 60})
    with pytest.raises(InputError, match="unknown keys"):
        inpainting.training_config("cpu_small", {"width": 3})


def test_spatial_discount_closed_form():
    d = spatial_discount(8, 6, 0.9)
    assert d[0, 0] == 1.0 and d[0, 3] == 1.0
    assert d[4, 3] == pytest.approx(0.9 ** 3)  # max(0.9^min(4, 4), 0.9^min(3, 3))
    assert d[2, 1] == pytest.approx(0.9)  # max(0.9^2, 0.9^1)


def test_masked_gradient_penalty_by_hand():
    weight = tf.constant([[1.0, 2.0], [3.0, 4.0]])[None, :, :, None]
    critic = lambda x, training=True: tf.reduce_sum(x * weight, axis=[1, 2, 3])  # noqa: E731 - gradient = weight
    real, fake = tf.zeros((1, 2, 2, 1)), tf.ones((1, 2, 2, 1))
    mask = tf.constant([[0.0, 1.0], [1.0, 0.0]])[None, :, :, None]
    gp = losses.gradient_penalty(critic, real, fake, tf.fill((1, 1, 1, 1), 0.5), mask=mask)
    assert float(gp[0]) == pytest.approx((np.sqrt(4 + 9) - 1) ** 2, rel=1e-6)


def _one_step(strategy, batch):
    tf.keras.utils.set_random_seed(1)
    with strategy.scope():
        model = DeepFillModel((16, 16), (8, 8), cnum=4, d_cnum=4, n_critic=1)
        model.compile(tf.keras.optimizers.Adam(1e-3), tf.keras.optimizers.Adam(1e-3))
        model.build_optimizers()
    parts = strategy.num_replicas_in_sync
    per = len(batch["images"]) // parts
    dist = strategy.experimental_distribute_values_from_function(
        lambda ctx: {k: v[ctx.replica_id_in_sync_group * per : (ctx.replica_id_in_sync_group + 1) * per]
                     for k, v in batch.items()})
    strategy.run(model.train_step, args=(dist,))
    return model.generator.get_weights()


def test_train_step_is_the_same_on_one_and_two_replicas(logical_cpus, rng):
    images = (rng.uniform(size=(8, 16, 16, 3)) * 255).astype(np.uint8)
    batch = batch_function(images, 4, 2, (8, 8), (2, 2), True, seed=3)(tf.constant(0, tf.int64))
    one = _one_step(tf.distribute.get_strategy(), batch)
    two = _one_step(mirrored(logical_cpus), batch)
    for a, b in zip(one, two):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_train_resumes_exactly(tmp_path, rng):
    images = rng.uniform(size=(12, 16, 16, 3)).astype(np.float32)
    tiny = dict(preset="cpu_small", image_size=16, cnum=4, d_cnum=4, batch_size=2, n_critic=0, verbose=0,
                run_eagerly=True)  # no critic step: the two-replica test covers it; this one is about resuming
    inpainting.train(images, steps=1, out_dir=tmp_path, **tiny)
    resumed = inpainting.train(images, steps=2, out_dir=tmp_path, **tiny)
    straight = inpainting.train(images, steps=2, **tiny)
    for a, b in zip(resumed.generator.get_weights(), straight.generator.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    again = inpainting.load(tmp_path)  # the run directory holds the final inpainter
    assert again.metadata["config"]["cnum"] == 4 and (tmp_path / "checkpoints").exists()
    (tmp_path / "rng.json").unlink()  # a run from before rng_version 2 drew other numbers: refused, not resumed
    with pytest.raises(MismatchError, match="rng_version 1, this version draws with rng_version 2"):
        inpainting.train(images, steps=3, out_dir=tmp_path, **tiny)


def test_cli_evaluates_the_bundled_inpainter_and_requires_an_out_dir(tmp_path, capsys):
    import json

    from tfx_explain.cli import main

    assert main(["evaluate-inpainter", "--n", "8", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "quality.json").read_text())
    assert set(report["quality"]) == {"inpaint", "gray", "blur", "known_pixel_blur"} and report["n"] == 8
    assert main(["train-inpainter", "--steps", "1"]) == 2
    assert "--out" in capsys.readouterr().err


def test_inpaint_refuses_images_outside_its_range(random_inpainter):
    # [0, 255] pixels given to a [0, 1] inpainter got holes filled on the [0, 1] scale beside 255-scale pixels
    images = np.full((1, 16, 16, 3), 200.0, np.float32)
    with pytest.raises(InputError, match=r"images: the inpainter takes images in \[0, 1\]"):
        random_inpainter.inpaint(images, np.ones((16, 16)))


def test_hole_quality_needs_one_filled_image_per_image(rng):
    images = rng.uniform(size=(3, 8, 8, 1)).astype(np.float32)
    masks = np.ones((3, 8, 8), np.float32)
    np.testing.assert_allclose(inpainting.hole_quality(images, images * 0.5, masks)["l1"], np.mean(images * 0.5),
                               rtol=1e-6)
    with pytest.raises(InputError, match="filled"):  # was broadcast: one filled image against all three
        inpainting.hole_quality(images, images[:1], masks)


@pytest.mark.parametrize("size", [(6, 6), (5, 12)])
def test_random_box_masks_fit_images_smaller_than_the_8_px_floor(size):
    masks = inpainting.random_box_masks(4, size, seed=1)  # was numpy's "high <= 0"
    assert masks.shape == (4,) + size + (1,) and masks.max() == 1.0
