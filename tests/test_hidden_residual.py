"""The hidden tests of 05_residual, run in-process: they pass the solution and every Right entry of
the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input, and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/residual.py compiled under another file name
(see tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells, once the notebook exists.
"""

import secrets
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import nn273.residual
from autograder.catalogue import residual as catalogue
from autograder.hidden import harness
from autograder.hidden import residual as hidden
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

FUNCTIONS = ["residual_forward", "residual_backward", "ResidualBlock"]
NUMPY_EXERCISES = FUNCTIONS[:2]
ANSWERS = ["answer_block_parameters", "answer_zero_block_gradient"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(
    [e for e in catalogue.ENTRIES if e.function in ANSWERS]
)
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "05_residual" / "05_residual.ipynb"
NOTEBOOK_NAMES = {"np": np, "torch": torch}
_REFERENCE = reference_copy(nn273.residual)
SOLUTION = {name: _REFERENCE[name] for name in FUNCTIONS}
needs_notebook = pytest.mark.skipif(
    not NOTEBOOK.exists(), reason="the solution notebook is not written yet"
)


def _notebook_cells(names):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    return [cells[name] for name in names]


def _notebook_namespace(names):
    namespace = dict(NOTEBOOK_NAMES)
    for cell in _notebook_cells(names):
        exec(compile(cell.source, "<notebook solution cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in names}


SOLUTIONS = {"reference copy": SOLUTION}
if NOTEBOOK.exists():
    SOLUTIONS["notebook"] = _notebook_namespace(FUNCTIONS)
KERNEL = {**NOTEBOOK_NAMES, **SOLUTION}


def _run(name, fn, solution=SOLUTION):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    test = getattr(hidden, f"test_{name}")
    if name == "residual_backward":
        return test(fn, solution["residual_forward"])
    return test(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)
def test_entry_is_one_definition_using_only_the_notebooks_names(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.residual")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capfd):
    solution = SOLUTIONS[source]
    assert_passes_silently(lambda n, fn: _run(n, fn, solution), name, solution[name], capfd)


@needs_notebook
def test_the_notebooks_cache_starts_as_the_catalogue_expects():
    """Catalogue entries read (X, W1, b1, W2, b2) from the solution's cache."""
    forward = SOLUTIONS["notebook"]["residual_forward"]
    args = (np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), np.ones((4, 3)), np.zeros(3))
    _, cache = forward(*args)
    assert [np.shape(v) for v in cache[:5]] == [np.shape(a) for a in args]


def _answer(entry):
    namespace = {}
    exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), namespace)  # noqa: S102
    return namespace[entry.function]


@needs_notebook
@pytest.mark.parametrize("name", ANSWERS)
def test_notebook_answer_passes(name):
    namespace = {}
    for cell in _notebook_cells([name]):
        exec(compile(cell.source, "<notebook answer cell>", "exec"), namespace)  # noqa: S102
    getattr(hidden, f"test_{name}")(namespace[name])


@pytest.mark.parametrize("entry", RIGHT_ANSWERS, ids=entry_id)
def test_right_answer_passes(entry):
    getattr(hidden, f"test_{entry.function}")(_answer(entry))


@pytest.mark.parametrize("entry", WRONG_ANSWERS, ids=entry_id)
def test_wrong_answer_fails_without_telling_the_answer(entry):
    with pytest.raises(HiddenTestFailure, match="the answer to") as failure:
        getattr(hidden, f"test_{entry.function}")(_answer(entry))
    message = str(failure.value).replace(repr(_answer(entry)), "")
    assert "33088" not in message and "33,088" not in message and '"b" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_answers_are_what_the_reference_computes():
    block = nn273.residual.ResidualBlock(64, 256)
    assert sum(p.numel() for p in block.parameters()) == 33088
    rng = np.random.default_rng(0)
    X, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, cache = nn273.residual.residual_forward(
        X, np.zeros((4, 5)), np.zeros(5), np.zeros((5, 4)), np.zeros(4)
    )
    dX = nn273.residual.residual_backward(dout, cache)[0]
    assert np.array_equal(dX, dout)  # b: dX = dout


@pytest.mark.parametrize("entry", RIGHT, ids=entry_id)
def test_right_entry_passes_silently(entry, capfd):
    assert_passes_silently(_run, entry.function, define(entry, KERNEL), capfd)


@pytest.mark.parametrize("entry", WRONG, ids=entry_id)
def test_wrong_entry_fails_with_a_message(entry, capfd):
    name = "ResidualBlock" if entry.function == "ResidualBlock" else entry.function
    assert_fails_with_a_message(_run, name, define(entry, KERNEL), capfd)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_fails(name):
    assert_stub_fails(_run, name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_calling_the_reference_is_rejected(name):
    assert_reference_rejected(_run, name, getattr(nn273.residual, name))


def test_modifying_an_input_fails():
    assert_modifying_the_first_argument_fails(
        _run, "residual_forward", SOLUTION["residual_forward"]
    )
    solution = SOLUTION["residual_forward"]

    def vandal(X, W1, b1, W2, b2):
        out = solution(X, W1, b1, W2, b2)
        W2[...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 4"):
        _run("residual_forward", vandal)


def test_modifying_dout_or_the_cache_fails():
    solution = SOLUTION["residual_backward"]

    def vandal_dout(dout, cache):
        result = solution(dout, cache)
        dout[...] = 0
        return result

    def vandal_cache(dout, cache):
        result = solution(dout, cache)
        cache[0][...] = 0  # X, kept in the cache
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _run("residual_backward", vandal_dout)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]"):
        _run("residual_backward", vandal_cache)


def _forward_by_torch(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (torch.as_tensor(np.asarray(v, dtype=float)) for v in (X, W1, b1, W2, b2))
    out = X + torch.nn.functional.relu(X @ W1 + b1) @ W2 + b2
    return np.asarray(out), None


def _backward_by_autograd(dout, cache):
    leaves = [torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in cache[:5]]
    X, W1, b1, W2, b2 = leaves
    (X + torch.nn.functional.relu(X @ W1 + b1) @ W2 + b2).backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in leaves)


@pytest.mark.parametrize(
    "name, fn",
    [("residual_forward", _forward_by_torch), ("residual_backward", _backward_by_autograd)],
)
def test_numpy_exercise_that_calls_torch_is_rejected(name, fn):
    with pytest.raises(
        HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
    ):
        _run(name, fn)


@pytest.mark.parametrize("name", NUMPY_EXERCISES)
@pytest.mark.parametrize("shape", ["object", "pair", "quintuple"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {
        "object": AlwaysEqual(),
        "pair": (AlwaysEqual(), AlwaysEqual()),
        "quintuple": (AlwaysEqual(),) * 5,
    }[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return)"):
        _run(name, cheat)


@pytest.mark.parametrize(
    "value",
    [None, AlwaysEqual(), torch.nn.Identity(), torch.nn.Linear(3, 3)],
    ids=["None", "object", "identity", "one layer"],
)
def test_residual_block_of_something_else_fails(value):
    with pytest.raises(HiddenTestFailure, match="ResidualBlock"):
        hidden.test_ResidualBlock(lambda width, hidden: value)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("residual_forward", "the skip forgotten: a plain two-layer network")
    assert "out of residual_forward" in message and "the input added" in message
    message = _failure("residual_backward", "no identity path: dX only through the block")
    assert "dX of residual_backward" in message and "identity path" in message
    message = _failure("residual_backward", "ReLU's derivative 1 at R = 0 (R >= 0)")
    assert "exactly 0" in message
    message = _failure("ResidualBlock", "hidden ignored: Linear(width, width) twice")
    assert "linear1" in message and "Linear(" in message
    message = _failure("ResidualBlock", "ReLU after the sum")
    assert "the output of ResidualBlock" in message


def test_a_wrong_forward_is_named_in_the_backward_test():
    entry = next(
        e for e in WRONG if e.function == "residual_forward" and "skip forgotten" in e.description
    )
    with pytest.raises(HiddenTestFailure, match="Fix residual_forward first"):
        hidden.test_residual_backward(SOLUTION["residual_backward"], define(entry, KERNEL))


SEEDS = [secrets.randbits(32) for _ in range(3)]  # fresh each run, in the test ids to replay one


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_under_any_run_seed(name, seed):
    """Grading draws the inputs from a fresh seed (`grade --seed`): a correct block passes them all."""
    before = harness.seed()
    harness.set_seed(seed)
    try:
        for solution in SOLUTIONS.values():
            _run(name, solution[name], solution)
    finally:
        harness.set_seed(before)
