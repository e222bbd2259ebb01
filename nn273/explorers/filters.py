"""The filter explorer of 04_conv: one digit, one 5x5 filter, and what a convolution layer makes of them.

Two parts, as in the playground (`nn273.explorers.playground`). `FilterExplorerState` is the model: the digit,
the filter, the activation map, the map after ReLU and after max pooling, with no widgets, so it
can be tested and scripted. `FilterExplorer` is a thin ipywidgets view over it: a digit dropdown
and an index slider, a filter dropdown, a 5x5 grid of typed weights, the picture and a status line.

    >>> ex = FilterExplorer(digit=7, filter="vertical edge")
    >>> ex                  # the widget; where widgets don't render, a PNG of the same picture

    >>> state = FilterExplorerState(index=42, filter="blur")
    >>> state.activation.shape, state.relu.shape, state.pooled.shape
    ((24, 24), (24, 24), (11, 11))
    >>> state.type_filter("0 0 0 0 0\\n0 0 0 0 0\\n0 0 1 0 0\\n0 0 0 0 0\\n0 0 0 0 0")

    >>> FilterExplorer(learned=model[0])   # adds "LeNet filter 0".."LeNet filter 15", with their biases

The layer is the lecture's: the filter slides over the 28x28 digit with stride 1 and no padding
(cross-correlation, as `torch.nn.functional.conv2d`), its bias added everywhere (a learned filter's
own bias; 0 for the presets and a typed filter), giving a 24x24 activation map; ReLU
keeps its positive part; max pooling with a 3x3 window and stride 2 keeps the largest value of each
window, 11x11. The maps are computed with torch here, never with `nn273.conv`: that module holds
04_conv's answers, and a student edition for 04 leaves it out.
"""

import re

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from nn273.data import load_mnist
from nn273.validation import as_array, check_choice, check_int
from nn273.explorers.display import EditsItsState, ShowsItsPicture, figure_png

__all__ = [
    "FILTER_SIZE",
    "POOL_SIZE",
    "POOL_STRIDE",
    "PRESETS",
    "FilterExplorer",
    "FilterExplorerState",
    "parse_filter",
]

FILTER_SIZE = 5
POOL_SIZE, POOL_STRIDE = 3, 2
TYPED = "typed"
LEARNED_PREFIX = "LeNet filter "


def _sharpen():
    # The classic 3x3 sharpen (the pixel, plus its difference from its 4 neighbours), in the middle.
    w = np.zeros((FILTER_SIZE, FILTER_SIZE))
    w[1:4, 1:4] = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    return w


# Vertical edge: dark on the left and bright on the right gives a positive response.
_EDGE = np.tile([-1.0, -2.0, 0.0, 2.0, 1.0], (FILTER_SIZE, 1)) / 10
PRESETS = {
    "vertical edge": _EDGE,
    "horizontal edge": _EDGE.T.copy(),
    "blur": np.full((FILTER_SIZE, FILTER_SIZE), 1.0 / FILTER_SIZE**2),
    "sharpen": _sharpen(),
}
for _w in PRESETS.values():
    _w.flags.writeable = False

# What "typed" starts from: the identity filter, whose activation map is the digit's middle 24x24.
_IDENTITY = np.zeros((FILTER_SIZE, FILTER_SIZE))
_IDENTITY[FILTER_SIZE // 2, FILTER_SIZE // 2] = 1.0


def parse_filter(values):
    """A 5x5 filter from typed text or an array: returns a (5, 5) float64 array.

    values: text of 5 lines of 5 numbers each, separated by spaces and/or commas (e.g. copied from
            a printed array, brackets allowed), or anything array-like of shape (5, 5).
    Raises ValueError saying what was expected and what arrived.
    """
    n = FILTER_SIZE
    fix = f"Type {n} lines of {n} numbers, e.g. a line '-1 -2 0 2 1'."
    if isinstance(values, str):
        lines = [line for line in values.strip().splitlines() if line.strip(" \t,[]")]
        if len(lines) != n:
            raise ValueError(
                f"a typed filter needs {n} lines of {n} numbers; got {len(lines)} lines. {fix}"
            )
        rows = []
        for number, line in enumerate(lines, start=1):
            words = [w for w in re.split(r"[\s,\[\]]+", line) if w]
            if len(words) != n:
                raise ValueError(
                    f"line {number} of the typed filter must hold {n} numbers; "
                    f"got {len(words)} in {line.strip()!r}. {fix}"
                )
            try:
                rows.append([float(w) for w in words])
            except ValueError:
                bad = next(w for w in words if not _is_number(w))
                raise ValueError(
                    f"line {number} of the typed filter holds {bad!r}, which is not a number. {fix}"
                ) from None
        w = np.array(rows)
    else:
        w = as_array(values, "filter", dtype=np.float64)
        if w.shape != (n, n):
            raise ValueError(
                f"a typed filter must have shape ({n}, {n}); got shape {w.shape}. {fix}"
            )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"a filter's weights must be finite numbers; got {w.tolist()}. {fix}")
    return w


