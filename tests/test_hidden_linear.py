"""The hidden tests of 01_linear, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

The harness rejects any function whose code lives in nn273/linear.py, so "the solution" here is the
reference's own source compiled under another file name: the same code, not the guarded module.
"""

from pathlib import Path

import numpy as np
import pytest

import nn273.linear
from autograder.catalogue import linear as catalogue
from autograder.hidden import linear as hidden
from autograder.hidden.harness import HiddenTestFailure

FUNCTIONS = list(nn273.linear.__all__)
WRONG = [e for e in catalogue.ENTRIES if not e.right]
RIGHT = [e for e in catalogue.ENTRIES if e.right]


def _reference_copy():
    source = Path(nn273.linear.__file__).read_text()
    namespace = {"__name__": "reference_copy_of_nn273_linear", "__package__": "nn273"}
    exec(compile(source, "<copy of nn273/linear.py>", "exec"), namespace)  # noqa: S102 (the point)
    return namespace


SOLUTION = _reference_copy()


def _hidden(name):
    return getattr(hidden, f"test_{name}")


def _define(entry):
    """Run an entry's source as the grader does: in a kernel where np and the solution are defined."""
    kernel = {"np": np, **{name: SOLUTION[name] for name in FUNCTIONS}}
    exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), kernel)  # noqa: S102
    return kernel[entry.function]


def _entry_id(entry):
    return f"{entry.function}: {entry.description}"


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert sorted(hidden.__all__) == sorted(f"test_{name}" for name in FUNCTIONS)
    for name in FUNCTIONS:
        assert sum(e.function == name for e in WRONG) >= 2, f"{name} needs two Wrong entries"
        assert sum(e.function == name for e in RIGHT) >= 1, f"{name} needs a Right entry"


@pytest.mark.parametrize("entry", catalogue.ENTRIES, ids=_entry_id)
def test_entry_is_one_definition_using_only_np(entry):
    assert entry.source.startswith(f"def {entry.function}("), entry.source
    assert "import" not in entry.source and "nn273" not in entry.source
    assert entry.source.count("\ndef ") == 0


def test_hidden_module_holds_no_reference_function():
    for value in vars(hidden).values():
        assert getattr(value, "__module__", None) != "nn273.linear", value


@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, capsys):
    _hidden(name)(SOLUTION[name])
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("entry", RIGHT, ids=_entry_id)
def test_right_entry_passes_silently(entry, capsys):
    _hidden(entry.function)(_define(entry))
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("entry", WRONG, ids=_entry_id)
def test_wrong_entry_fails_with_a_message(entry, capsys):
    with pytest.raises(HiddenTestFailure) as failure:
        _hidden(entry.function)(_define(entry))
    assert entry.function in str(failure.value)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_fails(name):
    stub = {}
    exec(f"def {name}(*args):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n", stub)  # noqa: S102
    with pytest.raises(NotImplementedError):
        _hidden(name)(stub[name])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_calling_the_reference_is_rejected(name):
    reference = getattr(nn273.linear, name)
    with pytest.raises(HiddenTestFailure, match="reference implementation"):
        _hidden(name)(reference)

    def wrapper(*args):
        return reference(*args)

    with pytest.raises(HiddenTestFailure, match="reference implementation"):
        _hidden(name)(wrapper)


class _AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


@pytest.mark.parametrize("name", FUNCTIONS)
def test_object_equal_to_everything_fails(name):
    def cheat(*args):
        return _AlwaysEqual()

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return ints)"):
        _hidden(name)(cheat)


@pytest.mark.parametrize("name", ["linear_response", "softmax", "logistic_nll_grad"])
def test_modifying_an_input_fails(name):
    solution = SOLUTION[name]

    def vandal(*args):
        out = solution(*args)
        args[0][...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _hidden(name)(vandal)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    with pytest.raises(HiddenTestFailure) as failure:
        _hidden(function)(_define(entry))
    return str(failure.value)


def test_messages_say_what_is_wrong():
    message = _failure("predict_sign", "r >= 0 gives +1, so r == 0 is misclassified")
    assert "expected -1, received 1" in message and "r = 0 must give -1" in message
    message = _failure("sigmoid", "naive 1/(1+exp(-r)): overflows for r < -709")
    assert "overflow" in message and "-745" in message
    message = _failure("linear_response", "weights multiplied from the wrong side (a transpose)")
    assert "X = [[" in message and "raised ValueError" in message
    message = _failure("softmax", "no max-subtraction: exp overflows for large logits")
    assert "overflow" in message and "R =" in message
    message = _failure("polynomial_features", "integer x kept as integers: large powers overflow")
    assert "overflow int64" in message
    message = _failure("logistic_nll_grad", "sign flipped: y - sigmoid(r)")
    assert "expected" in message and "received" in message and "theta =" in message
