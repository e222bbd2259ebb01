"""What every hidden test uses: seeded inputs, a guarded call of the student's function, and comparisons.

The same test runs in two places. In a solution notebook (JupyterLab, nbval) it runs in the kernel
next to the function it tests. While grading it runs in the grader's process and the function is an
`autograder.judging.judge.Proxy`: the call happens in the student's sandboxed kernel and its facts come back
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
- A diagnosis names the mistake when it is a known one: when a check fails after a call, the
  catalogue's wrong implementations of that function (autograder/catalogue/, those with an `explain`
  text) run here on the same inputs, and if the student's result equals what exactly one known
  mistake gives (and that differs from the reference's), the failure ends with "Diagnosis: <explain>".
  It is bounded in time, prints nothing, changes no argument, random state or verdict: anything that
  goes wrong in it only means no diagnosis.
"""

import ast
import contextlib
import copy
import functools
import io
import json
import math
import time
import types
import warnings
import zlib
from contextlib import contextmanager

import numpy as np

from nn273.gradcheck import numerical_gradient

from nbclient.exceptions import DeadKernelError

from ..kernelside.guard import guarded_call, module_places
from ..kernelside.wire import WireError

__all__ = ["Harness", "HiddenTestFailure", "seed", "set_seed"]


# A diagnosis may take this long and run this many catalogue entries; past either, none is given.
DIAGNOSIS_SECONDS = 2.0
DIAGNOSIS_ENTRIES = 30
_SNAPSHOT_VALUES = 4_000_000  # numbers in a call's arguments beyond which no snapshot is kept


_AUTO = object()


class HiddenTestFailure(AssertionError):
    """A hidden test found the student's function wrong; the message says how, and `diagnosis` (shown
    at the end of the message) which known mistake it is, when the catalogue knows it.

    A failure that a hidden test raises itself (a check of its own, after a call through the harness)
    is diagnosed as it is made, from the harness that made the last call: so every check is, not
    only the harness's own.
    """

    def __init__(self, message="", diagnosis=_AUTO):
        super().__init__(message)
        if diagnosis is _AUTO:
            latest = _LATEST[0]
            diagnosis = None if latest is None or "Diagnosis:" in str(message) else latest._diagnosis()
        self.diagnosis = diagnosis

    @property
    def message(self):
        return str(self.args[0]) if self.args else ""

    def __str__(self):
        return f"{self.message} Diagnosis: {self.diagnosis}" if self.diagnosis else self.message