def _is_number(word):
    try:
        float(word)
    except ValueError:
        return False
    return True


def _learned_filters(learned, biases=None):
    """Learned filters and their biases: ((F, 5, 5), (F,)) float64 copies.

    learned: a Conv2d layer (its weight and bias), or filters (F, 1, 5, 5) or (F, 5, 5), array or
    tensor; biases: None (the layer's biases, or zeros for bare filters) or (F,), array or tensor.
    """
    if learned is None:
        if biases is not None:
            raise ValueError("biases belong to learned filters; got biases but no learned filters")
        return np.zeros((0, FILTER_SIZE, FILTER_SIZE)), np.zeros(0)
    if isinstance(learned, torch.nn.Conv2d):  # e.g. model[0]: its filters with their biases
        if biases is None and learned.bias is not None:
            biases = learned.bias
        learned = learned.weight
    if isinstance(learned, torch.Tensor):  # e.g. model[0].weight, which requires grad
        learned = learned.detach().cpu().numpy()
    w = as_array(learned, "learned", dtype=np.float64)
    n = FILTER_SIZE
    if w.ndim == 4 and w.shape[1:] == (1, n, n):
        w = w[:, 0]
    if w.ndim != 3 or w.shape[1:] != (n, n) or len(w) == 0:
        raise ValueError(
            f"learned must be the filters of a convolution layer on one channel, of shape "
            f"(F, 1, {n}, {n}) or (F, {n}, {n}) with F >= 1 (LeNet's: (16, 1, {n}, {n})); got "
            f"shape {w.shape}. Pass e.g. model[0].weight of a Conv2d(1, F, ({n}, {n}))."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("learned filters must hold finite numbers; got NaN or infinity")
    if biases is None:
        return w.copy(), np.zeros(len(w))
    if isinstance(biases, torch.Tensor):
        biases = biases.detach().cpu().numpy()
    b = as_array(biases, "biases", dtype=np.float64)
    if b.shape != (len(w),):
        raise ValueError(
            f"biases must hold one number per learned filter, shape ({len(w)},); got shape {b.shape}. "
            f"Pass e.g. model[0].bias, or the layer model[0] itself."
        )
    if not np.all(np.isfinite(b)):
        raise ValueError("learned biases must be finite numbers; got NaN or infinity")
    return w.copy(), b.copy()


class FilterExplorerState:
    """One MNIST digit, one 5x5 filter and the layer's maps; no widgets.

    index:   which of the 5000 digits of `nn273.data.load_mnist` (in the file's order).
    digit:   alternatively a class 0..9: the first image of that class (give index or digit).
    filter:  a name from `filter_names` (`PRESETS`, "LeNet filter k" when `learned` is given,
             "typed"), or a (5, 5) array-like, which becomes the typed filter.
    learned: None, a convolution layer `Conv2d(1, F, (5, 5))` (its filters and their biases), or
             its filters alone, (F, 1, 5, 5) or (F, 5, 5), array or tensor.
    biases:  None, or the learned filters' biases (F,) (default: the layer's, else zeros).

    The settings `index`, `digit` and `filter` are properties; assigning one recomputes the maps.
    Setting `digit` to the class already shown keeps the image; to another class it shows that
    class's first image. An invalid value raises ValueError/TypeError and leaves the state as it was.

    Attributes, all float64 NumPy arrays (read-only copies are the caller's to make):
      image (28, 28) in [0, 1]; weights (5, 5); bias, a float (a learned filter's own, else 0);
      activation (24, 24) the cross-correlation of image and weights plus the bias; relu (24, 24) max(activation, 0); pooled (11, 11) relu max-pooled 3x3, stride 2.
    """

    def __init__(self, index=None, filter="vertical edge", learned=None, digit=None, biases=None):
        X, y = load_mnist()
        self._images, self._labels = X, y
        self._learned, self._biases = _learned_filters(learned, biases)
        self._typed = _IDENTITY.copy()
        if index is not None and digit is not None:
            raise ValueError(
                f"give index or digit, not both; got index={index!r} and digit={digit!r}. "
                f"digit picks the first image of a class, index any image."
            )
        self._index = self._check_index(0 if index is None else index)
        self._filter = None
        self.filter = filter  # validates and computes the maps
        if digit is not None:
            self.digit = digit

    # ---- settings ----------------------------------------------------------------------------

    @property
    def n_images(self):
        return len(self._labels)

    @property
    def filter_names(self):
        """The filters to choose from, in the order of the view's dropdown."""
        learned = tuple(f"{LEARNED_PREFIX}{k}" for k in range(len(self._learned)))
        return (*PRESETS, *learned, TYPED)

    @property
    def index(self):
        return self._index

    @index.setter
    def index(self, index):
        self._index = self._check_index(index)
        self._compute()

    def _check_index(self, index):
        return check_int(
            index,
            "index",
            0,
            self.n_images - 1,
            f"There are {self.n_images} digits: 0..{self.n_images - 1}.",
        )

    @property
    def digit(self):
        """The class (0..9) of the image shown."""
        return int(self._labels[self._index])

    @digit.setter
    def digit(self, digit):
        digit = check_int(digit, "digit", 0, 9, "A digit is a class 0..9.")
        if digit != self.digit:
            self.index = int(np.flatnonzero(self._labels == digit)[0])

    @property
    def filter(self):
        """The name of the filter in use (one of `filter_names`)."""
        return self._filter

    @filter.setter
    def filter(self, filter):
        if not isinstance(filter, str):
            self.type_filter(filter)
            return
        check_choice(filter, "filter", self.filter_names)
        self._filter = filter
        self._compute()

    def type_filter(self, values):
        """Use typed weights: `values` as `parse_filter` takes them (5 lines of text or (5, 5))."""
        self._typed = parse_filter(values)
        self._filter = TYPED
        self._compute()

    @property
    def weights(self):
        """(5, 5) the filter in use."""
        name = self._filter
        if name == TYPED:
            return self._typed.copy()
        if name.startswith(LEARNED_PREFIX):
            return self._learned[int(name.removeprefix(LEARNED_PREFIX))].copy()
        return PRESETS[name].copy()

    @property
    def bias(self):
        """The filter's bias: a learned filter's own, 0 for the presets and a typed filter."""
        if self._filter.startswith(LEARNED_PREFIX):
            return float(self._biases[int(self._filter.removeprefix(LEARNED_PREFIX))])
        return 0.0

    # ---- the layer ---------------------------------------------------------------------------

    def _compute(self):
        self.image = self._images[self._index].astype(np.float64) / 255.0
        x = torch.from_numpy(self.image)[None, None]
        w = torch.from_numpy(self.weights)[None, None]
        b = torch.tensor([self.bias], dtype=torch.float64)
        with torch.no_grad():
            activation = torch.nn.functional.conv2d(x, w, b)
            relu = torch.relu(activation)
            pooled = torch.nn.functional.max_pool2d(relu, POOL_SIZE, stride=POOL_STRIDE)
        self.activation = activation[0, 0].numpy()
        self.relu = relu[0, 0].numpy()
        self.pooled = pooled[0, 0].numpy()

    # ---- text and picture --------------------------------------------------------------------

    def describe(self):
        """The digit and the filter in one deterministic line."""
        return f"FilterExplorer: digit {self.digit} (image {self._index}), filter {self._filter}"

    def summary(self):
        """The digit, the filter and the maps' ranges in one line, rounded to 3 decimals."""
        a, p = self.activation, self.pooled
        return (
            f"digit {self.digit} (image {self._index}) | filter {self._filter} | "
            f"bias {self.bias:.3f} | map {_shape(a)} min {a.min():.3f} max {a.max():.3f} | "
            f"ReLU {np.mean(self.relu > 0):.0%} positive | pooled {_shape(p)} max {p.max():.3f}"
        )

    def figure(self):
        """A matplotlib Figure, not registered with pyplot: digit, filter, map, ReLU, pooled."""
        fig = Figure(figsize=(13.0, 2.9))
        # Fixed margins: constrained layout would double the drawing time of every frame.
        fig.subplots_adjust(left=0.01, right=0.955, bottom=0.03, top=0.84, wspace=0.4)
        ax_digit, ax_filter, ax_map, ax_relu, ax_pool = fig.subplots(1, 5)
        ax_digit.imshow(self.image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax_digit.set_title(f"digit {self.digit} (image {self._index})\n{_shape(self.image)}")

        w = self.weights
        w_max = float(np.abs(w).max()) or 1.0
        shown = ax_filter.imshow(w, cmap="RdBu_r", vmin=-w_max, vmax=w_max, interpolation="nearest")
        fig.colorbar(shown, ax=ax_filter, fraction=0.046, pad=0.04)
        ax_filter.set_title(f"filter: {self._filter}\n{_shape(w)}, bias {self.bias:.2f}")

        # The three maps share one scale centred at 0, so ReLU and pooling compare with the map.
        m = float(np.abs(self.activation).max()) or 1.0
        scale = {"cmap": "RdBu_r", "vmin": -m, "vmax": m, "interpolation": "nearest"}
        shown = ax_map.imshow(self.activation, **scale)
        fig.colorbar(shown, ax=ax_map, fraction=0.046, pad=0.04)
        ax_map.set_title(f"activation map\n{_shape(self.activation)}")
        ax_relu.imshow(self.relu, **scale)
        ax_relu.set_title(f"after ReLU\n{_shape(self.relu)}")
        shown = ax_pool.imshow(self.pooled, **scale)
        fig.colorbar(shown, ax=ax_pool, fraction=0.046, pad=0.04)
        ax_pool.set_title(f"max pool {POOL_SIZE}, stride {POOL_STRIDE}\n{_shape(self.pooled)}")
        for ax in fig.axes[:5]:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in (ax_digit, ax_filter, ax_map, ax_relu, ax_pool):
            ax.title.set_fontsize("medium")
        return fig

    def png(self, dpi=80):
        """The `figure` as PNG bytes (1040 x 232 pixels at the default dpi)."""
        return figure_png(self.figure(), dpi)


def _shape(a):
    return "x".join(map(str, a.shape))


# ---- the view ------------------------------------------------------------------------------------


class FilterExplorer(EditsItsState, ShowsItsPicture, widgets.VBox):
    """The filter explorer widget: digit and filter controls, the picture, a status line.

    The keyword arguments are those of `FilterExplorerState`; `self.state` is the state behind it.
    Every control acts at once: a new digit (dropdown of classes, or the index slider), a filter
    from the dropdown, or a typed weight in the 5x5 grid (which switches the filter to "typed")
    recomputes the maps and redraws. The grid always shows the filter in use, so a preset is a
    starting point to edit.

    Displayed, it shows the live widget where widgets render, and elsewhere (GitHub, nbconvert)
    a PNG of the current picture; its text/plain is `state.describe()`, deterministic for nbval.
    """

    def __init__(self, index=None, filter="vertical edge", learned=None, digit=None, biases=None):
        self.state = state = FilterExplorerState(index, filter, learned, digit, biases)
        wide = {"description_width": "50px"}
        self.controls = {
            "digit": widgets.Dropdown(
                options=list(range(10)), value=state.digit, description="digit", style=wide
            ),
            "index": widgets.IntSlider(
                value=state.index,
                min=0,
                max=state.n_images - 1,
                description="image",
                continuous_update=False,
                style=wide,
            ),
            "filter": widgets.Dropdown(
                options=state.filter_names, value=state.filter, description="filter", style=wide
            ),
        }
        for control in self.controls.values():
            control.layout = widgets.Layout(width="260px")
            control.observe(self._on_setting, names="value")
        n = FILTER_SIZE
        self.cells = [
            widgets.FloatText(value=0.0, step=0.1, layout=widgets.Layout(width="64px"))
            for _ in range(n * n)
        ]
        for cell in self.cells:
            cell.observe(self._on_typed, names="value")
        grid = widgets.GridBox(
            self.cells,
            layout=widgets.Layout(grid_template_columns=f"repeat({n}, 68px)", grid_gap="2px"),
        )
        self.status = widgets.Label()
        self.message = widgets.HTML()  # why the last value was refused; empty when all is well
        self.image = widgets.Image(format="png")
        self._syncing = False
        c = self.controls
        super().__init__(
            children=[
                widgets.HBox(
                    [
                        widgets.VBox([c["digit"], c["index"], c["filter"]]),
                        widgets.VBox([widgets.Label("typed filter (edit a weight):"), grid]),
                    ]
                ),
                self.status,
                self.message,
                self.image,
            ]
        )
        self.redraw()

    # ---- actions -----------------------------------------------------------------------------

    def redraw(self):
        """Bring the controls, the picture and the status line up to date with `state`."""
        with self._sync():
            state = self.state
            self.controls["digit"].value = state.digit
            self.controls["index"].value = state.index
            self.controls["filter"].value = state.filter
            for cell, value in zip(self.cells, state.weights.ravel()):
                cell.value = float(value)
        self.image.value = self.state.png()
        self.status.value = self.state.summary()

    def _on_typed(self, change):
        if self._syncing:
            return
        values = np.array([cell.value for cell in self.cells]).reshape(FILTER_SIZE, FILTER_SIZE)
        self._apply(lambda: self.state.type_filter(values))
