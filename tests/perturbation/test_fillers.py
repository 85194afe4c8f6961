"""Fillers: Eq. 1 of generative_feature_removal.txt, x (1 - m) + f m, for every filler kind."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from tfx_explain.errors import InputError
from tfx_explain.perturbation.fillers import Blur, Gray, Noise, get_filler


@pytest.fixture
def batch(rng):
    images = rng.uniform(size=(3, 16, 16, 3)).astype(np.float32)
    masks = np.zeros((3, 16, 16), np.float32)
    masks[:, 4:9, 2:12] = 1.0
    return images, masks


def test_gray_fills_each_images_mean_colour_or_a_given_value(batch):
    images, masks = batch
    out = get_filler("gray")(images, masks)
    hole = masks.astype(bool)
    for i in range(3):
        np.testing.assert_allclose(out[i][hole[i]], np.broadcast_to(images[i].mean(axis=(0, 1)), (50, 3)), rtol=1e-6)
        np.testing.assert_array_equal(out[i][~hole[i]], images[i][~hole[i]])
    np.testing.assert_allclose(get_filler("gray", value=0.25)(images, masks)[hole], 0.25)
    pair = (images, np.zeros(3, np.int64))
    np.testing.assert_allclose(Gray(data=pair).value, images.mean(axis=(0, 1, 2)), rtol=1e-6)


def test_blur_equals_scipy_gaussian_inside_the_mask(batch):
    images, masks = batch
    out = get_filler("blur")(images, masks)
    expected = gaussian_filter(images, sigma=(0, 10 * 16 / 224, 10 * 16 / 224, 0), mode="nearest")
    np.testing.assert_allclose(out[masks.astype(bool)], expected[masks.astype(bool)], atol=1e-6)
    assert Blur(sigma=2.0).fill_image(images).shape == images.shape


def test_soft_masks_blend_linearly(batch):
    images, _ = batch
    soft = np.full((3, 16, 16, 1), 0.25, np.float32)
    np.testing.assert_allclose(get_filler("zero")(images, soft), 0.75 * images, rtol=1e-6)


def test_noise_is_one_pattern_whatever_the_batch(batch):
    images, masks = batch
    together = Noise(seed=3, input_range=(0, 1))(images, masks)
    alone = Noise(seed=3, input_range=(0, 1))(images[2:], masks[2:])
    np.testing.assert_array_equal(together[2:], alone)
    assert not np.array_equal(together, Noise(seed=4, input_range=(0, 1))(images, masks))
    assert together.min() >= 0 and together.max() <= 1


def test_callable_fill_is_used_inside_the_mask_only(batch):
    images, masks = batch
    out = get_filler(lambda x, m: np.ones_like(x))(images, masks)
    np.testing.assert_array_equal(out[masks.astype(bool)], 1.0)
    np.testing.assert_array_equal(out[~masks.astype(bool)], images[~masks.astype(bool)])


def test_inpaint_filler_binarises_and_keeps_known_pixels(batch, random_inpainter):
    images, masks = batch
    fill = get_filler(random_inpainter)
    soft = masks * 0.7  # binarised at 0.5: the same hole
    np.testing.assert_array_equal(fill(images, soft), fill(images, masks))
    out = fill(images, masks)
    np.testing.assert_array_equal(out[~masks.astype(bool)], images[~masks.astype(bool)])


def test_inpaint_filler_refuses_images_outside_the_inpainters_range(batch, random_inpainter):
    """[0, 255] pixels fed to a [0, 1] inpainter would get near-black holes: refused before any work."""
    images, masks = batch
    fill = get_filler(random_inpainter)
    fill.check(images)  # [0, 1]: accepted
    with pytest.raises(InputError) as err:
        fill.check(255 * images)
    with pytest.raises(InputError, match="filler: the inpainter takes images"):  # called directly (metrics' fill=)
        fill(255 * images, masks)
    assert str(err.value).startswith("filler: the inpainter takes images in [0, 1]") and "\n" not in str(err.value)


def test_an_inpainter_of_another_range_than_the_models_is_refused_with_the_remedy(batch, random_inpainter):
    from tfx_explain.inpainting import Inpainter

    images, masks = batch
    with pytest.raises(InputError) as err:
        get_filler(random_inpainter, input_range=(0, 255))
    assert str(err.value).startswith("filler:") and "input_range=(0, 255)" in str(err.value)
    inp = random_inpainter  # the remedy the message gives: the same generator, mapped from [0, 255]
    ranged = get_filler(Inpainter(inp.generator, inp.metadata, inp.channel_order, input_range=(0, 255)),
                        input_range=(0, 255))
    np.testing.assert_allclose(ranged(255 * images, masks), 255 * get_filler(inp)(images, masks), rtol=1e-4,
                               atol=1e-3)


def test_one_mask_broadcasts_and_channel_masks_reduce(batch):
    images, masks = batch
    fill = get_filler("zero")
    np.testing.assert_array_equal(fill(images, masks[0]), fill(images, masks))
    np.testing.assert_array_equal(fill(images, np.repeat(masks[..., None], 3, -1)), fill(images, masks))


def test_bad_fillers_are_refused(batch):
    images, masks = batch
    with pytest.raises(InputError, match="filler"):
        get_filler("grey")
    with pytest.raises(InputError, match="filler"):
        get_filler(3)
    with pytest.raises(InputError, match="masks"):
        get_filler("gray")(images, masks[:2])
    with pytest.raises(InputError, match="filler: the callable"):
        get_filler(lambda x, m: x[:1])(images, masks)