class Harness:
    """Hidden-test helpers for one assignment.

    reference: the nn273 modules holding this assignment's reference implementations; a student's
    function that calls into any of them fails the hidden test.
    """

    def __init__(self, *reference):
        self._reference = [m.__name__ for m in reference]
        self._last = None  # the last call: its function's name, inputs and outcome, for a diagnosis
        self._known = None  # the catalogue's explained mistakes and their namespace, once needed

    def rng(self, name):
        """A generator seeded from `name` and the run's seed (see `set_seed`).

        Without a run seed (a notebook, nbval) each test draws the same inputs every time; while
        grading, the grader sets a fresh seed per run, so a submission cannot know its inputs.
        """
        key = zlib.crc32(name.encode())
        self._last = None  # a test begins: no earlier call is diagnosed in it
        return np.random.default_rng(key if _SEED is None else [_SEED, key])

    @contextmanager
    def hint(self, text):
        """Add `text` (what the case is about: a formula, an edge case) to any failure in the block.

        `as_float` and `assert_close` take the same as `hint=`, for a single check.
        """
        try:
            yield
        except HiddenTestFailure as exc:
            diagnosis = exc.diagnosis
            if diagnosis is None and "Diagnosis:" not in exc.message:
                diagnosis = self._diagnosis()
            if not text and diagnosis == exc.diagnosis:
                raise
            message = f"{exc.message} {text}" if text else exc.message
            raise HiddenTestFailure(message, diagnosis) from exc.__cause__

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
            diagnosis = exc.diagnosis or self._diagnosis()
            if case is None and diagnosis == exc.diagnosis:
                raise
            message = exc.message if case is None else f"{exc.message}; this was {case}"
            raise HiddenTestFailure(message, diagnosis) from exc.__cause__

    def _guarded_call(self, fn, args, kwargs, forbid, require, updates=()):
        name = getattr(fn, "__name__", None) or type(fn).__name__
        self._last, _LATEST[0] = None, self
        if not callable(fn):
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})")
        forbidden = [*self._reference, *(m.__name__ for m in forbid)]
        required = [m.__name__ for m in require]
        inputs = _snapshot(args, kwargs)  # before the call: `updates` change the test's own objects
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
        outcome = _outcome_of(facts, bool(required))
        if inputs is not None and outcome is not None:
            self._last = {"name": name, "args": inputs[0], "kwargs": inputs[1], "outcome": outcome}
        value = _verdict(name, facts, args, kwargs, forbidden, required)
        if _judged(fn):
            _write_back(name, [args[i] for i in updates], facts.get("updated") or [])
        return value

    def call_many(self, fn, calls, forbid=(), require=(), case=None):
        """`call` of `fn` on each (args, kwargs) of `calls`; their values, in order. While grading
        they go to the kernel in one request, one round trip for all (central differences of the
        student's own function take dozens of calls). The first call that fails fails as `call`
        would, named by its position. A batch leaves the last single call as it was: a failure is
        diagnosed from that call (the test's own, on the inputs it chose)."""
        name = getattr(fn, "__name__", None) or type(fn).__name__
        _LATEST[0] = self
        if not callable(fn):
            raise HiddenTestFailure(f"{name} is not a function (got {type(fn).__name__})", None)
        calls = [(tuple(args), dict(kwargs)) for args, kwargs in calls]
        forbidden = [*self._reference, *(m.__name__ for m in forbid)]
        required = [m.__name__ for m in require]
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            if _judged(fn) and hasattr(fn, "facts_many"):
                all_facts = fn.facts_many(calls, forbid=forbidden, require=required, name=name)
            else:
                places, needed = module_places(forbidden), module_places(required)
                all_facts = [
                    guarded_call(fn, args, kwargs, errstate=np.geterr(), forbid=places, forbid_modules=forbidden, require=needed)
                    for args, kwargs in calls
                ]
        values = []
        for i, ((args, kwargs), facts) in enumerate(zip(calls, all_facts)):
            try:
                values.append(_verdict(name, facts, args, kwargs, forbidden, required))
            except HiddenTestFailure as exc:
                where = f"call {i + 1} of {len(calls)}" + (f" of {case}" if case else "")
                raise HiddenTestFailure(f"{exc.message}; this was {where}", exc.diagnosis) from exc.__cause__
        return values

    def as_float(self, value, what, shape=None, hint=""):
        """`np.asarray(value, dtype=float)` with a clear failure, and the expected shape checked."""
        with self.hint(hint):
            try:
                arr = np.asarray(value, dtype=float)
            except (DeadKernelError, WireError):
                raise  # the kernel is gone or broke the line: not an answer to judge
            except Exception as exc:  # noqa: BLE001 (OverflowError for 10**400, RecursionError, a kernel's own error...)
                raise HiddenTestFailure(
                    f"{what} must be numbers that fit a float64; received {type(value).__name__} "
                    f"({type(exc).__name__}: {str(exc)[:200]})",
                    self._diagnosis(),
                ) from None
            if shape is not None and arr.shape != tuple(shape):
                raise HiddenTestFailure(
                    f"{what} must have shape {tuple(shape)}; received shape {arr.shape}", self._diagnosis()
                )
        return arr

    def assert_close(self, received, expected, what, rtol=1e-7, atol=1e-10, hint=""):
        """Elementwise |received - expected| <= atol + rtol |expected|, and finite."""
        with self.hint(hint):
            received = self.as_float(received, what)
            expected = np.asarray(expected, dtype=float)
            if received.shape != expected.shape:
                raise HiddenTestFailure(
                    f"{what} must have shape {expected.shape}; received shape {received.shape}",
                    self._diagnosis(rtol, atol),
                )
            bad = ~np.isfinite(received) | (np.abs(received - expected) > atol + rtol * np.abs(expected))
            if np.any(bad):
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                where = f" at index {idx}" if idx else ""
                raise HiddenTestFailure(
                    f"{what} is wrong{where}: expected {expected[idx]:.10g}, received {received[idx]:.10g} "
                    f"({int(bad.sum())} of {bad.size} values wrong)",
                    self._diagnosis(rtol, atol),
                )

    def assert_gradient(self, f, x, received, what, rtol=1e-6, atol=1e-8, h=1e-5, f_many=None):
        """The student's gradient `received` of scalar `f` at `x` against central differences in float64.

        f_many: f of a list of points at once (e.g. through `call_many`), for f(x + h e_i) and
        f(x - h e_i) of every i in one go; f is then not called.
        """
        x = np.asarray(x, dtype=np.float64)
        received = self.as_float(received, what, shape=x.shape)
        if f_many is None:
            expected = numerical_gradient(f, x, h=h)
        else:
            expected = _central_differences_at_once(f_many, x, h)
        diff = np.abs(received - expected)
        err = diff / np.maximum(np.abs(received) + np.abs(expected), atol)
        # relative for sizeable entries, absolute near zero (central differences carry ~1e-10 of noise)
        bad = ~np.isfinite(received) | (diff > atol + rtol * (np.abs(received) + np.abs(expected)))
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise HiddenTestFailure(
                f"{what} is wrong at index {idx}: expected {expected[idx]:.10g} (central differences), "
                f"received {received[idx]:.10g}; relative error {err[idx]:.1e} > {rtol:.0e}",
                self._diagnosis(rtol, atol),
            )

    def _diagnosis(self, rtol=1e-7, atol=1e-10):
        """The explanation of the one known mistake whose result on the last call's inputs equals the
        student's result (within the failing check's tolerances), or None. Computed once per call."""
        last = self._last
        if last is None:
            return None
        if "diagnosis" not in last:
            last["diagnosis"] = None
            try:
                with _quiet():
                    last["diagnosis"] = self._name_the_mistake(last, rtol, atol)
            except Exception:  # noqa: BLE001 (a diagnosis never changes a verdict: none, then)
                last["diagnosis"] = None
        return last["diagnosis"]

    def _name_the_mistake(self, last, rtol, atol):
        if self._known is None:
            self._known = _explained_mistakes(self._reference)
        mistakes, namespace = self._known
        candidates = mistakes.get(last["name"], [])[:DIAGNOSIS_ENTRIES]
        reference = namespace.get(last["name"])
        if not candidates or not callable(reference):
            return None
        end = time.monotonic() + DIAGNOSIS_SECONDS
        right = _run(reference, last)
        if _same(last["outcome"], right, rtol, atol):
            return None  # the student's call went right: the failure is about something else
        named = set()
        for entry in candidates:
            if time.monotonic() > end:
                return None  # not every known mistake was tried: naming one could mislead
            wrong = _run(_define(entry, namespace), last)
            if not _same(wrong, right, rtol, atol) and _same(last["outcome"], wrong, rtol, atol):
                named.add(entry.explain)
        return named.pop() if len(named) == 1 else None

    def number(self, answer, expected, what, rtol=0.0):
        """An answer to a numeric question: a number equal to `expected` (exactly when rtol is 0,
        as for a count), else within rtol of it. The failure never tells the expected number."""
        self._last = None  # an answer is no call: nothing to diagnose
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
        self._last = None
        letters = ", ".join(f'"{o}"' for o in options)
        if not isinstance(answer, str) or answer.strip().lower() not in tuple(options):
            shown = repr(answer)[:40] if isinstance(answer, str) else _kind(answer)
            raise HiddenTestFailure(f"the answer to '{what}' must be one letter of {letters}, as a string; received {shown}")
        if answer.strip().lower() != correct:
            raise HiddenTestFailure(f'"{answer.strip()}" is not the answer to \'{what}\'; think it through again')


