"""The course's data: three shipped files (iris, mcycle, an MNIST subset) and 2-D toy generators.

    >>> X, y = load_iris()                      # X (150, 4), y (150,) in {0, 1, 2}
    >>> X_train, y_train, X_test, y_test = mnist_split()   # (4000, 784), (4000,), (1000, 784), (1000,)
    >>> X, y = make_2d("spiral", n=200)         # X (200, 2), y (200,) in {0, 1}
    >>> t_train, a_train, t_val, a_val = holdout_split(*load_mcycle(), n_validation=44)

The files live in `<repo>/data` (or the folder in the environment variable NN273_DATA). Every load
checks the file's sha256 against `CHECKSUMS` and raises `DataFileError` when a file is missing or
damaged. Loaded arrays are cached; every call returns fresh copies, so changing them is safe.
"""

import csv
import functools
import hashlib
import math
import os
from pathlib import Path

import numpy as np

from nn273.validation import check_choice, check_int

__all__ = [
    "CHECKSUMS",
    "IRIS_CLASSES",
    "IRIS_FEATURES",
    "KINDS",
    "DataFileError",
    "data_dir",
    "holdout_split",
    "load_iris",
    "load_mcycle",
    "load_mnist",
    "make_2d",
    "mnist_split",
]

# sha256 of the files written by `python data/build.py`; data/README.md lists the same values.
CHECKSUMS = {
    "iris.csv": "9cc1c345c71bcc9b486b74cbf6063fa66f4bb5e0f603a4b3c3471ec2e5e8e355",
    "mcycle.csv": "fd0bf0038ec6adf64929f63576961bcdbb41db9e17e97f4be9d938b567f7de91",
    "mnist_5k.npz": "a6033452b9df6a2aed552da0c8503c040b32ccb194e46b46111751098503c465",
}
IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
IRIS_CLASSES = ("setosa", "versicolor", "virginica")
KINDS = ("separable", "overlapping", "circle", "xor", "gaussian", "spiral")

MNIST_SIZE = 5000
MNIST_CLASSES = 10


class DataFileError(OSError):
    """A shipped data file is missing, unreadable, or does not match its checksum."""


