"""The hidden tests of 04_conv, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified input,
and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/conv.py compiled under another file name (see
tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells.
"""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

import nn273.conv
from autograder.catalogue import conv as catalogue
from autograder.hidden import conv as hidden
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

FUNCTIONS = [
    "conv_output_size",
    "conv2d_forward",
    "conv2d_backward",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "build_lenet",
]
NUMPY_EXERCISES = FUNCTIONS[:-1]
# The questions answered by a value (answer_<name> = ...), each with its hidden test and entries.
ANSWERS = ["answer_lenet_parameters", "answer_shifted_map"]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(
    [e for e in catalogue.ENTRIES if e.function in ANSWERS]
)
NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "04_conv" / "04_conv.ipynb"
# What the notebook's first cell imports, so what a catalogue entry may use by name.
NOTEBOOK_NAMES = {"np": np, "torch": torch}
_REFERENCE = reference_copy(nn273.conv)
SOLUTION = {name: _REFERENCE[name] for name in FUNCTIONS}


def _notebook_cells(names):
    """The cells of the notebook whose grade_id is in `names`, in that order."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    return [cells[name] for name in names]


def _notebook_solution():
    """The notebook's solution cells, run where its first cell would have put np, torch and
    sliding_window_view."""
    namespace = {"np": np, "torch": torch, "sliding_window_view": sliding_window_view}
    for cell in _notebook_cells(FUNCTIONS):
        exec(compile(cell.source, "<notebook solution cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in FUNCTIONS}


def _notebook_answers():
    """The values the notebook's answer cells assign (the solution's answers)."""
    namespace = {}
    for cell in _notebook_cells(ANSWERS):
        exec(compile(cell.source, "<notebook answer cell>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in ANSWERS}


SOLUTIONS = {"reference copy": SOLUTION, "notebook": _notebook_solution()}
# What a catalogue entry runs with: the notebook's imports and the solution, as in the grader's kernel.
KERNEL = {**NOTEBOOK_NAMES, **SOLUTION}
FORWARD = {"conv2d_backward": "conv2d_forward", "maxpool2d_backward": "maxpool2d_forward"}


def _run(name, fn, solution=SOLUTION):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it (a backward pass
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
    assert_no_reference_function(hidden, "nn273.conv")


@pytest.mark.parametrize("source", SOLUTIONS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, source, capfd):
    solution = SOLUTIONS[source]
    assert_passes_silently(lambda n, fn: _run(n, fn, solution), name, solution[name], capfd)


def test_the_notebooks_caches_start_as_the_catalogue_expects():
    """Catalogue entries read (x, w, b, stride, pad) and (x, size, stride) from the solution's caches."""
    solution = SOLUTIONS["notebook"]
    x, w, b = np.ones((1, 2, 5, 6)), np.ones((3, 2, 3, 3)), np.zeros(3)
    _, cache = solution["conv2d_forward"](x, w, b, stride=2, pad=1)
    assert len(cache) == 5 and cache[3:] == (2, 1)
    assert [np.shape(v) for v in cache[:3]] == [x.shape, w.shape, b.shape]
    _, cache = solution["maxpool2d_forward"](x, 3, 2)
    assert np.shape(cache[0]) == x.shape and cache[1:3] == (3, 2)
    assert isinstance(solution["conv_output_size"](28, 5, 2, 0), int)


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
    assert "4426" not in message and "4,426" not in message and '"b" is' not in message


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure, match="the answer to"):
        getattr(hidden, f"test_{name}")(None)


def test_the_answers_are_what_the_reference_computes():
    answers = _notebook_answers()
    lenet = nn273.conv.build_lenet(10)
    assert answers["answer_lenet_parameters"] == sum(p.numel() for p in lenet.parameters())
    # a digit with blank borders, shifted 3 pixels right: the maps shift 3 pixels right (b)
    rng = np.random.default_rng(0)
    x = np.zeros((1, 1, 28, 28))
    x[0, 0, 4:24, 4:24] = rng.random((20, 20))
    shifted = np.zeros_like(x)
    shifted[..., 3:] = x[..., :-3]
    w = rng.standard_normal((3, 1, 5, 5))
    maps, _ = nn273.conv.conv2d_forward(x, w, np.zeros(3))
    maps_shifted, _ = nn273.conv.conv2d_forward(shifted, w, np.zeros(3))
    assert np.allclose(maps_shifted[..., 3:], maps[..., :-3])
    assert not np.allclose(maps_shifted, maps)
    assert answers["answer_shifted_map"] == "b"


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
    assert_reference_rejected(_run, name, getattr(nn273.conv, name))


def test_modifying_an_input_fails():
    assert_modifying_the_first_argument_fails(
        _run, "maxpool2d_forward", SOLUTION["maxpool2d_forward"]
    )
    solution = SOLUTION["conv2d_forward"]

    def vandal(x, w, b, **kwargs):  # conv2d_forward is called with stride= and pad=
        out = solution(x, w, b, **kwargs)
        w[...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
        _run("conv2d_forward", vandal)


@pytest.mark.parametrize("name", ["conv2d_backward", "maxpool2d_backward"])
def test_modifying_dout_or_the_cache_fails(name):
    solution = SOLUTION[name]

    def vandal_dout(dout, cache):
        result = solution(dout, cache)
        dout[...] = 0
        return result

    def vandal_cache(dout, cache):
        result = solution(dout, cache)
        cache[0][...] = 0  # x, kept in the cache
        return result

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        _run(name, vandal_dout)
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]"):
        _run(name, vandal_cache)


