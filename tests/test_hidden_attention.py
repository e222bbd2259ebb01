"""The hidden tests of 06_attention, run in-process: they pass the solution and every Right entry of
the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input, and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/attention.py compiled under another file name
(see tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import nn273.attention
from autograder.catalogue import attention as catalogue
from autograder.hidden import attention as hidden
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

FUNCTIONS = [
    "scaled_dot_product_attention",
    "self_attention_forward",
    "self_attention_backward",
    "sinusoidal_positional_encoding",
    "causal_mask",
]
# The questions answered by a value (answer_<name> = ...), each with its hidden test and entries.
ANSWERS = ["answer_permuted_outputs", "answer_causal_weights", "answer_attention_parameters"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right([e for e in catalogue.ENTRIES if e.function in ANSWERS])
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "06_attention" / "06_attention.ipynb"
# What the notebook's first cell imports, so what a catalogue entry may use by name.
NOTEBOOK_NAMES = {"np": np, "torch": torch}
_REFERENCE = reference_copy(nn273.attention)
SOLUTION = {name: _REFERENCE[name] for name in FUNCTIONS}


def _notebook_cells(names):
    """The cells of the notebook whose grade_id is in `names`, in that order."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    return [cells[name] for name in names]


def _notebook_solution():
    """The notebook's solution cells, run where its first cell would have put np and torch."""
    namespace = dict(NOTEBOOK_NAMES)
    for cell in _notebook_cells(FUNCTIONS):
        exec(compile(cell.source, "<notebook solution cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in FUNCTIONS}


def _notebook_answers():
    """The values the notebook's answer cells assign (the solution's answers)."""
    namespace = {}
    for cell in _notebook_cells(ANSWERS):
        exec(compile(cell.source, "<notebook answer cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in ANSWERS}


SOLUTIONS = {"reference copy": SOLUTION}
if NOTEBOOK.exists():
    SOLUTIONS["notebook"] = _notebook_solution()
# What a catalogue entry runs with: the notebook's imports and the solution, as in the grader's kernel.
KERNEL = {**NOTEBOOK_NAMES, **SOLUTION}
FORWARD = {"self_attention_backward": "self_attention_forward"}


def _run(name, fn, solution=SOLUTION):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it (the backward pass
    with the forward pass of `solution`)."""
    test = getattr(hidden, f"test_{name}")
    if name in FORWARD:
        return test(fn, solution[FORWARD[name]])
    return test(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)  # cheats: see check
def test_entry_is_one_definition_using_only_the_notebooks_names(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.attention")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capfd):
    solution = SOLUTIONS[source]
    assert_passes_silently(lambda n, fn: _run(n, fn, solution), name, solution[name], capfd)


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="the notebook is not written yet")
def test_the_notebooks_cache_starts_as_the_catalogue_expects():
    """Catalogue entries read (X, Wq, Wk, Wv, causal, Q, K, V, weights) from the solution's cache."""
    forward = SOLUTIONS["notebook"]["self_attention_forward"]
    X, W = np.ones((2, 4, 3)), np.ones((3, 2))
    out, cache = forward(X, W, W, W, causal=True)
    assert len(cache) == 9 and cache[4] is True
    assert [np.shape(v) for v in cache[:4]] == [X.shape, W.shape, W.shape, W.shape]
    assert [np.shape(v) for v in cache[5:]] == [(2, 4, 2)] * 3 + [(2, 4, 4)]


def _answer(entry):
    """The value an answer entry assigns, as the notebook's answer cell would."""
    namespace = {}
    exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), namespace)  # noqa: S102
    return namespace[entry.function]


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="the notebook is not written yet")
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
    assert "55" not in message and "98304" not in message and '"b" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_answers_are_what_the_reference_computes():
    rng = np.random.default_rng(0)
    X, W = rng.standard_normal((10, 4)), rng.standard_normal((4, 4))
    order = rng.permutation(10)
    out, cache = nn273.attention.self_attention_forward(X, W, W.T, W)
    np.testing.assert_allclose(nn273.attention.self_attention_forward(X[order], W, W.T, W)[0], out[order])  # b
    _, cache = nn273.attention.self_attention_forward(X, W, W.T, W, causal=True)
    assert np.count_nonzero(cache[-1]) == 55 == nn273.attention.causal_mask(10).sum()
    D, d = 512, 64
    layer = [rng.standard_normal((D, d)) for _ in range(3)]
    assert sum(w.size for w in layer) == 98304
    if NOTEBOOK.exists():
        assert _notebook_answers() == {
            "answer_permuted_outputs": "b",
            "answer_causal_weights": 55,
            "answer_attention_parameters": 98304,
        }


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
    assert_reference_rejected(_run, name, getattr(nn273.attention, name))


def test_modifying_an_input_fails():
    solution = SOLUTION["scaled_dot_product_attention"]

    def vandal(Q, K, V, mask=None):
        result = solution(Q, K, V, mask)
        K[...] = 0
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
        _run("scaled_dot_product_attention", vandal)

    forward = SOLUTION["self_attention_forward"]

    def vandal_forward(X, Wq, Wk, Wv, causal=False):
        result = forward(X, Wq, Wk, Wv, causal=causal)
        X[...] = 0
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _run("self_attention_forward", vandal_forward)


def test_modifying_dout_or_the_cache_fails():
    solution = SOLUTION["self_attention_backward"]

    def vandal_dout(dout, cache):
        result = solution(dout, cache)
        dout[...] = 0
        return result

    def vandal_cache(dout, cache):
        result = solution(dout, cache)
        cache[0][...] = 0  # X, kept in the cache
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _run("self_attention_backward", vandal_dout)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]"):
        _run("self_attention_backward", vandal_cache)


