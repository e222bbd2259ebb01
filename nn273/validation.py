"""Input checks shared by every public function: errors say what was expected, what arrived, and how to fix it."""

import operator

import numpy as np

__all__ = ["as_array", "check_choice", "check_int", "check_ndim", "check_same_length"]


def as_array(x, name, *, dtype=float, ndim=None):
    """Return `x` as a NumPy array of `dtype`, raising ValueError/TypeError that names `name`.

    `ndim` may be an int or a tuple of allowed ints.
    """
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be array-like of {np.dtype(dtype).name} values; "
            f"got {type(x).__name__} ({exc})"
        ) from None
    if ndim is not None:
        check_ndim(arr, name, ndim)
    return arr


def check_ndim(arr, name, ndim):
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        want = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(
            f"{name} must be {want}; got an array of shape {arr.shape}. "
            f"Rows are examples: reshape with .reshape(-1, 1) for one feature, or [None] for one example."
        )


def check_same_length(a, b, name_a, name_b):
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of rows (examples); "
            f"got {len(a)} and {len(b)}"
        )


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_int(value, name, low, high=None, fix=""):
    """`value` as a Python int in [low, high] (high None: no upper bound); bools are refused."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer; got bool {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}") from None
    if value < low or (high is not None and value > high):
        span = f"be between {low} and {high}" if high is not None else f"be an integer >= {low}"
        raise ValueError(f"{name} must {span}; got {value!r}. {fix}".rstrip())
    return value
