"""Pictures every notebook draws: decision regions, boundary lines, loss curves and image grids.

Each function draws on the axes it is given (a new figure when none is) and returns them, so pictures
compose: shade a classifier's regions, then draw a boundary line on top. None calls `plt.show()`;
the notebook does, once per figure.

    >>> ax = plot_decision_regions(lambda G: np.where(G[:, 0] > 0, 1, -1), X, y)
    >>> plot_boundary(lambda x1: 0 * x1, ax, color="k")
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Colormap, ListedColormap, to_rgba

from .validation import as_array, check_ndim, check_same_length

__all__ = [
    "CLASS_COLORS",
    "plot_boundary",
    "plot_decision_regions",
    "plot_loss_curves",
    "show_images",
    "show_weight_images",
]

# One colour per class, in sorted label order: the first two contrast well for binary problems
# ({-1, +1} or {0, 1}) and the list stays colour-blind friendly (Okabe-Ito) for a few more.
CLASS_COLORS = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)

# A region is shaded with its class colour blended this far towards white, so points stay visible.
_REGION_LIGHTNESS = 0.7
# More distinct predictions than this means predict returned scores, not labels.
_MAX_CLASSES = 20


def plot_decision_regions(
    predict, X, y, ax=None, resolution=200, margin=0.5, title=None, cmap=None, class_names=None
):
    """Shade the regions where `predict` gives each label and scatter the data on top.

    predict:    callable mapping an (M, 2) array of points to (M,) integer labels (any labels:
                {-1, +1}, {0, 1, 2}, ...).
    X:          (N, 2) data points; the grid covers them with `margin` on every side.
    y:          (N,) their labels, coloured like the region of the same label.
    resolution: grid points along each axis.
    cmap:       None for the course's class colours, or a Matplotlib colormap (or its name).
    class_names: legend names for the labels of y in sorted order (e.g. `data.IRIS_CLASSES`);
                default "y = <label>".
    Returns the axes.
    """
    if not callable(predict):
        raise TypeError(
            f"predict must be a function of an (M, 2) array; got {type(predict).__name__}"
        )
    X = _points_2d(X)
    y = as_array(y, "y", dtype=float, ndim=1)
    check_same_length(X, y, "X", "y")
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2 grid points per axis; got {resolution}")
    if not margin >= 0:
        raise ValueError(f"margin must be a non-negative distance; got {margin!r}")
    names = {c: f"y = {_label(c)}" for c in np.unique(y)}
    if class_names is not None:
        class_names = [str(n) for n in class_names]
        if len(class_names) != len(names):
            raise ValueError(
                f"class_names must name each of the {len(names)} labels in y "
                f"({', '.join(names.values())}); got {len(class_names)} names"
            )
        names = dict(zip(names, class_names))
    ax = _axes(ax)

    x1 = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    x2 = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    G1, G2 = np.meshgrid(x1, x2)
    grid = np.column_stack([G1.ravel(), G2.ravel()])
    Z = np.asarray(predict(grid))
    if Z.size != grid.shape[0]:
        raise ValueError(
            f"predict must return one label per point: given a ({grid.shape[0]}, 2) grid it returned "
            f"shape {Z.shape}"
        )
    Z = as_array(Z.reshape(-1), "predict's labels", dtype=float)

    classes = np.union1d(np.unique(y), np.unique(Z))
    if len(classes) > _MAX_CLASSES or not np.all(np.isfinite(Z) & (Z == np.round(Z))):
        raise ValueError(
            f"predict must return integer class labels, but gave {len(classes)} distinct values "
            f"such as {Z[0]:g}; "
            f"if it returns scores or probabilities, threshold them (e.g. 2*(r > 0) - 1)"
        )
    colors = _class_colors(len(classes), cmap)
    light = colors * (1 - _REGION_LIGHTNESS) + _REGION_LIGHTNESS
    light[:, 3] = 1.0

    index = np.searchsorted(classes, Z).reshape(G1.shape)
    ax.imshow(
        index,
        origin="lower",
        extent=(x1[0], x1[-1], x2[0], x2[-1]),
        cmap=ListedColormap(light),
        vmin=-0.5,
        vmax=len(classes) - 0.5,
        interpolation="nearest",
        aspect="auto",
    )
    for k, c in enumerate(classes):
        mine = y == c
        if mine.any():
            ax.scatter(
                X[mine, 0],
                X[mine, 1],
                s=18,
                color=colors[k],
                edgecolors="k",
                linewidths=0.4,
                label=names[c],
            )
    ax.set_xlim(x1[0], x1[-1])
    ax.set_ylim(x2[0], x2[-1])
    if not ax.get_xlabel():
        ax.set_xlabel("$x_1$")
    if not ax.get_ylabel():
        ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax


def plot_boundary(fn, ax=None, x1_range=None, **kwargs):
    """Draw the line x2 = fn(x1) across the axes (or over `x1_range`), keeping the axes' limits.

    fn:       callable mapping an (M,) array of x1 to (M,) x2, e.g. `lambda x1: boundary_x2(x1, theta)`.
    x1_range: (low, high); default the axes' current x-range.
    kwargs:   passed to `ax.plot` (default a black line).
    Returns the axes.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function x1 -> x2; got {type(fn).__name__}")
    ax = _axes(ax)
    had_data = ax.has_data()
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    low, high = xlim if x1_range is None else x1_range
    if not low < high:
        raise ValueError(f"x1_range must be (low, high) with low < high; got ({low}, {high})")
    x1 = np.linspace(low, high, 200)
    x2 = as_array(fn(x1), "fn(x1)", dtype=float)
    if x2.shape != x1.shape:
        raise ValueError(
            f"fn must return one x2 per x1: given shape {x1.shape} it returned shape {x2.shape}"
        )
    kwargs.setdefault("color", "k")
    ax.plot(x1, x2, **kwargs)
    if had_data:  # a steep line must not zoom the picture out to where the data is a dot
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
    if "label" in kwargs:
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    return ax


