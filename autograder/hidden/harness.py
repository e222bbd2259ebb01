"""What every hidden test uses: seeded inputs, a guarded call of the student's function, and comparisons.

A hidden test runs inside the student's kernel, so it must be robust to anything a submission returns:

- `call` runs the student's function with warnings turned into errors (nbgrader scores a test cell
  that writes to stderr as zero, so a warning must fail loudly and say why), checks that the function
  left its array arguments unchanged, and that it did not call the nn273 reference implementation of
  the exercise under test.
- `as_float` converts a result with `np.asarray(..., dtype=float)` before any comparison, so an object
  whose `__eq__` always returns True cannot pass.
- `assert_close` and `assert_gradient` fail with the index, the expected and the received values.
"""

import sys
import warnings
import zlib
from pathlib import Path

import numpy as np

from nn273.gradcheck import numerical_gradient

__all__ = ["Harness", "HiddenTestFailure"]


class HiddenTestFailure(AssertionError):
    """A hidden test found the student's function wrong; the message says how."""


class Harness:
    """Hidden-test helpers for one assignment.

    reference: the nn273 modules holding this assignment's reference implementations; a student's
    function that calls into any of them fails the hidden test.
    """

    def __init__(self, *reference):
        self._forbidden = {str(Path(m.__file__).resolve()) for m in reference}
        self._names = ", ".join(m.__name__ for m in reference)

    def rng(self, name):
        """A generator seeded from `name`, so each test draws the same inputs every time."""
        return np.random.default_rng(zlib.crc32(name.encode()))

    def call(self, fn, *args, forbid=(), **kwargs):
        """Call the student's `fn`: warnings are errors, inputs must stay unchanged, no reference calls.

        forbid: more modules (e.g. torch.autograd) whose Python functions `fn` must not call.
        """
        name = getattr(fn, "__name__", repr(fn))
        forbidden = self._forbidden | {str(Path(m.__file__).resolve().parent) for m in forbid}
        names = ", ".join([self._names, *(m.__name__ for m in forbid)])
        if not callable(fn):
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})")
        before = [(i, np.array(a, copy=True)) for i, a in enumerate(args) if isinstance(a, np.ndarray)]
        called_reference = []

        def profile(frame, event, arg):
            if event == "call" and _is_forbidden(frame.f_code.co_filename, forbidden):
                called_reference.append(frame.f_code.co_name)

        old_profile = sys.getprofile()
        with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
            warnings.simplefilter("error")
            sys.setprofile(profile)
            try:
                result = fn(*args, **kwargs)
            except HiddenTestFailure:
                raise
            except FloatingPointError as exc:
                raise HiddenTestFailure(
                    f"{name}{_short(args)} hit a floating-point problem ({exc}); "
                    f"the result must be exact and finite without overflow or division by zero"
                ) from None
            except Warning as exc:
                raise HiddenTestFailure(f"{name}{_short(args)} issued a warning: {type(exc).__name__}: {exc}") from None
            finally:
                sys.setprofile(old_profile)
        if called_reference:
            raise HiddenTestFailure(
                f"{name} calls {called_reference[0]}() from the course's reference implementation or a "
                f"library this exercise asks you to do without ({names}); write the exercise yourself"
            )
        for i, old in before:
            if not np.array_equal(old, args[i], equal_nan=True):
                raise HiddenTestFailure(f"{name} modified its argument number {i + 1}; functions must not change their inputs")
        return result

    def as_float(self, value, what, shape=None):
        """`np.asarray(value, dtype=float)` with a clear failure, and the expected shape checked."""
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise HiddenTestFailure(f"{what} must be numbers; received {type(value).__name__} ({exc})") from None
        if shape is not None and arr.shape != tuple(shape):
            raise HiddenTestFailure(f"{what} must have shape {tuple(shape)}; received shape {arr.shape}")
        return arr

    def assert_close(self, received, expected, what, rtol=1e-7, atol=1e-10):
        """Elementwise |received - expected| <= atol + rtol |expected|, and finite."""
        received = self.as_float(received, what)
        expected = np.asarray(expected, dtype=float)
        if received.shape != expected.shape:
            raise HiddenTestFailure(f"{what} must have shape {expected.shape}; received shape {received.shape}")
        bad = ~np.isfinite(received) | (np.abs(received - expected) > atol + rtol * np.abs(expected))
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            where = f" at index {idx}" if idx else ""
            raise HiddenTestFailure(
                f"{what} is wrong{where}: expected {expected[idx]:.10g}, received {received[idx]:.10g} "
                f"({int(bad.sum())} of {bad.size} values wrong)"
            )

    def assert_gradient(self, f, x, received, what, rtol=1e-6, atol=1e-8, h=1e-5):
        """The student's gradient `received` of scalar `f` at `x` against central differences in float64."""
        x = np.asarray(x, dtype=np.float64)
        received = self.as_float(received, what, shape=x.shape)
        expected = numerical_gradient(f, x, h=h)
        err = np.abs(received - expected) / np.maximum(np.abs(received) + np.abs(expected), atol)
        bad = ~np.isfinite(received) | (err > rtol)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise HiddenTestFailure(
                f"{what} is wrong at index {idx}: expected {expected[idx]:.10g} (central differences), "
                f"received {received[idx]:.10g}; relative error {err[idx]:.1e} > {rtol:.0e}"
            )


def _is_forbidden(filename, forbidden):
    return filename in forbidden or any(filename.startswith(folder + "/") for folder in forbidden)


def _short(args):
    shapes = [f"array{a.shape}" if isinstance(a, np.ndarray) else type(a).__name__ for a in args]
    return "(" + ", ".join(shapes) + ")"

