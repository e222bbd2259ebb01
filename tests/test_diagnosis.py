"""The diagnosis of a hidden test's failure: when the student's result equals what a known mistake of
the catalogue gives on the same inputs, the failure names it ("Diagnosis: <explain>").

How many mistakes each assignment's diagnosis can name is measured by running every explained Wrong
entry through its hidden test in-process, as tests/test_hidden_<module>.py do (the HiddenSuite class
there: its way to call a hidden test, `_run`, and the kernel an entry runs in, `KERNEL`), and
asserted against a minimum.
The rest are the rules a diagnosis keeps: one mistake or none, nothing printed or changed, no
diagnosis of a call that went right, none past its time budget, and never a changed verdict.
"""

import importlib

import numpy as np
import pytest

from autograder.catalogue import Wrong, entries
from autograder.course import ASSIGNMENTS
from autograder.hidden import harness
from autograder.hidden.harness import Harness, HiddenTestFailure
from hidden_suite import HiddenSuite
from hidden_support import define

# The explained mistakes that a failure names, at least, per assignment (measured: see the report
# that test_known_mistakes_are_named prints with -s).
MINIMUM_NAMED = {
    "01_linear": 54,
    "02_mlp": 20,
    "03_backprop": 27,
    "04_conv": 23,
    "05_residual": 10,
    "06_attention": 26,
    "07_sgd": 20,
    "08_regularization": 17,
}


def _message(run, entry, kernel):
    try:
        run(entry.function, define(entry, kernel))
    except HiddenTestFailure as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("assignment", sorted(MINIMUM_NAMED))
def test_known_mistakes_are_named(assignment):
    module = importlib.import_module(f"test_hidden_{ASSIGNMENTS[assignment]}")
    [suite] = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, HiddenSuite) and c.__module__ == module.__name__]
    tests = suite()
    explained = [e for e in tests.WRONG if e.explain]
    named, misnamed = [], []
    for entry in explained:
        message = _message(tests._run, entry, tests.KERNEL)
        if f"Diagnosis: {entry.explain}" in message:
            named.append(entry)
        elif "Diagnosis:" in message:
            misnamed.append((entry.description, message))
    wrong = [e for e in entries(assignment) if not e.right and not e.cheat]
    print(
        f"{assignment}: {len(named)} of {len(wrong)} known mistakes named ({len(explained)} explained)"
    )
    assert not misnamed, misnamed
    assert len(named) >= MINIMUM_NAMED[assignment]


# ------------------------------------------------------------------------------ the rules
def _harness(*mistakes, reference=None):
    """A harness whose catalogue is `mistakes` (Wrong entries of `double`), with a reference."""
    H = Harness()
    namespace = {"np": np, "double": reference or (lambda x: 2 * np.asarray(x, dtype=float))}
    H._known = ({"double": list(mistakes)}, namespace)
    return H


IDENTITY = Wrong(
    "double",
    "identity",
    "def double(x):\n    return np.asarray(x, dtype=float)\n",
    explain="you return x unchanged.",
)
PLUS_ONE = Wrong(
    "double",
    "x + x + 1",
    "def double(x):\n    return np.asarray(x, dtype=float) + x + 1\n",
    explain="you add 1.",
)
SQUARE = Wrong(
    "double",
    "x * x",
    "def double(x):\n    return np.asarray(x, dtype=float) ** 2\n",
    explain="you square x.",
)


def _student(body):
    """A student's `double` (the catalogue is looked up by the function's name)."""
    namespace = {"np": np}
    exec(f"def double(x):\n    return {body}\n", namespace)  # noqa: S102
    return namespace["double"]


def _check(H, fn, x, hint=""):
    """A hidden test of `double` on x, as an assignment's would be written."""
    got = H.call(fn, x, case=f"double({x!r})")
    H.assert_close(got, 2 * np.asarray(x, dtype=float), "double(x)", hint=hint)


def test_a_known_mistake_is_named_at_the_end_of_the_message():
    H = _harness(IDENTITY, PLUS_ONE)
    with pytest.raises(HiddenTestFailure) as failure:
        _check(H, _student("np.asarray(x, dtype=float) + x + 1"), np.arange(3.0), hint="(twice x)")
    assert str(failure.value).endswith("(twice x) Diagnosis: you add 1.")
    assert failure.value.diagnosis == "you add 1."


