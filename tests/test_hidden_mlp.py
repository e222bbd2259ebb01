"""The hidden tests of 02_mlp, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

"The solution" here is twofold: nn273/mlp.py's own source compiled under another file name (see
tests/hidden_support.py), and the notebook's cells.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest

import nn273.linear
import nn273.mlp
from autograder.catalogue import mlp as catalogue
from autograder.hidden import mlp as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_support import (
    AlwaysEqual,
    assert_fails_with_a_message,
    assert_hidden_tests_and_entries,
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

FUNCTIONS = ["activation", "activation_grad", "count_parameters", "mlp_forward"]
# The questions answered by a value (answer_<name> = ...), each with its hidden test and entries.
ANSWERS = ["answer_mnist_parameters", "answer_widest_layer"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(
    [e for e in catalogue.ENTRIES if e.function in ANSWERS]
)
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "02_mlp" / "02_mlp.ipynb"


def _notebook_answers():
    """The values the notebook's answer cells assign (the solution's answers)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ANSWERS:
            exec(compile(cell.source, "<notebook answer cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in ANSWERS}


def _notebook_solution():
    """The solution cells of the notebook, run where the notebook's first cell would have put
    np and the softmax and sigmoid of 01_linear."""
    namespace = {"np": np, "sigmoid": nn273.linear.sigmoid, "softmax": nn273.linear.softmax}
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {
        c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells if c.cell_type == "code"
    }
    for name in FUNCTIONS:
        exec(compile(cells[name].source, f"<notebook cell {name}>", "exec"), namespace)
    return namespace


SOLUTION = reference_copy(nn273.mlp)
SOLUTIONS = {"reference copy": SOLUTION, "notebook": _notebook_solution()}
# What a catalogue entry runs with: np and the solution, as in the grader's kernel.
KERNEL = {"np": np, **{name: SOLUTION[name] for name in FUNCTIONS}}


def _run(name, fn):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    return getattr(hidden, f"test_{name}")(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)
    assert set(FUNCTIONS) <= set(nn273.mlp.__all__)


def _answer(entry):
    """The value an answer entry assigns, as the notebook's answer cell would."""
    namespace = {}
    exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), namespace)  # noqa: S102
    return namespace[entry.function]


@pytest.mark.parametrize("name", ANSWERS)
def test_notebook_answer_passes(name):
    getattr(hidden, f"test_{name}")(_notebook_answers()[name])


@pytest.mark.parametrize("entry", RIGHT_ANSWERS, ids=entry_id)
def test_right_answer_passes(entry):
    getattr(hidden, f"test_{entry.function}")(_answer(entry))