def data_dir():
    """The folder holding the data files: $NN273_DATA if set, else `<repo>/data`."""
    override = os.environ.get("NN273_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data"


def _how_to_fix(folder):
    out = "" if "NN273_DATA" not in os.environ else f" --out {folder}"
    return (
        f"Rebuild it from the repository root with `pip install -r data/requirements.txt` "
        f"then `python data/build.py{out}`, or restore it with git."
    )


def _verified_path(name):
    """Path of data file `name` after checking that it exists and matches its sha256."""
    folder = data_dir()
    path = folder / name
    expected = CHECKSUMS[name]
    source = "NN273_DATA" if "NN273_DATA" in os.environ else "the repository's data folder"
    if not path.exists():
        raise DataFileError(
            f"Data file {name} is missing: expected it at {path} (from {source}) with sha256 "
            f"{expected}; found no file there. {_how_to_fix(folder)}"
        )
    try:
        found = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DataFileError(
            f"Data file {name} is damaged: {path} could not be read "
            f"({type(exc).__name__}: {exc.strerror or exc}); expected a file with sha256 {expected}. "
            f"{_how_to_fix(folder)}"
        ) from exc
    if found != expected:
        raise DataFileError(
            f"Data file {name} is damaged or out of date: {path} has sha256 {found}, "
            f"expected {expected}. {_how_to_fix(folder)}"
        )
    return path


def _frozen(*arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


# Keyed on the path: the checksum is verified before every call, so a path's contents cannot change.
@functools.cache
def _cached_iris(path):
    _, rows = _read_csv(path)
    X = np.array([row[:4] for row in rows], dtype=np.float64)
    y = np.array([IRIS_CLASSES.index(row[4]) for row in rows], dtype=np.int64)
    return _frozen(X, y)


@functools.cache
def _cached_mcycle(path):
    _, rows = _read_csv(path)
    table = np.array(rows, dtype=np.float64)
    return _frozen(table[:, 0].copy(), table[:, 1].copy())


@functools.cache
def _cached_mnist(path):
    with np.load(path, allow_pickle=False) as archive:
        X, y = archive["X"], archive["y"].astype(np.int64)
    return _frozen(X, y)


def load_iris():
    """Fisher's iris flowers: 4 measurements in cm of 50 flowers of each of 3 species.

    Returns X (150, 4) float64, columns `IRIS_FEATURES`, and y (150,) int64 in {0, 1, 2}, an index
    into `IRIS_CLASSES`. Rows are in the file's order (sorted by species).
    """
    X, y = _cached_iris(_verified_path("iris.csv"))
    return X.copy(), y.copy()


def load_mcycle():
    """Simulated motorcycle crash: head acceleration over time, a classic 1-D regression set.

    Returns times (133,) float64, milliseconds after impact (sorted, with repeats), and
    accel (133,) float64, head acceleration in g.
    """
    times, accel = _cached_mcycle(_verified_path("mcycle.csv"))
    return times.copy(), accel.copy()


def load_mnist():
    """5000 MNIST handwritten digits, 500 of each class, in the file's order (sorted by label).

    Returns X (5000, 28, 28) uint8 pixel values 0..255 and y (5000,) int64 digit labels 0..9.
    Use `mnist_split` for a shuffled, scaled train/test split.
    """
    X, y = _cached_mnist(_verified_path("mnist_5k.npz"))
    return X.copy(), y.copy()


def mnist_split(n_test=1000, flatten=True, seed=273):
    """A fixed, stratified, shuffled train/test split of `load_mnist`.

    The test set holds n_test / 10 images of every digit; both sets are shuffled with
    `np.random.default_rng(seed)`, so the split is the same on every machine.

    Returns X_train (N, 784), y_train (N,), X_test (n_test, 784), y_test (n_test,), with
    N = 5000 - n_test, X float64 in [0, 1] and y int64 in 0..9. With flatten=False the X arrays
    are (N, 28, 28) and (n_test, 28, 28).
    """
    fix = f"Use a multiple of {MNIST_CLASSES} between {MNIST_CLASSES} and {MNIST_SIZE - MNIST_CLASSES}."
    n_test = check_int(n_test, "n_test", 1, fix=fix)
    if n_test % MNIST_CLASSES or n_test >= MNIST_SIZE:
        raise ValueError(
            f"n_test must be a positive multiple of {MNIST_CLASSES} below {MNIST_SIZE} (the test set "
            f"takes the same number of images of every digit); got {n_test}. {fix}"
        )
    X, y = load_mnist()
    rng = np.random.default_rng(seed)
    per_class = n_test // MNIST_CLASSES
    test = np.concatenate(
        [rng.permutation(np.flatnonzero(y == k))[:per_class] for k in range(MNIST_CLASSES)]
    )
    train = np.setdiff1d(np.arange(len(y)), test)
    train, test = rng.permutation(train), rng.permutation(test)
    X = X.astype(np.float64) / 255.0
    if flatten:
        X = X.reshape(len(X), -1)
    return X[train], y[train], X[test], y[test]


def holdout_split(X, y, n_validation, seed=273):
    """Hold out `n_validation` examples, drawn at random, to measure error on data not trained on.

    X: (N, ...) inputs, rows are examples (e.g. (N,) times or (N, D) features); y: (N,) targets.
    The held-out rows are `np.random.default_rng(seed).permutation(N)[:n_validation]`, so the split
    is the same on every machine; both parts keep the rows in their original order.

    Returns X_train, y_train, X_val, y_val: N - n_validation rows for training, n_validation held out.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"X and y must have one row per example, with y 1-D; got X of shape {X.shape} and y of "
            f"shape {y.shape}. Pass the inputs and targets of the same N examples."
        )
    n = len(y)
    n_validation = check_int(
        n_validation, "n_validation", 1, n - 1, fix="Keep at least one example on each side."
    )
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(seed).permutation(n)[:n_validation]] = True
    return X[~held], y[~held], X[held], y[held]


# 2-D toy data. Each generator returns the clean points of one class, shape (count, 2); make_2d
# adds the jitter (noise * standard normal), labels, and shuffles. Coordinates lie within about +-3.

_MARGIN = 0.5  # half the gap between the separable classes


def _separable(rng, count, label, noise):
    # Class 0 below the line x1 + x2 = 0, class 1 above, at distance >= MARGIN from it: the jitter
    # moves points only away from the line, so the classes stay separable for every noise.
    sign = 1.0 if label else -1.0
    across = sign * (
        _MARGIN + rng.uniform(0.0, 1.0, count) + noise * np.abs(rng.normal(size=count))
    )
    along = rng.uniform(-2.0, 2.0, count) + noise * rng.normal(size=count)
    normal, direction = np.array([1.0, 1.0]) / math.sqrt(2), np.array([-1.0, 1.0]) / math.sqrt(2)
    return across[:, None] * normal + along[:, None] * direction


def _blobs(center, spread):
    def generate(rng, count, label, noise):
        mean = np.array(center) * (1.0 if label else -1.0)
        return mean + spread * rng.normal(size=(count, 2))

    return generate


def _circle(rng, count, label, noise):
    # Inner disc (class 0) of radius 1, outer ring (class 1) of radii 1.5..2, uniform over the area.
    low, high = (1.5, 2.0) if label else (0.0, 1.0)
    radius = np.sqrt(rng.uniform(low**2, high**2, count))
    angle = rng.uniform(0.0, 2 * np.pi, count)
    return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _xor(rng, count, label, noise):
    # Class 1 where the signs of x1 and x2 differ; points stay 0.1 away from the axes before jitter.
    magnitude = rng.uniform(0.1, 1.5, (count, 2))
    first = rng.choice([-1.0, 1.0], count)
    second = -first if label else first
    return magnitude * np.column_stack([first, second])


def _spiral(rng, count, label, noise):
    # 1.75 turns out to radius 2; t = sqrt(u) spaces the points evenly along the arm.
    t = np.sqrt(rng.uniform(0.01, 1.0, count))
    angle = 3.5 * np.pi * t + np.pi * label
    return 2.0 * t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


_GENERATORS = {
    "separable": _separable,
    "overlapping": _blobs(center=(0.5, 0.5), spread=1.0),
    "circle": _circle,
    "xor": _xor,
    "gaussian": _blobs(center=(1.5, 1.5), spread=0.5),
    "spiral": _spiral,
}
_JITTERED = set(KINDS) - {"separable"}  # separable adds its own jitter, away from the margin


def make_2d(kind, n=200, noise=0.1, seed=0):
    """2-D toy data for classifiers and the playground.

    kind (one of `KINDS`):
        "separable"   two clouds on either side of the line x1 + x2 = 0, with a margin of 0.5
        "overlapping" two gaussian clouds whose centers are closer than their spread
        "circle"      inner disc (class 0) against an outer ring (class 1)
        "xor"         class 1 where x1 and x2 have different signs
        "gaussian"    two gaussian blobs, well apart
        "spiral"      two interleaved spirals
    noise: standard deviation of the gaussian jitter added to the points (0 for clean shapes).

    Returns X (n, 2) float64 and y (n,) int64 in {0, 1}, n // 2 rows of class 0 and the rest of
    class 1, shuffled. The same arguments always give the same data.
    """
    check_choice(kind, "kind", KINDS)
    n = check_int(n, "n", 2, fix="Ask for at least one example of each class.")
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise TypeError(f"noise must be a number; got {type(noise).__name__} {noise!r}") from None
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(
            f"noise must be a finite number >= 0 (the standard deviation of the jitter); "
            f"got {noise}. Use 0 for clean shapes, 0.1 for the default."
        )
    rng = np.random.default_rng(seed)
    generate = _GENERATORS[kind]
    counts = (n // 2, n - n // 2)
    X = np.concatenate([generate(rng, count, label, noise) for label, count in enumerate(counts)])
    y = np.repeat(np.arange(2, dtype=np.int64), counts)
    if kind in _JITTERED:
        X = X + noise * rng.normal(size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]