def test_no_diagnosis_for_an_unknown_mistake_or_two_known_ones():
    H = _harness(IDENTITY, SQUARE)
    with pytest.raises(HiddenTestFailure) as failure:
        _check(H, _student("3 * np.asarray(x, dtype=float)"), np.arange(3.0))
    assert "Diagnosis" not in str(failure.value)
    # x = [0, 1]: x unchanged and x squared are the same, so neither is named
    with pytest.raises(HiddenTestFailure) as failure:
        _check(H, _student("np.asarray(x, dtype=float)"), np.array([0.0, 1.0]))
    assert "Diagnosis" not in str(failure.value)


def test_a_mistake_that_gives_the_right_answer_here_is_not_named():
    """x = 0: the identity is right, so a failure of a later check is not blamed on it."""
    H = _harness(IDENTITY)
    with pytest.raises(HiddenTestFailure) as failure:
        got = H.call(_student("np.zeros(1)"), np.zeros(1))
        H.assert_close(got, [1.0], "something else")
    assert failure.value.diagnosis is None


def test_a_raising_mistake_is_named_by_its_error():
    overflow = Wrong(
        "double",
        "exp",
        "def double(x):\n    return np.exp(x) * 0 + 2 * x\n",
        explain="exp overflows.",
    )
    H = _harness(overflow, IDENTITY)
    with pytest.raises(
        HiddenTestFailure, match="floating-point problem.*Diagnosis: exp overflows[.]$"
    ):
        _check(H, _student("np.exp(x) * 0 + 2 * x"), np.array([1.0, 1000.0]))


def test_the_diagnosis_changes_nothing_prints_nothing_and_never_breaks_a_verdict(capfd):
    loud = Wrong(
        "double",
        "loud",
        """\
def double(x):
    import sys
    print("out"); print("err", file=sys.stderr)
    y = np.asarray(x, dtype=float) + 1
    np.random.seed(1); x += 1  # the call's inputs, and the grader's global random state
    return y
""",
        explain="you add one.",
    )
    broken = Wrong(
        "double", "broken", "def double(x):\n    raise RuntimeError('no')\n", explain="never named"
    )
    not_python = Wrong("double", "not python", "def double(x:\n", explain="never named")
    H = _harness(broken, not_python, loud)
    x = np.arange(3.0)
    state = np.random.get_state()[1].copy()
    with pytest.raises(HiddenTestFailure) as failure:
        _check(H, _student("np.asarray(x, dtype=float)"), x)
    assert failure.value.diagnosis is None  # the not-python entry broke the diagnosis: none
    H = _harness(broken, loud)
    with pytest.raises(HiddenTestFailure) as failure:
        _check(H, _student("np.asarray(x, dtype=float) + 1"), x)
    assert failure.value.diagnosis == "you add one."
    assert capfd.readouterr() == ("", "")
    assert np.array_equal(x, np.arange(3.0)) and np.array_equal(np.random.get_state()[1], state)


def test_past_its_time_budget_there_is_no_diagnosis(monkeypatch):
    monkeypatch.setattr(harness, "DIAGNOSIS_SECONDS", -1.0)
    with pytest.raises(HiddenTestFailure) as failure:
        _check(_harness(IDENTITY), _student("np.asarray(x, dtype=float)"), np.arange(3.0))
    assert failure.value.diagnosis is None


def test_inputs_are_those_of_the_call_not_as_the_test_left_them():
    """The test changes its own array after the call (as `updates` do): the diagnosis replays the
    call on the inputs it was given."""
    H = _harness(IDENTITY)
    x = np.arange(3.0)
    with pytest.raises(HiddenTestFailure) as failure:
        got = H.call(_student("np.asarray(x, dtype=float).copy()"), x)
        x += 10
        H.assert_close(got, [0.0, 2.0, 4.0], "double(x)")
    assert failure.value.diagnosis == "you return x unchanged."


def test_a_new_test_forgets_the_last_call():
    H = _harness(IDENTITY)
    H.call(_student("np.asarray(x, dtype=float)"), np.arange(3.0))
    H.rng("another test")
    with pytest.raises(HiddenTestFailure) as failure:
        H.assert_close([0.0, 1.0, 2.0], [0.0, 2.0, 4.0], "double(x)")
    assert failure.value.diagnosis is None
