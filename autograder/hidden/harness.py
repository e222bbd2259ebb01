"""What every hidden test uses: seeded inputs, a guarded call of the student's function, and comparisons.

A hidden test runs inside the student's kernel, so it must be robust to anything a submission returns:

- `call` runs the student's function with warnings turned into errors (nbgrader scores a test cell
  that writes to stderr as zero, so a warning must fail loudly and say why), checks that the function
  left its array arguments unchanged, and that it did not call the nn273 reference implementation of
  the exercise under test.
- `as_float` converts a result with `np.asarray(..., dtype=float)` before any comparison, so an object
  whose `__eq__` always returns True cannot pass.
- `assert_close` and `assert_gradient` fail with the index, the expected and the received values.
- `case` (of `call`) and `hint` (of the checks, or `with H.hint(...)` around a block) add to a failure
  which case it was and what the case is about, so the student knows what to fix.
"""

import os
import sys
import warnings
import zlib
from contextlib import contextmanager
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
        self._forbidden = {path for m in reference for path in _spellings(m.__file__)}
        self._names = ", ".join(m.__name__ for m in reference)

    def rng(self, name):
        """A generator seeded from `name`, so each test draws the same inputs every time."""
        return np.random.default_rng(zlib.crc32(name.encode()))

    @contextmanager
    def hint(self, text):
        """Add `text` (what the case is about: a formula, an edge case) to any failure in the block.

        `as_float` and `assert_close` take the same as `hint=`, for a single check.
        """
        try:
            yield
        except HiddenTestFailure as exc:
            if not text:
                raise
            raise HiddenTestFailure(f"{exc} {text}") from exc.__cause__

    def call(self, fn, *args, forbid=(), require=(), case=None, **kwargs):
        """Call the student's `fn`: warnings are errors, inputs must stay unchanged, no reference calls.

        forbid: more modules (e.g. torch.autograd) whose Python functions `fn` must not call.
        require: modules of which `fn` must call at least one Python function (e.g. torch.autograd
        in an exercise that asks for autograd).
        case: the test's own account of the call, e.g. "softmax(R) for R = [[1, 2]]", added to any
        failure as "; this was <case>".
        """
        try:
            return self._guarded_call(fn, args, kwargs, forbid, require)
        except HiddenTestFailure as exc:
            if case is None:
                raise
            raise HiddenTestFailure(f"{exc}; this was {case}") from exc.__cause__

    def _guarded_call(self, fn, args, kwargs, forbid, require):
        name = getattr(fn, "__name__", repr(fn))
        forbidden = self._forbidden | {path for m in forbid for path in _spellings(Path(m.__file__).parent)}
        names = ", ".join([self._names, *(m.__name__ for m in forbid)])
        if not callable(fn):
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})")
        before = _snapshot(args, kwargs)
        required = {path for m in require for path in _spellings(Path(m.__file__).parent)}
        called_reference, called_required = [], []

        def profile(frame, event, arg):
            if event == "call":
                if _is_forbidden(frame.f_code.co_filename, forbidden):
                    called_reference.append(frame.f_code.co_name)
                elif required and not called_required and _is_forbidden(frame.f_code.co_filename, required):
                    called_required.append(frame.f_code.co_name)

        old_profile = sys.getprofile()
        with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
            warnings.simplefilter("error")
            sys.setprofile(profile)
            try:
                result = fn(*args, **kwargs)
            except (HiddenTestFailure, NotImplementedError):
                raise
            except FloatingPointError as exc:
                raise HiddenTestFailure(
                    f"{name}{_describe(args, kwargs)} hit a floating-point problem ({exc}); "
                    f"the result must be exact and finite without overflow or division by zero"
                ) from None
            except Warning as exc:
                raise HiddenTestFailure(
                    f"{name}{_describe(args, kwargs)} issued a warning: {type(exc).__name__}: {exc}"
                ) from None
            except Exception as exc:  # the student's crash, with the inputs that caused it
                raise HiddenTestFailure(f"{name}{_describe(args, kwargs)} raised {type(exc).__name__}: {exc}") from exc
            finally:
                sys.setprofile(old_profile)
        if called_reference:
            raise HiddenTestFailure(
                f"{name} calls {called_reference[0]}() from the course's reference implementation or a "
                f"library this exercise asks you to do without ({names}); write the exercise yourself"
            )
        if required and not called_required:
            raise HiddenTestFailure(
                f"{name} must use {', '.join(m.__name__ for m in require)} as the exercise asks, "
                f"and it never called it"
            )
        changed = _changed(before, args, kwargs)
        if changed:
            raise HiddenTestFailure(f"{name} modified its {changed}; functions must not change their inputs")
        return result

    def as_float(self, value, what, shape=None, hint=""):
        """`np.asarray(value, dtype=float)` with a clear failure, and the expected shape checked."""
        with self.hint(hint):
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError) as exc:
                raise HiddenTestFailure(f"{what} must be numbers; received {type(value).__name__} ({exc})") from None
            if shape is not None and arr.shape != tuple(shape):
                raise HiddenTestFailure(f"{what} must have shape {tuple(shape)}; received shape {arr.shape}")
        return arr

    def assert_close(self, received, expected, what, rtol=1e-7, atol=1e-10, hint=""):
        """Elementwise |received - expected| <= atol + rtol |expected|, and finite."""
        with self.hint(hint):
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
        diff = np.abs(received - expected)
        err = diff / np.maximum(np.abs(received) + np.abs(expected), atol)
        # relative for sizeable entries, absolute near zero (central differences carry ~1e-10 of noise)
        bad = ~np.isfinite(received) | (diff > atol + rtol * (np.abs(received) + np.abs(expected)))
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise HiddenTestFailure(
                f"{what} is wrong at index {idx}: expected {expected[idx]:.10g} (central differences), "
                f"received {received[idx]:.10g}; relative error {err[idx]:.1e} > {rtol:.0e}"
            )