# A NumPy exercise that calls torch fails. Each of these reaches torch's Python code (the guard
# watches Python functions; see the last test of this file for builtins alone).
def _conv_forward_by_torch(x, w, b, stride=1, pad=0):
    t = torch.nn.functional.conv2d(
        torch.as_tensor(x), torch.as_tensor(w), torch.as_tensor(b), stride=stride, padding=pad
    )
    return np.asarray(t), (x, w, b, stride, pad)  # np.asarray calls Tensor.__array__


def _conv_backward_by_autograd(dout, cache):
    x, w, b, stride, pad = cache[:5]
    leaves = [torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in (x, w, b)]
    out = torch.nn.functional.conv2d(*leaves, stride=stride, padding=pad)
    out.backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in leaves)


def _pool_forward_by_torch(x, size, stride):
    out = torch.nn.functional.max_pool2d(torch.tensor(np.asarray(x, dtype=float)), size, stride)
    return out.numpy(), (x, size, stride)


def _pool_backward_by_autograd(dout, cache):
    x, size, stride = cache[:3]
    leaf = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)
    torch.nn.functional.max_pool2d(leaf, size, stride).backward(torch.tensor(dout))
    return leaf.grad.numpy()


def _output_size_by_torch(n, k, stride=1, pad=0):
    shape = torch.nn.functional.max_pool2d(
        torch.zeros(1, 1, n + 2 * pad, 1), (k, 1), (stride, 1)
    ).shape
    return int(shape[2])


@pytest.mark.parametrize(
    "name, fn",
    [
        ("conv_output_size", _output_size_by_torch),
        ("conv2d_forward", _conv_forward_by_torch),
        ("conv2d_backward", _conv_backward_by_autograd),
        ("maxpool2d_forward", _pool_forward_by_torch),
        ("maxpool2d_backward", _pool_backward_by_autograd),
    ],
)
def test_numpy_exercise_that_calls_torch_is_rejected(name, fn):
    with pytest.raises(
        HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
    ):
        _run(name, fn)


def test_build_lenet_may_use_torch():
    hidden.test_build_lenet(SOLUTION["build_lenet"])


@pytest.mark.parametrize("name", NUMPY_EXERCISES)
@pytest.mark.parametrize("shape", ["object", "pair", "triple"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {
        "object": AlwaysEqual(),
        "pair": (AlwaysEqual(), AlwaysEqual()),
        "triple": (AlwaysEqual(), AlwaysEqual(), AlwaysEqual()),
    }[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return)"):
        _run(name, cheat)


@pytest.mark.parametrize(
    "value", [None, AlwaysEqual(), torch.nn.Linear(784, 10)], ids=["None", "object", "one layer"]
)
def test_build_lenet_of_something_else_fails(value):
    with pytest.raises(HiddenTestFailure, match="build_lenet"):
        hidden.test_build_lenet(lambda num_classes=10: value)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure(
        "conv2d_forward", "the kernel flipped: a true convolution, not torch's cross-correlation"
    )
    assert (
        "out of conv2d_forward" in message
        and "cross-correlation" in message
        and "expected" in message
    )
    message = _failure("conv2d_backward", "padding forgotten: dx of the padded image returned")
    assert "dx of conv2d_backward" in message and "must have shape" in message
    message = _failure(
        "conv2d_backward", "db summed over the wrong axes: over the filters, not the examples"
    )
    assert "db of conv2d_backward" in message
    message = _failure(
        "maxpool2d_backward", "overlapping windows' gradients written over instead of added"
    )
    assert "add up" in message
    message = _failure(
        "maxpool2d_backward", "on ties, the gradient to the last maximum (torch: the first)"
    )
    assert "ties" in message and "first one in row-major order" in message
    message = _failure("conv_output_size", "rounds up: counts a last window that does not fit")
    assert "does not fit is dropped" in message
    message = _failure("build_lenet", "a sigmoid for the ReLU")
    assert "the second layer" in message


def test_a_wrong_forward_is_named_in_the_backward_test():
    entry = next(e for e in WRONG if e.function == "conv2d_forward" and "flipped" in e.description)
    with pytest.raises(HiddenTestFailure, match="Fix conv2d_forward first"):
        hidden.test_conv2d_backward(SOLUTION["conv2d_backward"], define(entry, KERNEL))
    entry = next(
        e for e in WRONG if e.function == "maxpool2d_forward" and "average" in e.description
    )
    with pytest.raises(HiddenTestFailure, match="Fix maxpool2d_forward first"):
        hidden.test_maxpool2d_backward(SOLUTION["maxpool2d_backward"], define(entry, KERNEL))


def test_conv_forward_by_torch_builtins_alone_is_rejected():
    """torch.from_numpy, torch.conv2d and Tensor.numpy run no Python code of torch: the guard sees
    them as built-ins of the module torch."""
    def conv2d_forward(x, w, b, stride=1, pad=0):
        x, w, b = (torch.from_numpy(np.asarray(v, dtype=float)) for v in (x, w, b))
        return torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad).numpy(), None

    with pytest.raises(HiddenTestFailure, match="asks you to do without"):
        _run("conv2d_forward", conv2d_forward)
