"""nn273.plots draws what it says, rejects bad input with ValueError, and leaks no figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba

from nn273 import plots


@pytest.fixture(autouse=True)
def no_leaked_figures():
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, 1, -1)
    return X, y


def sign_rule(G):
    return np.where(G[:, 0] + 0.5 * G[:, 1] > 0, 1, -1)


def three_sectors(G):
    return np.digitize(G[:, 0], [-0.5, 0.5])  # labels 0, 1, 2


# plot_decision_regions


def test_regions_match_predict_on_grid(blobs):
    X, y = blobs
    ax = plots.plot_decision_regions(sign_rule, X, y, resolution=50, margin=0.5)
    (image,) = ax.get_images()
    index = np.asarray(image.get_array())
    assert index.shape == (50, 50)
    x1 = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 50)
    x2 = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 50)
    G1, G2 = np.meshgrid(x1, x2)
    expected = sign_rule(np.column_stack([G1.ravel(), G2.ravel()])).reshape(G1.shape)
    classes = np.array([-1, 1])
    assert np.array_equal(classes[index], expected)
    left, right, bottom, top = image.get_extent()
    assert np.allclose([left, right, bottom, top], [x1[0], x1[-1], x2[0], x2[-1]])
    assert ax.get_xlim() == pytest.approx((x1[0], x1[-1]))


def test_region_colours_follow_point_colours(blobs):
    X, y = blobs
    ax = plots.plot_decision_regions(sign_rule, X, y, resolution=30)
    (image,) = ax.get_images()
    rgba = image.to_rgba(np.asarray(image.get_array()))
    index = np.asarray(image.get_array())
    for k, points in enumerate(ax.collections):
        point_colour = np.asarray(points.get_facecolor()[0])
        region_colour = rgba[index == k][0]
        # the region is the point colour blended towards white
        assert np.all(region_colour[:3] >= point_colour[:3] - 1e-9)
        assert np.argmax(region_colour[:3]) == np.argmax(point_colour[:3])
    assert np.allclose(ax.collections[0].get_facecolor()[0], to_rgba(plots.CLASS_COLORS[0]))


def test_three_classes_scatter_and_legend():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(60, 2))
    y = three_sectors(X)
    ax = plots.plot_decision_regions(three_sectors, X, y, title="three", resolution=40)
    assert len(ax.collections) == 3
    assert sum(len(c.get_offsets()) for c in ax.collections) == 60
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = 0", "y = 1", "y = 2"]
    assert ax.get_title() == "three"
    assert set(np.unique(np.asarray(ax.get_images()[0].get_array()))) == {0, 1, 2}


def test_class_names_in_legend():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    y = np.array([2, 0, 1])
    ax = plots.plot_decision_regions(
        lambda G: np.zeros(len(G), int), X, y, class_names=("a", "b", "c")
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="class_names must name each of the 3 labels"):
        plots.plot_decision_regions(lambda G: np.zeros(len(G), int), X, y, class_names=("a", "b"))


def test_legend_for_signed_labels(blobs):
    X, y = blobs
    ax = plots.plot_decision_regions(sign_rule, X, y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = -1", "y = 1"]


def test_regions_with_a_class_only_predicted(blobs):
    X, _ = blobs
    y = np.zeros(len(X), dtype=int)  # predict also says 1 somewhere: two colours, one scatter
    ax = plots.plot_decision_regions(lambda G: (G[:, 0] > 0).astype(int), X, y, resolution=20)
    assert len(ax.collections) == 1
    assert set(np.unique(np.asarray(ax.get_images()[0].get_array()))) == {0, 1}


def test_regions_draw_on_given_axes_without_new_figures(blobs):
    X, y = blobs
    fig, ax = plt.subplots()
    assert plots.plot_decision_regions(sign_rule, X, y, ax=ax, resolution=10) is ax
    assert plt.get_fignums() == [fig.number]


def test_regions_new_figure_when_no_axes(blobs):
    X, y = blobs
    ax = plots.plot_decision_regions(sign_rule, X, y, resolution=10)
    assert plt.get_fignums() == [ax.figure.number]


def test_regions_with_a_colormap_name(blobs):
    X, y = blobs
    ax = plots.plot_decision_regions(sign_rule, X, y, resolution=10, cmap="coolwarm")
    assert len(ax.collections) == 2


@pytest.mark.parametrize("shape", [(10,), (10, 3), (10, 1), (0, 2)])
def test_regions_reject_X_not_N_by_2(shape):
    with pytest.raises(ValueError, match=r"X must be|no rows"):
        plots.plot_decision_regions(sign_rule, np.zeros(shape), np.zeros(shape[0]))


def test_regions_reject_mismatched_y(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="same number of rows"):
        plots.plot_decision_regions(sign_rule, X, y[:-1])


def test_regions_reject_predict_of_wrong_length(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="one label per point"):
        plots.plot_decision_regions(lambda G: G[:1, 0], X, y, resolution=10)


def test_regions_reject_scores_instead_of_labels(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="threshold"):
        plots.plot_decision_regions(lambda G: G[:, 0], X, y, resolution=10)


def test_regions_reject_bad_resolution(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="resolution"):
        plots.plot_decision_regions(sign_rule, X, y, resolution=1)


# plot_boundary


def test_boundary_draws_line_and_keeps_limits():
    _fig, ax = plt.subplots()
    ax.scatter([0, 1], [0, 1])
    ax.set_xlim(-1, 2)
    ax.set_ylim(-1, 2)
    assert plots.plot_boundary(lambda x1: 100 * x1, ax, label="steep", linestyle="--") is ax
    (line,) = ax.get_lines()
    x1, x2 = line.get_data()
    assert x1[0] == pytest.approx(-1) and x1[-1] == pytest.approx(2)
    assert np.allclose(x2, 100 * x1)
    assert ax.get_xlim() == (-1, 2) and ax.get_ylim() == (-1, 2)
    assert line.get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["steep"]


def test_boundary_over_given_range():
    _fig, ax = plt.subplots()
    plots.plot_boundary(lambda x1: -x1, ax, x1_range=(2, 3))
    x1, x2 = ax.get_lines()[0].get_data()
    assert (x1.min(), x1.max()) == (2, 3)
    assert np.allclose(x2, -x1)


def test_boundary_rejects_bad_input():
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one x2 per x1"):
        plots.plot_boundary(lambda x1: x1[:3], ax)
    with pytest.raises(ValueError, match="low < high"):
        plots.plot_boundary(lambda x1: x1, ax, x1_range=(1, 0))
    with pytest.raises(TypeError):
        plots.plot_boundary(3.0, ax)


# plot_loss_curves


def test_loss_curves_one_line_each():
    curves = {"train": [3.0, 2.0, 1.0], "valid": np.array([3.5, 2.5, 2.0, 1.9])}
    ax = plots.plot_loss_curves(curves, title="loss", logy=True)
    lines = ax.get_lines()
    assert len(lines) == 2
    assert np.array_equal(lines[1].get_xdata(), np.arange(4))
    assert np.array_equal(lines[1].get_ydata(), curves["valid"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "valid"]
    assert ax.get_yscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "loss", "loss")


def test_loss_curves_on_given_axes():
    fig, ax = plt.subplots()
    assert plots.plot_loss_curves({"a": [1, 0]}, ax=ax, xlabel="epoch") is ax
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "linear"
    assert plt.get_fignums() == [fig.number]


@pytest.mark.parametrize(
    "curves, match",
    [
        ({}, "non-empty dict"),
        ([1, 2], "non-empty dict"),
        ({"a": []}, "empty"),
        ({"a": [[1, 2]]}, "1-D"),
    ],
)
def test_loss_curves_reject_bad_input(curves, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_loss_curves(curves)


def test_loss_curves_against_given_x_with_markers():
    degrees = [1, 2, 4, 8]
    curves = {"training": [4.0, 3.0, 2.0, 1.0], "validation": [4.5, 3.5, 3.0, 3.9]}
    ax = plots.plot_loss_curves(curves, xlabel="degree", x=degrees, marker="o")
    for line, name in zip(ax.get_lines(), curves):
        assert np.array_equal(line.get_xdata(), degrees)
        assert np.array_equal(line.get_ydata(), curves[name])
        assert line.get_marker() == "o"
    assert ax.get_xlabel() == "degree"


def test_loss_curves_reject_x_of_another_length():
    with pytest.raises(ValueError, match="curve 'a' has 3 values but x has 2"):
        plots.plot_loss_curves({"a": [1.0, 2.0, 3.0]}, x=[1, 2])


def test_loss_curves_logy_needs_positive_values():
    with pytest.raises(ValueError, match="positive"):
        plots.plot_loss_curves({"a": [1.0, 0.0]}, logy=True)


# show_images


def test_show_images_grid():
    images = np.arange(12 * 28 * 28, dtype=float).reshape(12, 28, 28)
    fig = plots.show_images(images, ncols=5, titles=[str(i) for i in range(12)])
    axes = fig.get_axes()
    assert len(axes) == 15  # 3 rows of 5, three of them empty
    with_images = [ax for ax in axes if ax.get_images()]
    assert len(with_images) == 12
    assert np.array_equal(with_images[7].get_images()[0].get_array(), images[7])
    assert with_images[7].get_title() == "7"
    assert all(not ax.axison for ax in axes)
    assert plt.get_fignums() == [fig.number]


def test_show_images_symmetric_centres_colour_scale():
    rng = np.random.default_rng(2)
    images = [rng.standard_normal((4, 6)), 3 + rng.random((5, 5))]
    fig = plots.show_images(images, symmetric=True, cmap="RdBu", axes_off=False)
    for ax, im in zip(fig.get_axes(), images):
        vmin, vmax = ax.get_images()[0].get_clim()
        assert vmin == pytest.approx(-np.abs(im).max()) and vmax == pytest.approx(np.abs(im).max())
        assert ax.axison
    assert len(fig.get_axes()) == 2


def test_show_images_all_zero_symmetric():
    fig = plots.show_images(np.zeros((1, 3, 3)), symmetric=True)
    assert fig.get_axes()[0].get_images()[0].get_clim() == (-1.0, 1.0)


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((28, 28)), {}, r"images\[None\]"),
        (np.zeros((2, 784)), {}, "reshape"),
        ([np.zeros(5)], {}, "2-D"),
        ([], {}, "empty"),
        (np.zeros((3, 2, 2)), {"titles": ["a"]}, "one entry per image"),
        (np.zeros((3, 2, 2)), {"ncols": 0}, "ncols"),
    ],
)
def test_show_images_reject_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.show_images(images, **kwargs)
    assert plt.get_fignums() == []


# show_weight_images


def test_show_weight_images_share_one_symmetric_scale_with_a_colorbar():
    rng = np.random.default_rng(3)
    images = [
        0.1 * rng.standard_normal((4, 6)),
        2.0 * rng.standard_normal((4, 6)),
        np.zeros((3, 3)),
    ]
    fig = plots.show_weight_images(images, ncols=2, titles=["a", "b", "c"], label="w")
    panels = [ax for ax in fig.get_axes() if ax.get_images()]
    assert len(panels) == 3
    v = max(np.abs(im).max() for im in images)
    for ax, im in zip(panels, images):
        assert ax.get_images()[0].get_clim() == pytest.approx((-v, v))
        assert np.array_equal(ax.get_images()[0].get_array(), im)
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"]
    colorbars = [ax for ax in fig.get_axes() if ax.get_ylabel() == "w"]
    assert len(colorbars) == 1
    assert plt.get_fignums() == [fig.number]


def test_show_weight_images_draw_in_a_subfigure_with_a_given_scale():
    fig = plt.figure(layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    assert plots.show_weight_images(np.ones((2, 3, 3)), vmax=4.0, fig=top, title="top") is top
    plots.show_weight_images(-np.ones((5, 3, 3)), ncols=5, fig=bottom)
    clims = [ax.get_images()[0].get_clim() for ax in fig.get_axes() if ax.get_images()]
    assert clims[:2] == [(-4.0, 4.0)] * 2 and clims[2:] == [(-1.0, 1.0)] * 5
    assert top._suptitle.get_text() == "top"
    assert plt.get_fignums() == [fig.number]


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((784, 10)), {}, r"W.T.reshape"),
        ([], {}, "empty"),
        ([np.zeros(4)], {}, "2-D"),
        (np.zeros((2, 3, 3)), {"titles": ["a"]}, "one entry per image"),
        (np.zeros((2, 3, 3)), {"vmax": 0.0}, "positive"),
        (np.zeros((2, 3, 3)), {"ncols": 0}, "ncols"),
    ],
)
def test_show_weight_images_reject_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.show_weight_images(images, **kwargs)
    assert plt.get_fignums() == []