def _central_differences_at_once(f_many, x, h):
    """(f(x + h e_i) - f(x - h e_i)) / (2 h) for every i, as numerical_gradient computes it, with
    every point handed to f_many in one list: [x + h e_0, x - h e_0, x + h e_1, ...]."""
    points = []
    for i in np.ndindex(x.shape):
        for sign in (1.0, -1.0):
            point = x.copy()
            point[i] = x[i] + sign * h
            points.append(point)
    values = np.asarray([float(v) for v in f_many(points)], dtype=np.float64)
    if values.shape != (len(points),):
        raise HiddenTestFailure(f"expected {len(points)} values of f, received {values.size}", None)
    return ((values[0::2] - values[1::2]) / (2 * h)).reshape(x.shape)


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
    """fn is a student's function in a grading kernel (autograder.judging.judge), not one in this process."""
    return type(fn).__module__ == "autograder.judging.judge" and hasattr(fn, "facts")


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


# ---------------------------------------------------------------------------------- diagnosis
_LATEST = [None]  # the harness that made the last call, whose failures a hidden test raises itself


def _explained_mistakes(reference):
    """({function: [Wrong entries with an explain text]}, the namespace they run in) for the
    assignment whose reference modules are `reference` (e.g. ["nn273.linear"]).

    The namespace is what the notebook's kernel has when the entries run there: the names its first
    cell imports (only its import statements are run), and the reference implementations of the
    graded functions in place of the student's.
    """
    from ..catalogue import entries
    from ..course import ASSIGNMENTS, COURSE

    by_module = {module: assignment for assignment, module in ASSIGNMENTS.items()}
    assignment = by_module.get(reference[0].rsplit(".", 1)[-1]) if reference else None
    if assignment is None:
        return {}, {}
    mistakes = {}
    for entry in entries(assignment):
        if not entry.right and not entry.cheat and entry.explain:
            mistakes.setdefault(entry.function, []).append(entry)
    namespace = {"np": np, "math": math}
    with contextlib.suppress(ImportError):
        import torch

        namespace["torch"] = torch
    namespace.update(_imported_names(COURSE.solution_path(assignment)))
    for name in reference:
        module = __import__(name, fromlist=["__all__"])
        namespace.update({n: getattr(module, n) for n in getattr(module, "__all__", []) if hasattr(module, n)})
    return mistakes, namespace