def _spellings(path):
    """A file or folder as code objects may name it: as imported (co_filename keeps symlinks) and resolved."""
    return {os.path.abspath(path), str(Path(path).resolve())}


def _is_forbidden(filename, forbidden):
    return filename in forbidden or any(filename.startswith(folder + os.sep) for folder in forbidden)


def _leaves(value, path):
    """(path, array) for every ndarray in value, looking inside lists, tuples and dicts."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}[{key!r}]")


def _inputs(args, kwargs):
    for i, a in enumerate(args):
        yield from _leaves(a, f"argument number {i + 1}")
    for k, v in kwargs.items():
        yield from _leaves(v, k)


def _snapshot(args, kwargs):
    return [(path, np.array(a, copy=True)) for path, a in _inputs(args, kwargs)]


def _changed(before, args, kwargs):
    now = dict(_inputs(args, kwargs))
    for path, old in before:
        new = now.get(path)
        if new is None or old.shape != new.shape or not np.array_equal(old, new, equal_nan=True):
            return path
    return None


def _shapes(value):
    """Nested lists of arrays by their shapes: [((2, 3), (3,)), ((3, 1), (1,))]."""
    if isinstance(value, np.ndarray):
        return str(value.shape)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_shapes(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return type(value).__name__


def _describe(args, kwargs):
    """`(x = [1, 2], W of shape (3, 3))`: small inputs in full, larger ones by shape."""
    parts = [_show(f"#{i + 1}", a) for i, a in enumerate(args)] + [_show(k, v) for k, v in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def _show(name, value):
    if callable(value):
        return f"{name} = a function"
    if isinstance(value, str):
        return f"{name} = {value[:40]!r}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple, np.ndarray)) for v in value):
        return f"{name} = {_shapes(value)}"
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return f"{name} = {type(value).__name__}"
    if a.ndim == 0:
        return f"{name} = {a.item():.8g}"
    if a.size > 12:
        return f"{name} of shape {a.shape}"
    return f"{name} = {' '.join(np.array2string(a, separator=', ', max_line_width=10**6).split())}"

