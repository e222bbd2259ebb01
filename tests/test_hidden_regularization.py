"""The hidden tests of 08_regularization, run in-process: they pass the solution and every Right entry
of the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input (the running statistics excepted, in training), and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/regularization.py compiled under another file
name (see tests/hidden_support.py), the same code, not the module the harness guards; and the
notebook's solution cells, once the notebook exists.
"""

import secrets
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import nn273.regularization
from autograder.catalogue import regularization as catalogue
from autograder.hidden import harness
from autograder.hidden import regularization as hidden
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

FUNCTIONS = ["dropout_forward", "dropout_backward", "batchnorm_forward", "batchnorm_backward"]
ANSWERS = ["answer_test_time_factor", "answer_batchnorm_parameters", "answer_eval_dependence"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(
    [e for e in catalogue.ENTRIES if e.function in ANSWERS]
)
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "08_regularization" / "08_regularization.ipynb"
NOTEBOOK_NAMES = {"np": np, "torch": torch}
_REFERENCE = reference_copy(nn273.regularization)
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
    if name.endswith("_backward"):
        return test(fn, solution[name.replace("_backward", "_forward")])
    return test(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)
def test_entry_is_one_definition_using_only_the_notebooks_names(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.regularization")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capfd):
    solution = SOLUTIONS[source]
    assert_passes_silently(lambda n, fn: _run(n, fn, solution), name, solution[name], capfd)


@needs_notebook
def test_the_notebooks_cache_is_the_one_the_catalogue_reads():
    """Catalogue entries read (x, gamma, beta, mu, var, eps, train) from the solution's cache."""
    forward = SOLUTIONS["notebook"]["batchnorm_forward"]
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    running = {"mean": np.zeros(2), "var": np.ones(2)}
    _, cache = forward(x, np.ones(2), np.zeros(2), running, True, 0.1, 1e-3)
    x_, gamma, beta, mu, var, eps, train = cache[:7]
    np.testing.assert_array_equal(x_, x)
    np.testing.assert_array_equal(mu, [2.0, 4.0])
    np.testing.assert_array_equal(var, [1.0, 4.0])
    assert (eps, train) == (1e-3, True)


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
    assert "0.8" not in message and "512" not in message and '"a" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_answers_are_what_the_reference_computes():
    assert sum(p.numel() for p in torch.nn.BatchNorm1d(256).parameters()) == 512
    # original dropout (no scaling in training) keeps a unit with probability 0.8: E[out] = 0.8 x
    x = np.ones(400_000)
    out, mask = nn273.regularization.dropout_forward(x, 0.2, True, np.random.default_rng(0))
    assert abs(np.mean(mask != 0) - 0.8) < 0.005
    # a: in evaluation an example's output is the same whatever batch it is in
    running = {"mean": np.array([0.5, -1.0]), "var": np.array([2.0, 0.5])}
    batch = np.random.default_rng(1).standard_normal((5, 2))
    alone = nn273.regularization.batchnorm_forward(
        batch[:1], np.ones(2), np.zeros(2), running, False
    )[0]
    among = nn273.regularization.batchnorm_forward(batch, np.ones(2), np.zeros(2), running, False)[
        0
    ]
    np.testing.assert_array_equal(alone[0], among[0])


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
    assert_reference_rejected(_run, name, getattr(nn273.regularization, name))


def test_modifying_an_input_fails():
    assert_modifying_the_first_argument_fails(_run, "dropout_forward", SOLUTION["dropout_forward"])
    assert_modifying_the_first_argument_fails(
        _run, "batchnorm_forward", SOLUTION["batchnorm_forward"]
    )
    solution = SOLUTION["batchnorm_forward"]

    def vandal_gamma(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
        out = solution(x, gamma, beta, running, train, momentum, eps)
        gamma[...] = 0
        return out

    def updates_in_evaluation(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
        out = solution(x, gamma, beta, running, True if len(x) > 1 else train, momentum, eps)
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
        _run("batchnorm_forward", vandal_gamma)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 4\['mean'\]"):
        _run("batchnorm_forward", updates_in_evaluation)


def test_modifying_dout_or_the_cache_fails():
    solution = SOLUTION["batchnorm_backward"]

    def vandal_dout(dout, cache):
        result = solution(dout, cache)
        dout[...] = 0
        return result

    def vandal_cache(dout, cache):
        result = solution(dout, cache)
        cache[0][...] = 0  # x, kept in the cache
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _run("batchnorm_backward", vandal_dout)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]"):
        _run("batchnorm_backward", vandal_cache)


def _batchnorm_by_torch(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    x, gamma, beta = (torch.as_tensor(np.asarray(v, dtype=float)) for v in (x, gamma, beta))
    mean, var = (
        torch.as_tensor(np.asarray(running[k], dtype=float)).clone() for k in ("mean", "var")
    )
    out = torch.nn.functional.batch_norm(x, mean, var, gamma, beta, train, momentum, eps)
    running["mean"], running["var"] = mean.numpy(), var.numpy()
    return out.numpy(), None


def _dropout_by_torch(x, p, train, rng):
    out = torch.nn.functional.dropout(torch.as_tensor(np.asarray(x, dtype=float)), p, train)
    return out.numpy(), None


def _dropout_backward_by_torch(dout, mask):
    return torch.as_tensor(dout).mul(torch.as_tensor(mask)).numpy()


@pytest.mark.parametrize(
    "name, fn",
    [
        ("batchnorm_forward", _batchnorm_by_torch),
        ("dropout_forward", _dropout_by_torch),
        ("dropout_backward", _dropout_backward_by_torch),
    ],
)
def test_numpy_exercise_that_calls_torch_is_rejected(name, fn):
    with pytest.raises(
        HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
    ):
        _run(name, fn)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", ["object", "pair", "triple"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {
        "object": AlwaysEqual(),
        "pair": (AlwaysEqual(), AlwaysEqual()),
        "triple": (AlwaysEqual(),) * 3,
    }[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return)"):
        _run(name, cheat)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("dropout_forward", "p taken as the keep probability")
    assert "probability to DROP" in message
    message = _failure("dropout_forward", "drawn from np.random's global state, not from rng")
    assert "from the generator rng" in message
    message = _failure("dropout_forward", "p outside [0, 1) not refused")
    assert "expected a ValueError" in message
    message = _failure("batchnorm_forward", "a biased running variance")
    assert 'running["var"]' in message and "unbiased" in message
    message = _failure("batchnorm_forward", "evaluation normalizes with the batch's statistics")
    assert "evaluation" in message and "running statistics" in message
    message = _failure(
        "batchnorm_forward",
        "the running statistics not updated in the caller's dict (a copy updated)",
    )
    assert "the dict passed in must hold" in message
    message = _failure(
        "batchnorm_backward", "the mean and variance terms missing: mu and var taken as constants"
    )
    assert "dx of batchnorm_backward" in message and "mu and var depend on x" in message


def test_a_wrong_forward_is_named_in_the_backward_test():
    for function, description in [
        ("dropout_forward", "no scaling: the kept units are not multiplied by 1/(1 - p)"),
        ("batchnorm_forward", "eps outside the square root"),
    ]:
        [entry] = [e for e in WRONG if e.function == function and e.description == description]
        backward = SOLUTION[function.replace("forward", "backward")]
        with pytest.raises(HiddenTestFailure, match=f"Fix {function} first"):
            getattr(hidden, f"test_{function.replace('forward', 'backward')}")(
                backward, define(entry, KERNEL)
            )


def test_a_correct_keep_rate_is_never_rejected_at_8_standard_errors():
    """The keep-rate bound fails a correct mask with probability below 2e-15 per draw."""
    from math import erfc, sqrt

    assert erfc(8 / sqrt(2)) < 2e-15


SEEDS = [secrets.randbits(32) for _ in range(3)]  # fresh each run, in the test ids to replay one


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_under_any_run_seed(name, seed):
    """Grading draws the inputs from a fresh seed (`grade --seed`): a correct answer passes them all."""
    before = harness.seed()
    harness.set_seed(seed)
    try:
        for solution in SOLUTIONS.values():
            _run(name, solution[name], solution)
    finally:
        harness.set_seed(before)
