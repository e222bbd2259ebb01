"""The hidden tests of 01_linear, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

"The solution" here is nn273/linear.py's own source compiled under another file name (see
tests/hidden_support.py): the same code, not the module the harness guards. The tests every
assignment shares are tests/hidden_suite.py's; this file names 01_linear's parts and tests its own
cases.

The notebook's questions (`answer_<name>`) are tested apart: the solution notebook's answers pass,
every Wrong answer of the catalogue fails without telling the expected one, and answers of the wrong
kind fail with a message that says what kind is wanted.
"""

from types import SimpleNamespace

import numpy as np
import pytest

import nn273.linear
from autograder.catalogue import linear as catalogue
from autograder.course import COURSE
from autograder.hidden import linear as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, notebook_cells
from hidden_support import (
    assert_hidden_tests_and_entries,
    assert_modifying_the_first_argument_fails,
    entry_id,
)

ANSWERS = ["answer_features", "answer_iris_parameters"]
ANSWER_ENTRIES = [e for e in catalogue.ENTRIES if e.function in ANSWERS]


class TestLinear(HiddenSuite):
    hidden, catalogue, reference = hidden, catalogue, nn273.linear
    FUNCTIONS = list(nn273.linear.__all__)
    ANSWERS = ANSWERS
    NOTEBOOK = COURSE.solution_path("01_linear")
    NOTEBOOK_SOLUTION = False
    NOTEBOOK_NAMES = {"np": np}
    CHEAT_FAILURE = "must (be numbers|return ints)"

    def test_every_graded_function_has_a_hidden_test_and_catalogue_entries(self):
        """01's questions have only Wrong entries in the catalogue: they are checked apart, below."""
        tests_of_answers = [f"test_{name}" for name in ANSWERS]
        assert set(tests_of_answers) <= set(hidden.__all__)
        functions_only = SimpleNamespace(  # the module's tests of functions, on their own
            __all__=[name for name in hidden.__all__ if name not in tests_of_answers]
        )
        assert_hidden_tests_and_entries(functions_only, self.FUNCTIONS, self.ENTRIES)
        assert {e.function for e in catalogue.ENTRIES} <= set(self.FUNCTIONS) | set(ANSWERS)

    @pytest.mark.parametrize("name", ["linear_response", "softmax", "logistic_nll_grad"])
    def test_modifying_an_input_fails(self, name):
        assert_modifying_the_first_argument_fails(self._run, name, self.SOLUTION[name])

    def test_messages_say_what_is_wrong(self):
        message = self._failure("predict_sign", "r >= 0 gives +1, so r == 0 is misclassified")
        assert "expected -1, received 1" in message and "r = 0 must give -1" in message
        message = self._failure("sigmoid", "naive 1/(1+exp(-r)): overflows for r < -709")
        assert "overflow" in message and "-745" in message
        message = self._failure(
            "linear_response", "weights multiplied from the wrong side (a transpose)"
        )
        assert "X = [[" in message and "raised ValueError" in message
        message = self._failure("softmax", "no max-subtraction: exp overflows for large logits")
        assert "overflow" in message and "R =" in message
        message = self._failure(
            "polynomial_features", "integer x kept as integers: large powers overflow"
        )
        assert "overflow int64" in message
        message = self._failure("logistic_nll_grad", "sign flipped: y - sigmoid(r)")
        assert "expected" in message and "received" in message and "theta =" in message

    # --------------------------------------------------------------------------- questions

    def _notebook_answers(self):
        """{answer_<name>: value} as every answer cell of the solution notebook assigns them."""
        answers = {}
        for grade_id, cell in notebook_cells(self.NOTEBOOK).items():
            if grade_id.startswith("answer_"):
                exec(cell.source, {}, answers)  # noqa: S102 (one assignment, the instructor's)
        return answers

    def test_each_question_has_a_hidden_test_an_answer_cell_and_two_wrong_answers(self):
        assert sorted(self._notebook_answers()) == sorted(ANSWERS)
        for name in ANSWERS:
            assert f"test_{name}" in hidden.__all__
            wrong = [e for e in ANSWER_ENTRIES if e.function == name and not e.right]
            assert len(wrong) >= 2, f"{name} needs two Wrong entries"
            answers = {self._answer(e) for e in wrong}
            assert len(answers) == len(wrong), f"{name}: a Wrong answer is repeated"

    @pytest.mark.parametrize("name", ANSWERS)
    def test_the_notebooks_answer_passes_silently(self, name, capsys):
        getattr(hidden, f"test_{name}")(self._notebook_answers()[name])
        assert capsys.readouterr() == ("", "")

    @pytest.mark.parametrize("entry", ANSWER_ENTRIES, ids=entry_id)
    def test_wrong_answer_fails_without_telling_the_answer(self, entry):
        assert not entry.right
        with pytest.raises(HiddenTestFailure) as failure:
            getattr(hidden, f"test_{entry.function}")(self._answer(entry))
        message = str(failure.value)
        assert "not the answer" in message, message
        expected = self._notebook_answers()[entry.function]
        shown = f'"{expected}"' if isinstance(expected, str) else str(expected)
        assert shown not in message, message

    def test_equivalent_answers_pass(self):
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
    def test_answers_of_the_wrong_kind_fail_with_a_message(self, name, answer, match):
        with pytest.raises(HiddenTestFailure, match=match):
            getattr(hidden, f"test_{name}")(answer)
