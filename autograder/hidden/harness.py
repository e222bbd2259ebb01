"""What every hidden test uses: seeded inputs, a guarded call of the student's function, and comparisons.

The same test runs in two places. In a solution notebook (JupyterLab, nbval) it runs in the kernel
next to the function it tests. While grading it runs in the grader's process and the function is an
`autograder.judge.Proxy`: the call happens in the student's sandboxed kernel and its facts come back
as plain data, so nothing the submission does in its kernel can change a verdict. It must be robust to
anything a submission returns:

- `call` runs the student's function under NumPy's error checks and records its warnings (nbgrader
  scores a test cell that writes to stderr as zero, so a warning must fail loudly and say why),
  checks that the function left its array arguments unchanged (but those its contract lets it
  update, `updates=`), and that it did not call the nn273 reference implementation of the exercise
  under test (autograder/kernelside/guard.py).
- `as_float` converts a result with `np.asarray(..., dtype=float)` before any comparison, so an object
  whose `__eq__` always returns True cannot pass.
- `assert_close` and `assert_gradient` fail with the index, the expected and the received values.
- `number` and `choice` judge an answer to a question (`answer_<name> = ...` in the notebook): a
  number, or one letter of the options, without ever telling the expected answer.
- `case` (of `call`) and `hint` (of the checks, or `with H.hint(...)` around a block) add to a failure
  which case it was and what the case is about, so the student knows what to fix.
"""

import zlib
from contextlib import contextmanager

import numpy as np

from nn273.gradcheck import numerical_gradient

from ..kernelside.guard import guarded_call, module_places

__all__ = ["Harness", "HiddenTestFailure", "seed", "set_seed"]


class HiddenTestFailure(AssertionError):
    """A hidden test found the student's function wrong; the message says how."""


class Harness:
    """Hidden-test helpers for one assignment.

    reference: the nn273 modules holding this assignment's reference implementations; a student's
    function that calls into any of them fails the hidden test.
    """

    def __init__(self, *reference):
        self._reference = [m.__name__ for m in reference]

    def rng(self, name):
        """A generator seeded from `name` and the run's seed (see `set_seed`).

        Without a run seed (a notebook, nbval) each test draws the same inputs every time; while
        grading, the grader sets a fresh seed per run, so a submission cannot know its inputs.
        """
        key = zlib.crc32(name.encode())
        return np.random.default_rng(key if _SEED is None else [_SEED, key])

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

    def call(self, fn, *args, forbid=(), require=(), updates=(), case=None, **kwargs):
        """Call the student's `fn`: warnings are errors, inputs must stay unchanged, no reference calls.

        forbid: more modules (e.g. torch.autograd) whose Python functions `fn` must not call.
        require: modules of which `fn` must call at least one Python function (e.g. torch.autograd
        in an exercise that asks for autograd).
        updates: positions (0-based) of the arguments that `fn` may change in place, as its contract
        says (batchnorm's running statistics, a dict): they are not checked for changes, and while
        grading their state after the call in the kernel is written back into the test's own
        objects (a dict's items, a list's items, an array's values), so the test sees what a caller
        in the kernel would.
        case: the test's own account of the call, e.g. "softmax(R) for R = [[1, 2]]", added to any
        failure as "; this was <case>".
        """
        try:
            return self._guarded_call(fn, args, kwargs, forbid, require, tuple(updates))
        except HiddenTestFailure as exc:
            if case is None:
                raise
            raise HiddenTestFailure(f"{exc}; this was {case}") from exc.__cause__

    def _guarded_call(self, fn, args, kwargs, forbid, require, updates=()):
        name = getattr(fn, "__name__", None) or type(fn).__name__
        if not callable(fn):
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})")
        forbidden = [*self._reference, *(m.__name__ for m in forbid)]
        required = [m.__name__ for m in require]
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            if _judged(fn):  # grading: fn runs in the student's kernel, the facts come back as data
                facts = fn.facts(args, kwargs, forbid=forbidden, require=required, name=name, updates=updates)
            else:
                facts = guarded_call(
                    fn,
                    args,
                    kwargs,
                    errstate=np.geterr(),
                    forbid=module_places(forbidden),
                    forbid_modules=forbidden,
                    require=module_places(required),
                    updates=updates,
                )
        value = _verdict(name, facts, args, kwargs, forbidden, required)
        if _judged(fn):
            _write_back(name, [args[i] for i in updates], facts.get("updated") or [])
        return value

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

    def number(self, answer, expected, what, rtol=0.0):
        """An answer to a numeric question: a number equal to `expected` (exactly when rtol is 0,
        as for a count), else within rtol of it. The failure never tells the expected number."""
        if isinstance(answer, np.ndarray) and answer.shape == () and answer.dtype.kind in "iuf":
            answer = answer.item()
        if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer, np.floating)):
            raise HiddenTestFailure(
                f"the answer to '{what}' must be a number such as 12 or 0.5; received {_kind(answer)}"
            )
        value = float(answer)
        if not np.isfinite(value):
            raise HiddenTestFailure(f"the answer to '{what}' must be a finite number; received {value}")
        if abs(value - expected) > rtol * abs(expected):
            raise HiddenTestFailure(f"{answer!r} is not the answer to '{what}'; think it through again")

    def choice(self, answer, correct, options, what):
        """An answer to a multiple-choice question: one of the letters of `options` (a string such
        as "abcd"), and the `correct` one. The failure never tells which letter is correct."""
        letters = ", ".join(f'"{o}"' for o in options)
        if not isinstance(answer, str) or answer.strip().lower() not in tuple(options):
            shown = repr(answer)[:40] if isinstance(answer, str) else _kind(answer)
            raise HiddenTestFailure(f"the answer to '{what}' must be one letter of {letters}, as a string; received {shown}")
        if answer.strip().lower() != correct:
            raise HiddenTestFailure(f'"{answer.strip()}" is not the answer to \'{what}\'; think it through again')