def _imported_names(notebook):
    """The names that the import statements of `notebook`'s first code cell bind (the course's own
    notebook; nothing but its imports runs, so no seed or setting of the grader changes)."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    code = next((c for c in cells if c.get("cell_type") == "code"), None)
    if code is None:
        return {}
    source = "".join(code["source"]) if isinstance(code["source"], list) else code["source"]
    tree = ast.parse(source)
    imports = ast.Module([node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))], [])
    namespace = {}
    exec(compile(imports, f"<imports of {notebook.name}>", "exec"), namespace)  # noqa: S102 (the course's notebook)
    namespace.pop("__builtins__", None)
    return namespace


def _define(entry, namespace):
    """The function that a catalogue entry's source defines, in a copy of `namespace`."""
    scope = dict(namespace)
    exec(compile(entry.source, f"<known mistake in {entry.function}>", "exec"), scope)  # noqa: S102 (the course's catalogue)
    return scope[entry.function]


def _outcome_of(facts, required):
    """A call's outcome as a diagnosis compares it: ("value", v), ("raised", type, message) or
    ("warned", category, message); None when the call failed otherwise (a forbidden or missing
    call, a changed input), which no known mistake explains."""
    if facts["forbidden"] or facts["modified"] or (required and not facts["required"]):
        return None
    exc = facts["exception"]
    if exc is not None:
        return ("raised", type(exc).__name__, str(exc))
    if facts["warnings"]:
        return ("warned", *facts["warnings"][0])
    return ("value", facts["value"])


