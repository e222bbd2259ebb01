"""The hidden tests of 01_linear, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

"The solution" here is nn273/linear.py's own source compiled under another file name (see
tests/hidden_support.py): the same code, not the module the harness guards.
"""

import numpy as np
import pytest

import nn273.linear
from autograder.catalogue import linear as catalogue
from autograder.hidden import linear as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_support import (
    AlwaysEqual,
    assert_fails_with_a_message,
    assert_hidden_tests_and_entries,
    assert_modifying_the_first_argument_fails,
    assert_no_reference_function,
    assert_one_definition,
    assert_passes_silently,
    assert_reference_rejected,
    assert_stub_fails,
    define,
    entry_id,
    failure_message,
    reference_copy,
    wrong_and_right,
)

FUNCTIONS = list(nn273.linear.__all__)
WRONG, RIGHT = wrong_and_right(catalogue.ENTRIES)
SOLUTION = reference_copy(nn273.linear)
# What a catalogue entry runs with: np and the solution, as in the grader's kernel.
KERNEL = {"np": np, **{name: SOLUTION[name] for name in FUNCTIONS}}


def _run(name, fn):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    return getattr(hidden, f"test_{name}")(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS, catalogue.ENTRIES)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)  # cheats: see check
def test_entry_is_one_definition_using_only_np(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.linear")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, capsys):
    assert_passes_silently(_run, name, SOLUTION[name], capsys)


@pytest.mark.parametrize("entry", RIGHT, ids=entry_id)
def test_right_entry_passes_silently(entry, capsys):
    assert_passes_silently(_run, entry.function, define(entry, KERNEL), capsys)


@pytest.mark.parametrize("entry", WRONG, ids=entry_id)
def test_wrong_entry_fails_with_a_message(entry, capsys):
    assert_fails_with_a_message(_run, entry.function, define(entry, KERNEL), capsys)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_fails(name):
    assert_stub_fails(_run, name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_calling_the_reference_is_rejected(name):
    assert_reference_rejected(_run, name, getattr(nn273.linear, name))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_object_equal_to_everything_fails(name):
    def cheat(*args):
        return AlwaysEqual()

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return ints)"):
        _run(name, cheat)


@pytest.mark.parametrize("name", ["linear_response", "softmax", "logistic_nll_grad"])
def test_modifying_an_input_fails(name):
    assert_modifying_the_first_argument_fails(_run, name, SOLUTION[name])


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


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