def plot_loss_curves(
    curves, ax=None, xlabel="step", ylabel="loss", logy=False, title=None, *, x=None, marker=None
):
    """One line per named curve, against its step number (or `x`), with a legend.

    curves: dict name -> sequence of values, e.g. {"train": losses, "lr = 0.1": other}.
    logy:   a logarithmic y-axis (every value must then be positive).
    x:      the values on the horizontal axis shared by every curve (e.g. polynomial degrees);
            default 0, 1, 2, ... (step numbers). Every curve must then have len(x) values.
    marker: a Matplotlib marker drawn at every value (e.g. "o"), default none.
    Returns the axes.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError(
            f"curves must be a non-empty dict name -> sequence of values, e.g. {{'train': losses}}; "
            f"got {type(curves).__name__}{' (empty)' if isinstance(curves, dict) else ''}"
        )
    values = {}
    for name, curve in curves.items():
        v = as_array(curve, f"curve {name!r}", dtype=float, ndim=1)
        if v.size == 0:
            raise ValueError(f"curve {name!r} is empty; record at least one value")
        if logy and not np.all(v > 0):
            raise ValueError(
                f"logy=True needs positive values, but curve {name!r} has min {v.min():.4g}"
            )
        values[name] = v
    if x is not None:
        x = as_array(x, "x", dtype=float, ndim=1)
        for name, v in values.items():
            if len(v) != len(x):
                raise ValueError(
                    f"curve {name!r} has {len(v)} values but x has {len(x)}; give one value per x"
                )
    ax = _axes(ax)
    for name, v in values.items():
        ax.plot(np.arange(len(v)) if x is None else x, v, label=str(name), marker=marker)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def _image_stack(images, titles, ncols, flat_hint):
    """The checked arguments of an image grid: (list of 2-D float arrays, titles or None, ncols)."""
    if isinstance(images, np.ndarray) and images.ndim == 2:
        raise ValueError(
            f"images must be a stack of 2-D images (n, H, W); got one array of shape {images.shape}. "
            f"For a single image pass images[None]; {flat_hint}"
        )
    images = [as_array(im, f"images[{i}]", dtype=float) for i, im in enumerate(images)]
    for i, im in enumerate(images):
        check_ndim(im, f"images[{i}]", 2)
    if not images:
        raise ValueError("images is empty; pass at least one 2-D image")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(images):
            raise ValueError(f"titles must have one entry per image ({len(images)}); got {len(titles)}")
    ncols = int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be a positive number of columns; got {ncols}")
    return images, titles, ncols


def show_images(images, ncols=10, titles=None, cmap="gray", axes_off=True, symmetric=False):
    """A grid of 2-D images (digits, or first-layer weights reshaped to 28x28), one per panel.

    images:    (n, H, W) array, or a sequence of 2-D arrays (sizes may differ).
    titles:    None or n strings.
    symmetric: centre each image's colour scale at 0 (for weights: positive and negative alike).
    Returns the figure.
    """
    images, titles, ncols = _image_stack(
        images, titles, ncols, "for flat rows reshape, e.g. X.reshape(-1, 28, 28)"
    )
    n = len(images)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    size = 1.2
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, (size + 0.25 * (titles is not None)) * nrows),
        squeeze=False,
    )
    for i, ax in enumerate(axes.ravel()):
        if i >= n:
            ax.axis("off")
            continue
        im = images[i]
        if symmetric:
            m = float(np.max(np.abs(im))) or 1.0
            ax.imshow(im, cmap=cmap, vmin=-m, vmax=m, interpolation="nearest")
        else:
            ax.imshow(im, cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
        if axes_off:
            ax.axis("off")
    fig.tight_layout()
    return fig


def show_weight_images(
    images, ncols=10, titles=None, vmax=None, cmap="RdBu_r", fig=None, label="weight", title=None
):
    """Signed images (first-layer weights reshaped to 28x28) on one shared colour scale, centred at 0.

    Every panel maps -vmax to the colormap's one end, 0 to its middle and +vmax to the other end, and
    a colorbar says which colour is which value, so panels compare with each other (show_images'
    `symmetric=True` scales each panel by itself, and a faint panel looks as strong as a vivid one).

    images: (n, H, W) array, or a sequence of 2-D arrays.
    titles: None or n strings.
    vmax:   the end of the colour scale, a positive number; default the largest |value| of all images.
    cmap:   a diverging colormap (its middle colour is 0).
    fig:    a Figure or SubFigure to draw in (e.g. one of `plt.figure().subfigures(2, 1)`); default
            a new figure.
    label:  the colorbar's label.  title: drawn above the grid.
    Returns the figure (or subfigure) drawn in.
    """
    images, titles, ncols = _image_stack(
        images, titles, ncols, "for flat columns of weights W (784, M) pass W.T.reshape(-1, 28, 28)"
    )
    n = len(images)
    if vmax is None:
        vmax = max(float(np.max(np.abs(im))) for im in images) or 1.0
    elif not (np.isfinite(vmax) and vmax > 0):
        raise ValueError(
            f"vmax must be a positive number (the scale runs -vmax..vmax); got {vmax!r}"
        )
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    if fig is None:
        size = 1.2
        height = (size + 0.25 * (titles is not None)) * nrows + 0.3 * (title is not None)
        fig = plt.figure(figsize=(size * ncols + 1.0, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        shown = ax.imshow(images[i], cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
    fig.colorbar(shown, ax=axes, label=label, shrink=0.9)
    if title is not None:
        fig.suptitle(title)
    return fig


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def _points_2d(X):
    X = as_array(X, "X", dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"X must be (N, 2): two features per example, to draw in the plane; got shape {X.shape}. "
            f"Pick two columns, e.g. X[:, [2, 3]]"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no rows; pass at least one point")
    return X


def _class_colors(k, cmap):
    """(k, 4) RGBA colours, one per class in sorted label order."""
    if cmap is None:
        palette = [to_rgba(c) for c in CLASS_COLORS]
        if k <= len(palette):
            return np.array(palette[:k])
        cmap = "tab20"
    if not isinstance(cmap, Colormap):
        cmap = plt.get_cmap(cmap)
    if isinstance(cmap, ListedColormap) and cmap.N >= k:
        return np.asarray(cmap(np.arange(k)), dtype=float)
    return np.asarray(cmap(np.linspace(0, 1, k)), dtype=float)


def _label(c):
    return str(int(c)) if float(c).is_integer() else f"{c:g}"
