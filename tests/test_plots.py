"""Pictures: what is drawn, read back from the matplotlib axes (Agg backend, no model)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfx_explain import plots  # noqa: E402
from tfx_explain.errors import InputError  # noqa: E402
from tfx_explain.explanation import Explanation  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _explanation(inputs, attributions, baselines=None, method="integrated_gradients", baseline="zero",
                 target=(3, 1, 0)):
    n = len(inputs)
    return Explanation(inputs=inputs, baselines=np.zeros_like(inputs) if baselines is None else baselines,
                       attributions=np.asarray(attributions, np.float32), original_class=np.array([7, 2, 1])[:n],
                       target_class=None if target is None else np.array(target)[:n], input_scores=np.zeros(n),
                       baseline_scores=np.zeros(n), method=method, options={"baseline": baseline})


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    x = rng.random((3, 8, 8, 1))
    x[:, 0, 0], x[:, 0, 1] = 0.0, 1.0  # the range is [0, 1] exactly
    a = rng.normal(size=(3, 8, 8, 1)) * np.array([1.0, 10.0, 100.0])[:, None, None, None]  # three magnitudes
    return x, a


def _images(fig):
    """The arrays drawn in each axes, first layer first (colour-bar axes hold none)."""
    return [[im.get_array() for im in ax.get_images()] for ax in fig.axes if ax.get_images()]


def _map_images(fig):
    return [ax.get_images()[-1] for ax in fig.axes if ax.get_images() and ax.get_images()[-1].get_cmap().name
            in plots.SIGN_CMAPS.values()]


@pytest.mark.parametrize("scaled", [lambda x: 255 * x, lambda x: 2 * x - 1, lambda x: 0.2 + 0.5 * x])
def test_an_image_in_any_range_draws_the_same_and_is_never_clipped(maps, scaled):
    x, a = maps
    drawn01 = _images(_explanation(x, a).plot())
    drawn = _images(_explanation(scaled(x), a, baselines=scaled(np.zeros_like(x))).plot())
    for got, want in zip(drawn, drawn01):
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=1e-9)
    np.testing.assert_allclose(drawn01[0][0], x[0, ..., 0], atol=1e-12)  # [0, 1] drawn as is
    assert plots.display_image(np.array([[[-1.0], [0.0], [3.0]]])).tolist() == [[0.0, 0.25, 1.0]]


def test_rgb_keeps_its_colours_and_a_constant_image_is_not_invented():
    rgb = np.zeros((2, 2, 3))
    rgb[0, 0] = [255, 0, 0]
    rgb[1, 1] = [0, 0, 128]
    shown = plots.display_image(rgb)
    np.testing.assert_allclose(shown[0, 0], [1, 0, 0])
    np.testing.assert_allclose(shown[1, 1], [0, 0, 128 / 255])
    assert plots.display_image(np.zeros((2, 2, 1))).max() == 0.0            # a zero image is black
    assert plots.display_image(np.full((2, 2, 1), 7.0)).tolist() == [[0.5, 0.5], [0.5, 0.5]]


@pytest.mark.parametrize("overlay", [False, True])
def test_shared_scale_gives_every_map_the_same_limits_per_map_does_not(maps, overlay):
    x, a = maps
    shared = _map_images(_explanation(x, a).plot(scale="shared", overlay=overlay))
    assert len(shared) == 3 and len({im.get_clim() for im in shared}) == 1
    vmin, vmax = shared[0].get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.percentile(np.abs(a), 99.5))
    per_map = _map_images(_explanation(x, a).plot(scale="per_map", overlay=overlay))
    limits = [im.get_clim()[1] for im in per_map]
    assert limits == pytest.approx([np.percentile(np.abs(a[i]), 99.5) for i in range(3)])


def test_outlier_perc_sets_the_saturating_percentile(maps):
    x, a = maps
    for perc in (0.0, 2.0, 10.0):
        (im,) = _map_images(_explanation(x[:1], a[:1]).plot(outlier_perc=perc))
        assert im.get_clim()[1] == pytest.approx(np.percentile(np.abs(a[0]), 100 - perc))


@pytest.mark.parametrize("sign, check", [
    ("all", lambda v, a: np.allclose(v, a) and v.min() < 0 < v.max()),
    ("positive", lambda v, a: v.min() >= 0 and np.allclose(v, np.maximum(a, 0))),
    ("negative", lambda v, a: v.max() <= 0 and np.allclose(v, np.minimum(a, 0))),
    ("absolute", lambda v, a: np.allclose(v, np.abs(a))),
])
def test_sign_shows_only_its_values_with_blue_positive_red_negative(maps, sign, check):
    x, a = maps
    fig = _explanation(x, a).plot(sign=sign, overlay=False)
    images = _map_images(fig)
    for im, ai in zip(images, a):
        assert check(np.asarray(im.get_array()), ai[..., 0])
    im = images[0]
    vmin, vmax = im.get_clim()
    assert im.get_cmap().name == plots.SIGN_CMAPS[sign]
    blue, red = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    if sign in ("all", "positive"):  # the top of the scale is blue
        top = np.asarray(im.get_cmap()(1.0)[:3])
        assert top @ blue > top @ red
    if sign in ("all", "negative"):  # the bottom is red
        bottom = np.asarray(im.get_cmap()(0.0)[:3])
        assert bottom @ red > bottom @ blue
    assert {"all": vmin == -vmax, "positive": vmin == 0, "negative": vmax == 0, "absolute": vmin == 0}[sign]


def test_every_map_has_a_colour_bar_per_map_and_one_for_a_shared_scale(maps):
    x, a = maps
    n_axes = len(_explanation(x, a).plot(scale="per_map").axes)
    assert n_axes == 3 * 3 + 3
    assert len(_explanation(x, a).plot(scale="shared").axes) == 3 * 3 + 1


def test_titles_say_what_each_panel_is(maps):
    x, a = maps
    fig = _explanation(x, a, baseline="ganmex").plot(class_names=[f"c{k}" for k in range(10)], sign="positive")
    top = [ax.get_title() for ax in fig.axes[:3]]
    assert top == ["input", "ganmex baseline", "integrated_gradients+ganmex (positive)"]
    assert [fig.axes[3 * r].get_ylabel() for r in range(3)] == ["c7 vs c3", "c2 vs c1", "c1 vs c0"]
    fig = _explanation(x, a, target=None).plot()
    assert [fig.axes[3 * r].get_ylabel() for r in range(3)] == ["7", "2", "1"]  # one-vs-all: the class alone


def test_a_method_without_baseline_draws_input_and_map_only(maps):
    x, a = maps
    e = _explanation(x, a, baseline=None)
    e.baselines = None
    fig = e.plot(overlay=False)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["input", "integrated_gradients"]
    assert len(fig.axes) == 3 * 2 + 3


def test_a_removal_method_is_labelled_by_its_filler_so_rise_g_differs_from_rise(maps):
    x, a = maps
    made = []
    for filler in ("zero", "inpaint"):
        e = _explanation(x, a, method="rise", baseline=None)
        e.baselines, e.options["filler"] = None, filler
        made.append(e)
    assert [ax.get_title() for ax in made[1].plot(overlay=False).axes[:2]] == ["input", "rise+inpaint"]
    fig = plots.compare(made)  # the same method and no baseline: only the filler tells them apart
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "rise+zero", "rise+inpaint"]


def test_a_noise_averaged_map_is_titled_as_such(maps):
    x, a = maps
    smoothed = _explanation(x, a)
    smoothed.options["noise_samples"] = 4
    assert smoothed.plot().axes[2].get_title() == "integrated_gradients (noise ×4)+zero"
    fig = plots.compare([_explanation(x, a), smoothed])  # told apart, not refused as one label twice
    assert [ax.get_title() for ax in fig.axes[2:4]] == ["integrated_gradients+zero",
                                                         "integrated_gradients (noise ×4)+zero"]


def test_plot_returns_the_figure_and_path_writes_a_png_atomically(maps, tmp_path):
    x, a = maps
    fig = _explanation(x, a).plot(path=tmp_path / "sub" / "e.png")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert (tmp_path / "sub" / "e.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["e.png"]  # no temporary left


def test_compare_lays_out_baselines_and_methods_like_fig2(maps, tmp_path):
    x, a = maps
    es = {("IG", "Zero"): _explanation(x, a), ("DL", "Zero"): _explanation(x, -a),
          ("IG", "GANMEX"): _explanation(x, 2 * a, baselines=1 - x)}
    fig = plots.compare(es, scale="row", path=tmp_path / "fig2.png")
    titles = [ax.get_title() for ax in fig.axes[:6]]
    assert titles == ["input", "Zero baseline", "IG+Zero", "DL+Zero", "GANMEX baseline", "IG+GANMEX"]
    rows = _map_images(fig)
    assert len(rows) == 9
    for r in range(3):  # one scale per row, and each row's maps are what was passed
        assert len({im.get_clim() for im in rows[3 * r:3 * r + 3]}) == 1
        np.testing.assert_allclose(rows[3 * r + 1].get_array(), -a[r, ..., 0])
    assert len(fig.axes) == 3 * 6 + 3  # a colour bar per row
    np.testing.assert_allclose(fig.axes[4].get_images()[0].get_array(), 1 - x[0, ..., 0])  # the GANMEX image
    assert (tmp_path / "fig2.png").stat().st_size > 1000


@pytest.mark.parametrize("kwargs, argument", [
    ({"sign": "pos"}, "sign"), ({"scale": "global"}, "scale"), ({"outlier_perc": 100}, "outlier_perc"),
    ({"outlier_perc": -1}, "outlier_perc"), ({"alpha": 1.5}, "alpha"), ({"indices": [5]}, "indices"),
    ({"indices": [0.5]}, "indices"), ({"class_names": ["a", "b"]}, "class_names"),
])
def test_bad_arguments_raise_input_error_naming_them(maps, kwargs, argument):
    x, a = maps
    with pytest.raises(InputError, match=f"^{argument}: "):
        _explanation(x, a).plot(**kwargs)


def test_compare_refuses_explanations_of_other_samples(maps):
    x, a = maps
    with pytest.raises(InputError, match="^explanations: DL\\+Zero explains other inputs"):
        plots.compare({("IG", "Zero"): _explanation(x, a), ("DL", "Zero"): _explanation(x + 1, a)})
    with pytest.raises(InputError, match="^explanations: DL\\+Zero explains other inputs or classes"):
        plots.compare({("IG", "Zero"): _explanation(x, a), ("DL", "Zero"): _explanation(x, a, target=(3, 1, 2))})
    with pytest.raises(InputError, match="^explanations: two have the same"):
        plots.compare([_explanation(x, a), _explanation(x, -a)])
    with pytest.raises(InputError, match="^explanations: expected Explanation"):
        plots.compare({("IG", "Zero"): _explanation(x, a), ("DL", "Zero"): a})


def test_grid_images_share_one_display_range_so_a_dimmed_image_stays_dim():
    bright = np.linspace(0, 255, 16).reshape(4, 4, 1)
    fig = plots.grid([[("image", bright), ("image", bright / 2)]])
    shown = [np.asarray(ax.get_images()[0].get_array()) for ax in fig.axes]
    np.testing.assert_allclose(shown[0], bright[..., 0] / 255)
    np.testing.assert_allclose(shown[1], bright[..., 0] / 510)


def test_curves_need_one_value_per_x():
    # a curve of another length was matplotlib's "x and y must have same first dimension"
    with pytest.raises(InputError, match="curves_by_label: curve 'IG' has shape \\(2, 3\\), expected \\(3,\\)"):
        plots.curves(np.arange(3), {"IG": np.zeros((2, 3))}, "k", "score")
    fig = plots.curves(np.arange(3), {"IG": [0.0, 0.5, 1.0]}, "k", "score")
    assert fig.axes[0].lines[0].get_ydata().tolist() == [0.0, 0.5, 1.0]
