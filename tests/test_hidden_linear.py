"""The hidden tests of 01_linear, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

"The solution" here is nn273/linear.py's own source compiled under another file name (see
tests/hidden_support.py): the same code, not the module the harness guards.

The notebook's questions (`answer_<name>`) are tested apart: the solution notebook's answers pass,
every Wrong answer of the catalogue fails without telling the expected one, and answers of the wrong
kind fail with a message that says what kind is wanted.
"""

from types import SimpleNamespace

import nbformat
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

from autograder.course import COURSE

FUNCTIONS = list(nn273.linear.__all__)
ANSWERS = ["answer_features", "answer_iris_parameters"]
FUNCTION_ENTRIES = [e for e in catalogue.ENTRIES if e.function in FUNCTIONS]
ANSWER_ENTRIES = [e for e in catalogue.ENTRIES if e.function in ANSWERS]
WRONG, RIGHT = wrong_and_right(FUNCTION_ENTRIES)
SOLUTION = reference_copy(nn273.linear)
# What a catalogue entry runs with: np and the solution, as in the grader's kernel.
KERNEL = {"np": np, **{name: SOLUTION[name] for name in FUNCTIONS}}


def _run(name, fn):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    return getattr(hidden, f"test_{name}")(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    tests_of_answers = [f"test_{name}" for name in ANSWERS]
    assert set(tests_of_answers) <= set(hidden.__all__)
    functions_only = SimpleNamespace(  # the module's tests of functions, on their own
        __all__=[name for name in hidden.__all__ if name not in tests_of_answers]
    )
    assert_hidden_tests_and_entries(functions_only, FUNCTIONS, FUNCTION_ENTRIES)
    assert {e.function for e in catalogue.ENTRIES} <= set(FUNCTIONS) | set(ANSWERS)


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


# ------------------------------------------------------------------------------- questions


def _notebook_answers():
    """{answer_<name>: value} as the solution notebook's answer cells assign them."""
    nb = nbformat.read(COURSE.solution_path("01_linear"), as_version=4)
    answers = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("answer_"):
            exec(cell.source, {}, answers)  # noqa: S102 (one assignment, the instructor's)
    return answers


def _answer(entry):
    namespace = {}
    exec(entry.source, {}, namespace)  # noqa: S102
    return namespace[entry.function]


def test_each_question_has_a_hidden_test_an_answer_cell_and_two_wrong_answers():
    assert sorted(_notebook_answers()) == sorted(ANSWERS)
    for name in ANSWERS:
        assert f"test_{name}" in hidden.__all__
        wrong = [e for e in ANSWER_ENTRIES if e.function == name and not e.right]
        assert len(wrong) >= 2, f"{name} needs two Wrong entries"
        assert len({_answer(e) for e in wrong}) == len(wrong), f"{name}: a Wrong answer is repeated"


@pytest.mark.parametrize("name", ANSWERS)
def test_the_notebooks_answer_passes_silently(name, capsys):
    getattr(hidden, f"test_{name}")(_notebook_answers()[name])
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("entry", ANSWER_ENTRIES, ids=entry_id)
def test_wrong_answer_fails_without_telling_the_answer(entry):
    assert not entry.right
    with pytest.raises(HiddenTestFailure) as failure:
        getattr(hidden, f"test_{entry.function}")(_answer(entry))
    message = str(failure.value)
    assert "not the answer" in message, message
    expected = _notebook_answers()[entry.function]
    shown = f'"{expected}"' if isinstance(expected, str) else str(expected)
    assert shown not in message, message


def test_equivalent_answers_pass():
    hidden.test_answer_features(" C ")
    hidden.test_answer_iris_parameters(15.0)
    hidden.test_answer_iris_parameters(np.int64(15))


@pytest.mark.parametrize(
    "name, answer, match",
    [
        ("answer_features", 3, "one letter of"),
        ("answer_features", "e", "one letter of"),
        ("answer_features", "c or d", "one letter of"),
        ("answer_iris_parameters", "15", "must be a number"),
        ("answer_iris_parameters", True, "must be a number"),
        ("answer_iris_parameters", None, "must be a number"),
        ("answer_iris_parameters", float("nan"), "finite"),
    ],
)
def test_answers_of_the_wrong_kind_fail_with_a_message(name, answer, match):
    with pytest.raises(HiddenTestFailure, match=match):
        getattr(hidden, f"test_{name}")(answer)