def _run(fn, last):
    """fn's outcome on copies of the last call's inputs, under the errors and warnings of a call."""
    args, kwargs = copy.deepcopy(last["args"]), copy.deepcopy(last["kwargs"])
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 (a mistake may raise, as the student's code did)
            return ("raised", type(exc).__name__, str(exc))
    if caught:
        return ("warned", caught[0].category.__name__, str(caught[0].message)[:1000])
    return ("value", value)


@contextmanager
def _quiet():
    """Nothing printed or warned (nbgrader scores a test cell that writes to stderr as zero), no
    floating-point error raised, and the global random states as they were."""
    state = np.random.get_state()
    torch = None
    with contextlib.suppress(ImportError):
        import torch
    torch_state = torch.random.get_rng_state() if torch is not None else None
    grad = torch.is_grad_enabled() if torch is not None else None
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                yield
    finally:
        np.random.set_state(state)
        if torch is not None:
            torch.random.set_rng_state(torch_state)
            torch.set_grad_enabled(grad)


def _snapshot(args, kwargs):
    """Copies of a call's arguments for a diagnosis (the test may change its own objects after the
    call: `updates`, a generator), or None when they are not all plain data of a bounded size."""
    count = [0]
    if not all(_plain(a, count) for a in args) or not all(_plain(v, count) for v in kwargs.values()):
        return None
    try:
        return copy.deepcopy(tuple(args)), copy.deepcopy(dict(kwargs))
    except Exception:  # noqa: BLE001 (no snapshot: no diagnosis)
        return None


def _plain(value, count, depth=0):
    if depth > 8:
        return False
    if value is None or isinstance(value, (bool, int, float, complex, str, np.generic, np.random.Generator)):
        return True
    if isinstance(value, np.ndarray):
        count[0] += value.size
        return value.dtype.kind in "biufc" and count[0] <= _SNAPSHOT_VALUES
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        count[0] += value.numel()
        return count[0] <= _SNAPSHOT_VALUES
    if isinstance(value, (list, tuple)):
        return all(_plain(v, count, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_plain(v, count, depth + 1) for v in value.values())
    return isinstance(value, (types.FunctionType, functools.partial))  # a function of the test's own


def _same(a, b, rtol, atol):
    """Two outcomes, or two values: the same structure and kinds of numbers, and equal values
    within the tolerances."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
            and all(_same(a[k], b[k], rtol, atol) for k in a)
        )
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (
            isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
            and all(_same(x, y, rtol, atol) for x, y in zip(a, b))
        )
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    a, b = _numbers(a), _numbers(b)
    if a is None or b is None or a.shape != b.shape or _number_kind(a.dtype) != _number_kind(b.dtype):
        return False
    common = complex if "c" in a.dtype.kind + b.dtype.kind else float
    a, b = a.astype(common), b.astype(common)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _numbers(value):
    """value as an array of numbers (a torch tensor's values too), or None if it is no number."""
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        value = value.detach().cpu().numpy()
    if not isinstance(value, (bool, int, float, complex, np.generic, np.ndarray)):
        return None
    value = np.asarray(value)
    return value if value.dtype.kind in "biufc" else None


def _number_kind(dtype):
    """Booleans, integers and floats are told apart (a mistake may differ from the right answer in
    kind only, as np.sign's floats do); sizes and signedness are not."""
    return {"b": "bool", "i": "int", "u": "int"}.get(dtype.kind, "float")
