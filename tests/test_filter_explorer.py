"""nn273.explorers.filters: the filter explorer's state (the maps against loops, presets, typed and learned
filters, bad arguments) and its view (controls, status, the static fallback), without a browser."""

import ast
import base64
import re
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import nn273.explorers.filters
from nn273.data import load_mnist
from nn273.explorers.filters import PRESETS, FilterExplorer, FilterExplorerState, parse_filter

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IDENTITY = np.pad([[1.0]], 2)


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    """Nothing printed, nothing on stderr, and no figure left in pyplot (a notebook would show it)."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")


def correlate_by_loops(image, w):
    """Valid cross-correlation, stride 1, written out: out[i, j] = sum_pq w[p, q] image[i + p, j + q]."""
    k = len(w)
    size = len(image) - k + 1
    out = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            out[i, j] = np.sum(w * image[i : i + k, j : j + k])
    return out


def maxpool_by_loops(a, size=3, stride=2):
    n = (len(a) - size) // stride + 1
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = a[stride * i : stride * i + size, stride * j : stride * j + size].max()
    return out


# ---- the state: the layer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter", ["vertical edge", "horizontal edge", "blur", "sharpen", "random"]
)
def test_maps_equal_loops(filter):
    rng = np.random.default_rng(4)
    if filter == "random":
        filter = rng.normal(size=(5, 5))  # not symmetric: a flipped kernel would differ
    state = FilterExplorerState(index=int(rng.integers(5000)), filter=filter)
    X, y = load_mnist()
    np.testing.assert_array_equal(state.image, X[state.index] / 255.0)
    assert state.image.shape == (28, 28) and state.digit == y[state.index]
    expected = correlate_by_loops(state.image, state.weights)
    assert state.activation.shape == (24, 24) and state.activation.dtype == np.float64
    np.testing.assert_allclose(state.activation, expected, rtol=1e-12, atol=1e-12)
    assert state.relu.shape == (24, 24)
    np.testing.assert_array_equal(state.relu, np.maximum(state.activation, 0))
    assert state.pooled.shape == (11, 11)
    np.testing.assert_array_equal(state.pooled, maxpool_by_loops(state.relu))


def test_the_map_is_cross_correlation_not_convolution():
    # A single weight right of the centre: each output sees the pixel one to the right.
    w = np.zeros((5, 5))
    w[2, 3] = 1.0
    state = FilterExplorerState(index=10, filter=w)
    np.testing.assert_array_equal(state.activation, state.image[2:26, 3:27])
    state.filter = IDENTITY
    np.testing.assert_array_equal(state.activation, state.image[2:26, 2:26])


def test_presets():
    assert list(PRESETS) == ["vertical edge", "horizontal edge", "blur", "sharpen"]
    for name, w in PRESETS.items():
        assert w.shape == (5, 5) and w.dtype == np.float64, name
        assert not w.flags.writeable, name
    np.testing.assert_array_equal(PRESETS["horizontal edge"], PRESETS["vertical edge"].T)
    assert PRESETS["vertical edge"].sum() == 0 and PRESETS["blur"].sum() == pytest.approx(1)
    assert PRESETS["sharpen"].sum() == pytest.approx(1)
    state = FilterExplorerState()
    for name, w in PRESETS.items():
        state.filter = name
        np.testing.assert_array_equal(state.weights, w)
        state.weights[0, 0] = 99.0  # a copy: the preset stays
        np.testing.assert_array_equal(state.weights, w)
    # a vertical edge responds to the vertical stroke of a 1 more than a horizontal edge does
    one = FilterExplorerState(digit=1, filter="vertical edge")
    vertical = np.abs(one.activation).sum()
    one.filter = "horizontal edge"
    assert vertical > 1.5 * np.abs(one.activation).sum()


def test_digit_picks_the_first_image_of_its_class_and_index_any_image():
    _, y = load_mnist()
    state = FilterExplorerState()
    assert (state.index, state.digit) == (0, y[0])
    for k in (7, 3, 0):
        state.digit = k
        assert state.index == np.flatnonzero(y == k)[0] and state.digit == k
    state.index = 4321
    assert state.digit == y[4321]
    state.digit = y[4321]  # the class shown already: the image stays
    assert state.index == 4321
    assert FilterExplorerState(digit=5).index == np.flatnonzero(y == 5)[0]
    before = state.activation.copy()
    state.index = 17
    assert not np.array_equal(before, state.activation)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0 0 0 0 0\n0 0 0 0 0\n0 0 1 0 0\n0 0 0 0 0\n0 0 0 0 0", IDENTITY),
        ("1,2,3,4,5\n" * 5, np.tile([1.0, 2, 3, 4, 5], (5, 1))),
        (" -1, -2 , 0, 2, 1 \n\n" * 5 + "\n", np.tile([-1.0, -2, 0, 2, 1], (5, 1))),
        (str(np.arange(25.0).reshape(5, 5) / 4), np.arange(25.0).reshape(5, 5) / 4),
        ("1e-1 .5 -3 +2 0\n" * 5, np.tile([0.1, 0.5, -3, 2, 0], (5, 1))),
    ],
)
def test_parse_filter_reads_five_lines_of_five_numbers(text, expected):
    w = parse_filter(text)
    assert w.shape == (5, 5) and w.dtype == np.float64
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize(
    "values, message",
    [
        ("1 2 3 4 5\n" * 4, "needs 5 lines of 5 numbers; got 4 lines"),
        ("1 2 3 4 5\n" * 6, "got 6 lines"),
        ("1 2 3 4 5\n" * 2 + "1 2 3 4\n" + "1 2 3 4 5\n" * 2, "line 3 .* 5 numbers; got 4"),
        (
            "1 2 3 4 5\n1 2 x 4 5\n" + "1 2 3 4 5\n" * 3,
            "line 2 .* holds 'x', which is not a number",
        ),
        ("1 2 3 4 nan\n" + "1 2 3 4 5\n" * 4, "must be finite numbers"),
        ("", "got 0 lines"),
        (np.zeros((3, 3)), r"shape \(5, 5\); got shape \(3, 3\)"),
        (np.zeros((1, 5, 5)), r"got shape \(1, 5, 5\)"),
        (np.full((5, 5), np.inf), "must be finite numbers"),
    ],
)
def test_parse_filter_rejects_what_is_not_a_5x5_filter(values, message):
    with pytest.raises(ValueError, match=message):
        parse_filter(values)


def test_typed_filter_is_kept_across_presets():
    state = FilterExplorerState()
    assert state.filter == "vertical edge" and state.filter_names[-1] == "typed"
    state.filter = "typed"  # starts as the identity: the map is the digit's middle
    np.testing.assert_array_equal(state.weights, IDENTITY)
    np.testing.assert_array_equal(state.activation, state.image[2:26, 2:26])
    text = "\n".join(["0 0 0 0 0"] * 2 + ["-1 -1 4 -1 -1"] + ["0 0 0 0 0"] * 2)
    state.type_filter(text)
    assert state.filter == "typed"
    np.testing.assert_array_equal(state.weights, parse_filter(text))
    np.testing.assert_allclose(
        state.activation, correlate_by_loops(state.image, state.weights), atol=1e-12
    )
    state.filter = "blur"
    state.filter = "typed"
    np.testing.assert_array_equal(state.weights, parse_filter(text))
    state.filter = np.eye(5)  # an array is a typed filter
    assert state.filter == "typed"
    np.testing.assert_array_equal(state.weights, np.eye(5))


@pytest.mark.parametrize("shape", [(16, 1, 5, 5), (16, 5, 5), (3, 5, 5)])
def test_learned_filters_are_accepted_in_both_shapes(shape):
    learned = np.random.default_rng(0).normal(size=shape)
    state = FilterExplorerState(learned=learned, filter="LeNet filter 2")
    n = shape[0]
    assert state.filter_names == (
        *PRESETS,
        *(f"LeNet filter {k}" for k in range(n)),
        "typed",
    )
    np.testing.assert_array_equal(state.weights, learned.reshape(n, 5, 5)[2])
    np.testing.assert_allclose(
        state.activation, correlate_by_loops(state.image, learned.reshape(n, 5, 5)[2]), atol=1e-12
    )
    learned[:] = 0  # the state keeps its own copy
    assert np.abs(state.weights).max() > 0


def test_learned_filters_from_a_torch_layer_and_absent_without_them():
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(1, 16, (5, 5), stride=2)  # the lecture's LeNet's first layer
    state = FilterExplorerState(learned=layer.weight, filter="LeNet filter 15")
    np.testing.assert_array_equal(state.weights, layer.weight.detach().numpy()[15, 0])
    assert not any(name.startswith("LeNet") for name in FilterExplorerState().filter_names)
    with pytest.raises(ValueError, match="filter must be one of .*; got 'LeNet filter 0'"):
        FilterExplorerState(filter="LeNet filter 0")
    with pytest.raises(ValueError, match="got 'LeNet filter 16'"):
        FilterExplorerState(learned=layer.weight, filter="LeNet filter 16")


def test_learned_filters_keep_their_biases():
    # LeNet's biases decide what its maps are on the blank background: the explorer keeps them
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(1, 16, (5, 5), stride=2)
    state = FilterExplorerState(learned=layer, filter="LeNet filter 3")
    b = layer.bias.detach().numpy().astype(np.float64)
    assert state.bias == b[3]
    np.testing.assert_array_equal(state.weights, layer.weight.detach().numpy()[3, 0])
    np.testing.assert_allclose(
        state.activation, correlate_by_loops(state.image, state.weights) + b[3], atol=1e-12
    )
    assert state.activation[0, 0] == pytest.approx(b[3])  # a blank corner: the bias alone
    assert f"| bias {b[3]:.3f} |" in state.summary()
    state.filter = "vertical edge"  # the presets and a typed filter have none
    assert state.bias == 0.0 and state.activation[0, 0] == 0.0
    # filters and biases given apart, as arrays or tensors
    apart = FilterExplorerState(learned=layer.weight, biases=layer.bias, filter="LeNet filter 3")
    assert apart.bias == b[3]
    np.testing.assert_allclose(
        apart.activation, correlate_by_loops(apart.image, apart.weights) + b[3], atol=1e-12
    )
    bare = FilterExplorerState(learned=layer.weight, filter="LeNet filter 3")
    assert bare.bias == 0.0  # bare filters: no biases given, none added


@pytest.mark.parametrize(
    "biases, message",
    [
        (np.zeros(15), r"biases must hold one number per learned filter, shape \(16,\); got shape \(15,\)"),
        (np.full(16, np.nan), "finite"),
    ],
)
def test_biases_of_another_shape_or_not_finite_are_rejected(biases, message):
    with pytest.raises(ValueError, match=message):
        FilterExplorerState(learned=np.zeros((16, 5, 5)), biases=biases)
    with pytest.raises(ValueError, match="no learned filters"):
        FilterExplorerState(biases=np.zeros(16))


@pytest.mark.parametrize(
    "learned",
    [
        np.zeros((16, 3, 5, 5)),
        np.zeros((16, 3, 3)),
        np.zeros((5, 5)),
        np.zeros((0, 5, 5)),
        np.zeros((16, 1, 5, 4)),
        np.zeros((2, 2, 1, 5, 5)),
    ],
)
def test_learned_filters_of_other_shapes_are_rejected(learned):
    message = r"learned must be .* \(F, 1, 5, 5\) or \(F, 5, 5\) .*got shape " + re.escape(
        str(learned.shape)
    )
    with pytest.raises(ValueError, match=message):
        FilterExplorerState(learned=learned)


def test_non_finite_learned_filters_are_rejected():
    learned = np.zeros((16, 5, 5))
    learned[3, 2, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        FilterExplorerState(learned=learned)


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"index": 5000}, ValueError, "index must be between 0 and 4999; got 5000"),
        ({"index": -1}, ValueError, "index must be between 0 and 4999; got -1"),
        ({"index": 2.0}, TypeError, "index must be an integer; got float"),
        ({"digit": 10}, ValueError, "digit must be between 0 and 9; got 10"),
        ({"digit": "7"}, TypeError, "digit must be an integer; got str"),
        ({"filter": "edge"}, ValueError, "filter must be one of 'vertical edge'.*; got 'edge'"),
        ({"filter": np.ones((4, 4))}, ValueError, r"shape \(5, 5\); got shape \(4, 4\)"),
    ],
)
def test_bad_settings_raise_and_leave_the_state_as_it_was(settings, error, message):
    with pytest.raises(error, match=message):
        FilterExplorerState(**settings)
    state = FilterExplorerState(index=123, filter="blur")
    before = (state.describe(), state.weights, state.activation.copy())
    ((name, value),) = settings.items()
    with pytest.raises(error, match=message):
        setattr(state, name, value)
    assert state.describe() == before[0]
    np.testing.assert_array_equal(state.weights, before[1])
    np.testing.assert_array_equal(state.activation, before[2])


def test_index_and_digit_together_are_refused():
    with pytest.raises(ValueError, match="give index or digit, not both; got index=3 and digit=4"):
        FilterExplorerState(index=3, digit=4)


def test_describe_and_summary():
    state = FilterExplorerState(digit=7, filter="vertical edge")
    assert (
        state.describe() == f"FilterExplorer: digit 7 (image {state.index}), filter vertical edge"
    )
    a, p = state.activation, state.pooled
    assert state.summary() == (
        f"digit 7 (image {state.index}) | filter vertical edge | bias 0.000 | "
        f"map 24x24 min {a.min():.3f} max {a.max():.3f} | "
        f"ReLU {np.mean(a > 0):.0%} positive | pooled 11x11 max {p.max():.3f}"
    )


def test_figure_shows_the_five_panels_with_their_sizes():
    state = FilterExplorerState(index=99, filter="sharpen")
    fig = state.figure()
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    titles = [ax.get_title() for ax in panels]
    assert titles == [
        f"digit {state.digit} (image 99)\n28x28",
        "filter: sharpen\n5x5, bias 0.00",
        "activation map\n24x24",
        "after ReLU\n24x24",
        "max pool 3, stride 2\n11x11",
    ]
    shown = [ax.images[0] for ax in panels]
    for image, data in zip(
        shown, [state.image, state.weights, state.activation, state.relu, state.pooled]
    ):
        np.testing.assert_array_equal(image.get_array(), data)
    # filter and maps: symmetric diverging scales, with colorbars
    for image in shown[1:]:
        low, high = image.get_clim()
        assert low == -high > -np.inf and image.get_cmap().name == "RdBu_r"
    assert shown[1].get_clim() == (-5.0, 5.0)
    assert shown[2].get_clim() == shown[3].get_clim() == shown[4].get_clim()
    assert len(fig.axes) == 5 + 3  # three colorbars
    png = state.png()
    assert png.startswith(PNG_MAGIC) and len(png) > 5_000


# ---- the module does not reach 04_conv's answers -------------------------------------------------


def test_the_explorer_does_not_import_nn273_conv():
    source = Path(nn273.explorers.filters.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    assert not {"nn273.conv", ".conv", "nn273.conv.conv", "None.conv"} & imported, imported
    # And nothing it imports does: with nn273.conv made unimportable (as in a student edition for
    # 04), the explorer still works.
    code = (
        "import sys\n"
        "sys.modules['nn273.conv'] = None\n"
        "from nn273.explorers.filters import FilterExplorerState\n"
        "print(FilterExplorerState(digit=3).describe())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("FilterExplorer: digit 3 (image ")


# ---- the view ------------------------------------------------------------------------------------


@pytest.fixture
def fake_png(monkeypatch):
    """Stand-in for FilterExplorerState.png, much faster and telling which state it shows."""

    def png(self, dpi=80):
        return PNG_MAGIC + self.summary().encode() + self.weights.tobytes()

    monkeypatch.setattr(FilterExplorerState, "png", png)


def shows(ex):
    """The controls, the status line and the picture show the current state."""
    state, c = ex.state, ex.controls
    grid = np.array([cell.value for cell in ex.cells]).reshape(5, 5)
    return (
        ex.status.value == state.summary()
        and bytes(ex.image.value) == state.png()
        and (c["digit"].value, c["index"].value, c["filter"].value)
        == (state.digit, state.index, state.filter)
        and np.array_equal(grid, state.weights)
    )


@pytest.fixture
def ex(fake_png):
    return FilterExplorer(digit=7, filter="vertical edge")


def test_constructor_takes_the_settings(fake_png):
    learned = np.random.default_rng(1).normal(size=(16, 1, 5, 5))
    ex = FilterExplorer(index=2500, filter="LeNet filter 4", learned=learned)
    assert ex.state.describe() == "FilterExplorer: digit 5 (image 2500), filter LeNet filter 4"
    assert ex.controls["filter"].options == ex.state.filter_names
    assert "LeNet filter 15" in ex.controls["filter"].options
    assert ex.controls["index"].max == 4999 and list(ex.controls["digit"].options) == list(
        range(10)
    )
    assert shows(ex) and ex.status.value.startswith("digit 5 (image 2500) | filter LeNet filter 4")
    with pytest.raises(ValueError, match="learned must be"):
        FilterExplorer(learned=np.zeros((16, 3, 5, 5)))


def test_digit_and_index_controls_change_the_image(ex):
    _, y = load_mnist()
    assert ex.state.digit == 7 and shows(ex)
    ex.controls["digit"].value = 2
    assert ex.state.index == np.flatnonzero(y == 2)[0] and shows(ex)
    ex.controls["index"].value = 4999
    assert ex.state.index == 4999 and ex.controls["digit"].value == y[4999] and shows(ex)
    assert ex.status.value.startswith(f"digit {y[4999]} (image 4999) |")


def test_filter_control_and_typed_weights(ex):
    ex.controls["filter"].value = "blur"
    assert ex.state.filter == "blur" and shows(ex)
    ex.cells[12].value = 2.0  # an edited weight: the grid's values become the typed filter
    expected = PRESETS["blur"].copy()
    expected[2, 2] = 2.0
    assert ex.state.filter == "typed" and ex.controls["filter"].value == "typed"
    np.testing.assert_array_equal(ex.state.weights, expected)
    assert shows(ex) and "filter typed" in ex.status.value
    ex.controls["filter"].value = "sharpen"
    assert shows(ex)
    ex.controls["filter"].value = "typed"  # the last typed weights come back
    np.testing.assert_array_equal(ex.state.weights, expected)
    assert shows(ex)


def test_a_non_finite_typed_weight_is_reported_not_raised(ex):
    ex.cells[0].value = float("inf")
    assert "must be finite numbers" in ex.message.value
    assert ex.state.filter == "vertical edge"  # nothing changed
    ex.cells[0].value = 1.0
    assert ex.message.value == "" and ex.state.filter == "typed" and shows(ex)


def test_mimebundle_has_the_widget_and_deterministic_text(ex):
    bundle = ex._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle[WIDGET_VIEW]["model_id"] == ex.model_id
    assert bundle["text/plain"] == ex.state.describe() == repr(ex)
    assert bundle["text/plain"].startswith("FilterExplorer: digit 7 (image ")
    assert "text/html" not in bundle  # it would outrank the PNG in nbconvert


def test_mimebundle_png_is_the_current_picture_even_after_direct_state_changes(ex):
    ex.state.filter = "horizontal edge"  # behind the view's back
    bundle = ex._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == ex.state.png()
    assert bundle["text/plain"].endswith("filter horizontal edge") and shows(ex)


def test_mimebundle_png_is_a_real_png():
    ex = FilterExplorer(digit=4, filter="horizontal edge")
    png = base64.b64decode(ex._repr_mimebundle_()["image/png"])
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    assert png == ex.state.png()