@pytest.mark.parametrize("entry", WRONG_ANSWERS, ids=entry_id)
def test_wrong_answer_fails_without_telling_the_answer(entry):
    with pytest.raises(HiddenTestFailure, match="the answer to") as failure:
        getattr(hidden, f"test_{entry.function}")(_answer(entry))
    message = str(failure.value).replace(repr(_answer(entry)), "")
    assert "199210" not in message and "199,210" not in message and '"b" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_parameter_answer_is_what_count_parameters_gives():
    assert _notebook_answers()["answer_mnist_parameters"] == nn273.mlp.count_parameters(
        [784, 200, 200, 10]
    )
    sizes = {"a": (784, 2000), "b": (2000, 2000), "c": (2000, 10)}
    counts = {letter: nn273.mlp.count_parameters(pair) for letter, pair in sizes.items()}
    assert max(counts, key=counts.get) == _notebook_answers()["answer_widest_layer"]


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)  # cheats: see check
def test_entry_is_one_definition_using_only_np(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.mlp")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capsys):
    assert_passes_silently(_run, name, SOLUTIONS[source][name], capsys)


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
    assert_reference_rejected(_run, name, getattr(nn273.mlp, name))


def test_calling_the_reference_activation_inside_mlp_forward_is_rejected():
    namespace = {"np": np, "activation": nn273.mlp.activation}
    exec(compile(RIGHT[-1].source, "<student>", "exec"), namespace)
    assert RIGHT[-1].function == "mlp_forward"
    with pytest.raises(HiddenTestFailure, match="calls activation"):
        hidden.test_mlp_forward(namespace["mlp_forward"])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_object_equal_to_everything_fails(name):
    def cheat(*args, **kwargs):
        return (AlwaysEqual(), []) if name == "mlp_forward" else AlwaysEqual()

    with pytest.raises(HiddenTestFailure, match="must be numbers"):
        _run(name, cheat)


def test_modifying_an_input_fails():
    def vandal_activation(name, r):
        out = SOLUTION["activation"](name, r)
        if isinstance(r, np.ndarray):
            r[...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
        hidden.test_activation(vandal_activation)

    def vandal_forward(X, params, hidden="tanh", output="softmax"):
        out = SOLUTION["mlp_forward"](X, params, hidden, output)
        params[0][1][...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]\[1\]"):
        hidden.test_mlp_forward(vandal_forward)

    def vandal_count(layer_sizes):
        out = SOLUTION["count_parameters"](layer_sizes)
        if isinstance(layer_sizes, list):
            layer_sizes.append(1)
        return out

    with pytest.raises(HiddenTestFailure, match="changed layer_sizes"):
        hidden.test_count_parameters(vandal_count)


def test_results_of_the_wrong_kind_fail():
    def float_count(layer_sizes):
        return float(SOLUTION["count_parameters"](layer_sizes))

    with pytest.raises(HiddenTestFailure, match="must return an int"):
        hidden.test_count_parameters(float_count)

    def forward_without_cache(X, params, hidden="tanh", output="softmax"):
        return SOLUTION["mlp_forward"](X, params, hidden, output)[0]

    with pytest.raises(HiddenTestFailure, match=r"must return a pair \(F, cache\)"):
        hidden.test_mlp_forward(forward_without_cache)

    def forward_with_no_cache(X, params, hidden="tanh", output="softmax"):
        return SOLUTION["mlp_forward"](X, params, hidden, output)[0], None

    with pytest.raises(HiddenTestFailure, match="cache = None"):
        hidden.test_mlp_forward(forward_with_no_cache)


def test_forgotten_transpose_fails_on_square_weights_alone():
    [entry] = [e for e in WRONG if "transpose" in e.description]
    forward = define(entry, KERNEL)
    square = [c for c in hidden._forward_cases(hidden.H.rng("mlp_forward")) if "square" in c[4]]
    assert square
    for X, params, hidden_name, output, _ in square:
        F, _ = forward(X, params, hidden=hidden_name, output=output)
        assert not np.allclose(F, hidden._torch_forward(X, params, hidden_name, output))


def test_wrong_defaults_fail():
    def relu_by_default(X, params, hidden="relu", output="softmax"):
        return SOLUTION["mlp_forward"](X, params, hidden, output)

    with pytest.raises(HiddenTestFailure, match="defaults hidden='tanh'"):
        hidden.test_mlp_forward(relu_by_default)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("activation", "logistic as 1 / (1 + exp(-r)): overflows for r = -1e4")
    assert (
        "overflow" in message and "this was activation('logistic', r) for r = [-1.e+04," in message
    )
    message = _failure("activation_grad", "relu derivative 1 at r = 0 (r >= 0)")
    assert "expected 0, received 1" in message and "derivative at 0 is 0" in message
    message = _failure("activation_grad", "tanh derivative 1 - tanh(r) instead of 1 - tanh(r)**2")
    assert "activation_grad('tanh', r)" in message and "1 - tanh(r)**2" in message
    message = _failure("count_parameters", "weights only, no biases")
    assert "expected 13, received 9" in message and "H (n + 1) + (H + 1)" in message
    message = _failure("mlp_forward", "softmax over the wrong axis (each column normalized)")
    assert "output='softmax'" in message and "softmax normalizes each row" in message
    message = _failure(
        "mlp_forward", "softmax without subtracting the row maximum: overflows for responses of 1e4"
    )
    assert "overflow" in message