# A NumPy exercise that calls torch fails.
def _attention_by_torch(Q, K, V, mask=None):
    t = [torch.tensor(np.asarray(v, dtype=float)) for v in (Q, K, V)]
    m = None if mask is None else torch.tensor(mask)
    out = torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=m)
    scores = (t[0] @ t[1].transpose(-1, -2) / t[0].shape[-1] ** 0.5)
    if m is not None:
        scores = scores.masked_fill(~m, float("-inf"))
    return out.numpy(), torch.softmax(scores, -1).numpy()


def _self_by_torch(X, Wq, Wk, Wv, causal=False):
    X, Wq, Wk, Wv = (torch.tensor(np.asarray(v, dtype=float)) for v in (X, Wq, Wk, Wv))
    out = torch.nn.functional.scaled_dot_product_attention(X @ Wq, X @ Wk, X @ Wv, is_causal=causal)
    return out.numpy(), None


def _backward_by_autograd(dout, cache):
    leaves = [torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in cache[:4]]
    X, Wq, Wk, Wv = leaves
    out = torch.nn.functional.scaled_dot_product_attention(X @ Wq, X @ Wk, X @ Wv, is_causal=cache[4])
    out.backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in leaves)


def _positions_by_torch(n_positions, d_model):
    p = torch.arange(n_positions, dtype=torch.float64)[:, None]
    j = torch.arange(d_model)
    angles = p / 10000 ** ((2 * (j // 2)) / d_model)
    return torch.where(j % 2 == 0, torch.sin(angles), torch.cos(angles)).numpy()


def _mask_by_torch(n):
    return torch.tril(torch.ones(n, n, dtype=torch.bool)).numpy()


@pytest.mark.parametrize(
    "name, fn",
    [
        ("scaled_dot_product_attention", _attention_by_torch),
        ("self_attention_forward", _self_by_torch),
        ("self_attention_backward", _backward_by_autograd),
        ("sinusoidal_positional_encoding", _positions_by_torch),
        ("causal_mask", _mask_by_torch),
    ],
)
def test_numpy_exercise_that_calls_torch_is_rejected(name, fn):
    with pytest.raises(HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"):
        _run(name, fn)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", ["object", "pair", "four"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {
        "object": AlwaysEqual(),
        "pair": (AlwaysEqual(), AlwaysEqual()),
        "four": (AlwaysEqual(),) * 4,
    }[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return)"):
        _run(name, cheat)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("scaled_dot_product_attention", "no 1/sqrt(d) scaling")
    assert "weights of scaled_dot_product_attention" in message and "sqrt(d)" in message
    message = _failure("scaled_dot_product_attention", "an unstable softmax: exp of the raw scores, which overflows at 1e4")
    assert "floating-point" in message and "1e4" in message
    message = _failure(
        "scaled_dot_product_attention",
        "the mask applied after the softmax: weights zeroed, rows no longer summing to 1",
    )
    assert "before the softmax" in message
    message = _failure("self_attention_forward", "a strict causal mask: a position may not attend to itself")
    assert "itself included" in message
    message = _failure(
        "self_attention_backward", "the weights treated as constants: no gradient through the softmax to Q and K"
    )
    assert "not constants" in message or "three ways" in message
    message = _failure("sinusoidal_positional_encoding", "sin and cos swapped: cosines in the even columns")
    assert "sin(p / 10000" in message
    message = _failure("causal_mask", "ones and zeros (floats), not a boolean mask")
    assert "boolean" in message


def test_a_wrong_forward_is_named_in_the_backward_test():
    entry = next(e for e in WRONG if e.function == "self_attention_forward" and "swapped" in e.description)
    with pytest.raises(HiddenTestFailure, match="Fix self_attention_forward first"):
        hidden.test_self_attention_backward(SOLUTION["self_attention_backward"], define(entry, KERNEL))
