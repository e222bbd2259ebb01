"""The hidden tests of 07_sgd, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified input
(the state dict and its arrays included), and a step that calls torch.

"The solution" here is twofold: the source of nn273/sgd.py compiled under another file name (see
tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells, once the notebook exists.
"""

import secrets
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import nn273.sgd
from autograder.catalogue import sgd as catalogue
from autograder.hidden import harness
from autograder.hidden import sgd as hidden
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
    judged,
    reference_copy,
    wrong_and_right,
)

FUNCTIONS = [
    "count_deep_parameters",
    "iterate_minibatches",
    "sgd_step",
    "momentum_step",
    "adam_step",
]
STEPS = FUNCTIONS[2:]
ANSWERS = ["answer_epoch_steps", "answer_adam_first_step"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(
    [e for e in catalogue.ENTRIES if e.function in ANSWERS]
)
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "07_sgd" / "07_sgd.ipynb"
NOTEBOOK_NAMES = {"np": np, "torch": torch}
_REFERENCE = reference_copy(nn273.sgd)
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


def _run(name, fn):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    return getattr(hidden, f"test_{name}")(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)
def test_entry_is_one_definition_using_only_the_notebooks_names(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.sgd")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capfd):
    assert_passes_silently(_run, name, SOLUTIONS[source][name], capfd)


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
    assert "63" not in message and '"b" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_answers_are_what_the_reference_computes():
    X, y = np.zeros((4000, 1)), np.zeros(4000)
    assert len(list(nn273.sgd.iterate_minibatches(X, y, 64))) == 63
    # b: Adam's first step moves each weight by lr (times |dw| / (|dw| + eps)), whatever dw's size
    dw = np.array([1e-3, -2.0, 500.0])
    w, _ = nn273.sgd.adam_step(np.zeros(3), dw, {}, lr=0.01)
    np.testing.assert_allclose(np.abs(w), 0.01, rtol=1e-4)


@pytest.mark.parametrize("entry", RIGHT, ids=entry_id)
def test_right_entry_passes_silently(entry, capfd):
    assert_passes_silently(_run, entry.function, define(entry, KERNEL), capfd)


@pytest.mark.parametrize("entry", WRONG, ids=entry_id)
def test_wrong_entry_fails_with_a_message(entry, capfd):
    assert_fails_with_a_message(_run, entry.function, define(entry, KERNEL), capfd)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_stub_fails(name):
    assert_stub_fails(_run, name)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_calling_the_reference_is_rejected(name):
    assert_reference_rejected(_run, name, getattr(nn273.sgd, name))


@pytest.mark.parametrize("name", STEPS)
def test_modifying_the_weights_fails(name):
    assert_modifying_the_first_argument_fails(_run, name, SOLUTION[name])


@pytest.mark.parametrize(
    "name, number", [("sgd_step", 2), ("momentum_step", 2), ("momentum_step", 3), ("adam_step", 2)]
)
def test_modifying_another_array_fails(name, number):
    solution = SOLUTION[name]

    def vandal(*args, **kwargs):
        result = solution(*args, **kwargs)
        args[number - 1][...] = 0
        return result

    with pytest.raises(HiddenTestFailure, match=f"modified its argument number {number}"):
        _run(name, vandal)


def test_modifying_the_state_fails():
    solution = SOLUTION["adam_step"]

    def vandal_arrays(w, dw, state, lr, **hyper):
        result = solution(w, dw, state, lr, **hyper)
        if state:
            state["m"][...] = 0
        return result

    def vandal_t(w, dw, state, lr, **hyper):
        result = solution(w, dw, state, lr, **hyper)
        state["t"] = result[1]["t"]
        return result

    with pytest.raises(
        HiddenTestFailure, match=r"modified its argument state .*values of state\['m'\] changed"
    ):
        _run("adam_step", vandal_arrays)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument state .*key 't' added"):
        _run("adam_step", vandal_t)


def test_a_step_that_calls_torch_is_rejected():
    def by_torch(w, dw, lr):
        p = torch.nn.Parameter(torch.tensor(np.asarray(w, dtype=float)))
        p.grad = torch.tensor(np.asarray(dw, dtype=float))
        torch.optim.SGD([p], lr=lr).step()
        return p.detach().numpy()

    with pytest.raises(
        HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
    ):
        _run("sgd_step", by_torch)


def test_a_generator_that_fails_while_iterated_fails_with_a_message():
    def broken(X, y, batch_size, rng=None):
        yield X[:batch_size], y[:batch_size]
        raise IndexError("out of range")

    with pytest.raises(HiddenTestFailure, match="going through the batches .* IndexError"):
        _run("iterate_minibatches", broken)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", ["object", "pair"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {"object": AlwaysEqual(), "pair": (AlwaysEqual(), AlwaysEqual())}[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return)|pair|is wrong"):
        _run(name, cheat)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("count_deep_parameters", "biases counted too")
    assert "biases are not counted" in message
    message = _failure("iterate_minibatches", "the last, smaller batch dropped")
    assert "exactly once" in message and "last, smaller batch" in message
    message = _failure("iterate_minibatches", "X shuffled but not y")
    assert "shuffled together" in message
    message = _failure("iterate_minibatches", "a generator of its own, not the rng given")
    assert "the same batches" in message or "the same order" in message
    message = _failure(
        "momentum_step",
        "lr inside the velocity: velocity = momentum * velocity + lr * dw; w - velocity",
    )
    assert "velocity returned by momentum_step" in message and "holds neither lr" in message
    message = _failure("adam_step", "eps inside the square root")
    assert "eps outside the square root" in message
    message = _failure("adam_step", "t counted after the correction, starting at 1")
    assert "state['t']" in message
    message = _failure("sgd_step", "w modified in place (w -= lr * dw)")
    assert "modified its argument number 1" in message


SEEDS = [secrets.randbits(32) for _ in range(3)]  # fresh each run, in the test ids to replay one


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_under_any_run_seed(name, seed):
    """Grading draws the inputs from a fresh seed (`grade --seed`): a correct step passes them all."""
    before = harness.seed()
    harness.set_seed(seed)
    try:
        for solution in SOLUTIONS.values():
            _run(name, solution[name])
    finally:
        harness.set_seed(before)


# ------------------------------------------------------------------ judged, as while grading
def _as_list(fn):
    """fn's batches as a list (a generator would stay in the kernel, which the loopback has not)."""

    def iterate_minibatches(X, y, batch_size, rng=None):
        return list(fn(X, y, batch_size, rng))

    return iterate_minibatches


def _entry(function, description):
    [entry] = [e for e in WRONG + RIGHT if e.function == function and e.description == description]
    return define(entry, KERNEL)


def test_judged_minibatches_draw_from_the_generator_sent():
    _run("iterate_minibatches", judged(_as_list(SOLUTION["iterate_minibatches"])))
    _run(
        "iterate_minibatches",
        judged(
            _entry("iterate_minibatches", "a list, the indices shuffled in place with rng.shuffle")
        ),
    )
    for description in [
        "a generator of its own, not the rng given",
        "the rng ignored: never shuffled",
        "X shuffled but not y",
    ]:
        wrong = _as_list(_entry("iterate_minibatches", description))
        with pytest.raises(HiddenTestFailure, match="iterate_minibatches"):
            _run("iterate_minibatches", judged(wrong))


@pytest.mark.parametrize(
    "description",
    [
        "m and v updated in place in the state",
        "the state dict itself changed and returned",
        "t counted in the caller's dict (state['t'] += 1) from the second step on",
        "m scaled in place on the caller's array (state['m'] *= beta1)",
    ],
)
def test_judged_adam_that_changes_the_state_given_fails(description):
    """While grading the state dict crosses to the kernel as a copy: only updates=[2] brings the
    kernel's dict back, where a change to it (an int t included) shows."""
    with pytest.raises(HiddenTestFailure, match="adam_step modified its argument state"):
        _run("adam_step", judged(_entry("adam_step", description)))


def test_judged_steps_pass_and_an_in_place_velocity_fails():
    for name in STEPS:
        _run(name, judged(SOLUTION[name]))
    for description in [
        "the lecture's formula",
        "torch's arrangement: lr / (1 - beta1**t) and sqrt(v) / sqrt(1 - beta2**t) + eps",
    ]:
        _run("adam_step", judged(_entry("adam_step", description)))
    with pytest.raises(HiddenTestFailure, match="modified its argument number 3"):
        _run("momentum_step", judged(_entry("momentum_step", "the velocity updated in place")))