def _kind(value):
    """What a wrong kind of answer is, in words (a kernel object names its type only)."""
    return f"a value of type {getattr(value, '_type', None) or type(value).__name__}"


def set_seed(seed):
    """Make every hidden test draw its inputs from `seed` (None: the fixed seeds of a notebook)."""
    global _SEED
    _SEED = None if seed is None else int(seed)


def seed():
    return _SEED


_SEED = None


def _judged(fn):
    """fn is a student's function in a grading kernel (autograder.judge), not one in this process."""
    return type(fn).__module__ == "autograder.judge" and hasattr(fn, "facts")


def _write_back(name, originals, updated):
    """Give the test's own objects the state their copies in the kernel were left in."""
    if len(updated) != len(originals):
        raise HiddenTestFailure(f"{name}: the kernel did not report the arguments it may update")
    for original, new in zip(originals, updated):
        if isinstance(original, dict) and isinstance(new, dict):
            original.clear()
            original.update(new)
        elif isinstance(original, list) and isinstance(new, list):
            original[:] = new
        elif isinstance(original, np.ndarray) and isinstance(new, np.ndarray) and new.shape == original.shape:
            np.copyto(original, new, casting="unsafe")
        else:
            raise HiddenTestFailure(
                f"{name} changed an argument it may update into something else "
                f"({type(original).__name__} -> {_kind(new)})"
            )


def _verdict(name, facts, args, kwargs, forbidden, required):
    """The facts of one call (autograder/kernelside/guard.py) as a verdict: the value, or a failure."""
    exc = facts["exception"]
    if exc is not None:
        if isinstance(exc, (HiddenTestFailure, NotImplementedError)):
            raise exc
        if isinstance(exc, FloatingPointError):
            raise HiddenTestFailure(
                f"{name}{_describe(args, kwargs)} hit a floating-point problem ({exc}); "
                f"the result must be exact and finite without overflow or division by zero"
            ) from None
        if isinstance(exc, Warning):
            raise HiddenTestFailure(f"{name}{_describe(args, kwargs)} issued a warning: {type(exc).__name__}: {exc}") from None
        raise HiddenTestFailure(f"{name}{_describe(args, kwargs)} raised {type(exc).__name__}: {exc}") from exc
    if facts["warnings"]:
        category, message = facts["warnings"][0]
        raise HiddenTestFailure(f"{name}{_describe(args, kwargs)} issued a warning: {category}: {message}")
    if facts["forbidden"]:
        raise HiddenTestFailure(
            f"{name} calls {facts['forbidden'][0].split(' of ')[0]} from the course's reference implementation "
            f"or a library this exercise asks you to do without ({', '.join(forbidden)}); write the exercise yourself"
        )
    if required and not facts["required"]:
        raise HiddenTestFailure(f"{name} must use {', '.join(required)} as the exercise asks, and it never called it")
    if facts["modified"]:
        raise HiddenTestFailure(f"{name} modified its {facts['modified']}; functions must not change their inputs")
    return facts["value"]


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

