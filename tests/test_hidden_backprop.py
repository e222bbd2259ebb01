"""The hidden tests of 03_backprop, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, a call of the reference, and
autograd inside the hand-written backward pass.

"The solution" here is the source of nn273/backprop.py and nn273/gradcheck.py compiled under other
file names (see tests/hidden_support.py): the same code, not the modules the harness guards.
"""

import numpy as np
import pytest
import torch

import nn273.backprop
import nn273.gradcheck
from autograder.catalogue import backprop as catalogue
from autograder.hidden import backprop as hidden
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
from nn273.linear import sigmoid, softmax
from nn273.mlp import activation, activation_grad, mlp_forward

FUNCTIONS = [
    "numerical_gradient",
    "linear_forward",
    "linear_backward",
    "mse_loss",
    "mlp_loss_and_grads",
    "torch_loss_and_grads",
]
# The questions answered by a value (answer_<name> = ...), each with its hidden test and entries.
ANSWERS = ["answer_backward_cost", "answer_cache_size"]
SOLUTION_ANSWERS = {"answer_backward_cost": "c", "answer_cache_size": 3750}
ANSWER_ENTRIES = [e for e in catalogue.ENTRIES if e.function in ANSWERS]
WRONG, RIGHT = wrong_and_right([e for e in catalogue.ENTRIES if e.function not in ANSWERS])
WRONG_ANSWERS, RIGHT_ANSWERS = wrong_and_right(ANSWER_ENTRIES)
# What the notebook's first cell imports, so what a catalogue entry may use by name.
NOTEBOOK_NAMES = {
    "np": np,
    "torch": torch,
    "activation": activation,
    "activation_grad": activation_grad,
    "mlp_forward": mlp_forward,
    "sigmoid": sigmoid,
    "softmax": softmax,
}


def _solution():
    backprop, gradcheck = reference_copy(nn273.backprop), reference_copy(nn273.gradcheck)
    solution = {name: backprop[name] for name in FUNCTIONS if name != "numerical_gradient"}
    solution["numerical_gradient"] = gradcheck["numerical_gradient"]
    return solution


SOLUTION = _solution()
# What a catalogue entry runs with: the notebook's imports and the solution, as in the grader's
# kernel.
KERNEL = {**NOTEBOOK_NAMES, **SOLUTION}


def _run(name, fn):
    """The hidden test of `name` on fn, as the notebook's hidden cell calls it."""
    test = getattr(hidden, f"test_{name}")
    if name == "linear_backward":
        return test(fn, SOLUTION["linear_forward"])
    return test(fn)


def test_every_graded_function_has_a_hidden_test_and_catalogue_entries():
    assert_hidden_tests_and_entries(hidden, FUNCTIONS + ANSWERS, catalogue.ENTRIES)


def _answer(entry):
    """The value an answer entry assigns, as the notebook's answer cell would."""
    namespace = {}
    exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), namespace)  # noqa: S102
    return namespace[entry.function]


@pytest.mark.parametrize("name", ANSWERS)
def test_solution_answer_passes(name):
    getattr(hidden, f"test_{name}")(SOLUTION_ANSWERS[name])


@pytest.mark.parametrize("entry", RIGHT_ANSWERS, ids=entry_id)
def test_right_answer_passes(entry):
    getattr(hidden, f"test_{entry.function}")(_answer(entry))


@pytest.mark.parametrize("entry", WRONG_ANSWERS, ids=entry_id)
def test_wrong_answer_fails_without_telling_the_answer(entry):
    with pytest.raises(HiddenTestFailure) as failure:
        getattr(hidden, f"test_{entry.function}")(_answer(entry))
    message = str(failure.value)
    assert "the answer to" in message
    if entry.function == "answer_cache_size":  # (a choice's message lists every letter)
        assert "3750" not in message.replace(repr(_answer(entry)), "")


@pytest.mark.parametrize("name", ANSWERS)
def test_unanswered_question_fails(name):
    with pytest.raises(HiddenTestFailure):
        getattr(hidden, f"test_{name}")(None)


def test_hidden_tests_use_the_contracts_names():
    assert hidden.ACTIVATIONS == nn273.mlp.ACTIVATIONS
    assert sorted(hidden.PAIRS) == sorted(nn273.backprop.ALLOWED)


@pytest.mark.parametrize("name", nn273.mlp.ACTIVATIONS)
def test_oracle_activations_are_02s(name):
    r = np.linspace(-4, 4, 41)
    expected = activation(name, r)
    assert np.allclose(
        hidden._TORCH_HIDDEN[name](torch.tensor(r)).numpy(), expected, rtol=1e-14, atol=1e-15
    )
    assert np.allclose(hidden._NUMPY_HIDDEN[name](r), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("entry", WRONG + RIGHT, ids=entry_id)  # cheats: see check
def test_entry_is_one_definition_using_only_the_notebooks_names(entry):
    assert_one_definition(entry)


def test_hidden_module_holds_no_reference_function():
    assert_no_reference_function(hidden, "nn273.backprop", "nn273.gradcheck")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_solution_passes_silently(name, capfd):
    assert_passes_silently(_run, name, SOLUTION[name], capfd)


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
    assert_reference_rejected(_run, name, getattr(nn273.backprop, name))


def test_numerical_gradient_reference_is_gradchecks():
    assert nn273.backprop.numerical_gradient is nn273.gradcheck.numerical_gradient


def _backward():
    x = torch.ones(2, requires_grad=True)
    (x**2).sum().backward()


def _autograd_grad():
    x = torch.ones(2, requires_grad=True)
    torch.autograd.grad((x**2).sum(), [x])


@pytest.mark.parametrize("autograd", [_backward, _autograd_grad], ids=["backward", "autograd.grad"])
def test_autograd_inside_mlp_loss_and_grads_is_rejected(autograd):
    solution = SOLUTION["mlp_loss_and_grads"]

    def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
        autograd()  # even on a throwaway tensor: the backward pass must be written by hand
        return solution(X, Y, params, hidden, output, loss)

    with pytest.raises(HiddenTestFailure, match=r"torch\.autograd"):
        hidden.test_mlp_loss_and_grads(mlp_loss_and_grads)


def test_torch_loss_and_grads_may_use_autograd():
    hidden.test_torch_loss_and_grads(SOLUTION["torch_loss_and_grads"])


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", ["object", "pair", "triple"])
def test_object_equal_to_everything_fails(name, shape):
    cheat_value = {
        "object": AlwaysEqual(),
        "pair": (AlwaysEqual(), AlwaysEqual()),
        "triple": (AlwaysEqual(), AlwaysEqual(), AlwaysEqual()),
    }[shape]

    def cheat(*args, **kwargs):
        return cheat_value

    with pytest.raises(HiddenTestFailure, match="must (be numbers|return|hold|use torch.autograd)"):
        _run(name, cheat)


@pytest.mark.parametrize(
    "name", ["linear_forward", "mse_loss", "mlp_loss_and_grads", "torch_loss_and_grads"]
)
def test_modifying_an_input_fails(name):
    assert_modifying_the_first_argument_fails(_run, name, SOLUTION[name])


@pytest.mark.parametrize("name", ["mlp_loss_and_grads", "torch_loss_and_grads"])
def test_modifying_params_fails(name):
    solution = SOLUTION[name]

    def vandal(X, Y, params, *rest):
        out = solution(X, Y, params, *rest)
        params[0][0][...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 3\[0\]\[0\]"):
        _run(name, vandal)


def test_tensor_that_requires_grad_is_explained():
    solution = SOLUTION["torch_loss_and_grads"]

    def returns_tensor(*args):
        J, grads = solution(*args)
        return torch.tensor(J, requires_grad=True), grads

    with pytest.raises(HiddenTestFailure, match=r"J\.item\(\)"):
        hidden.test_torch_loss_and_grads(returns_tensor)


def _failure(function, description):
    [entry] = [e for e in WRONG if e.function == function and e.description == description]
    return failure_message(_run, function, define(entry, KERNEL))


def test_messages_say_what_is_wrong():
    message = _failure("numerical_gradient", "forward differences (f(x + h) - f(x)) / h")
    assert "central differences" in message and "expected" in message and "x = [" in message
    message = _failure(
        "numerical_gradient", "perturbs the caller's x (np.asarray, no copy) and never restores it"
    )
    assert "modified its argument number 2" in message
    message = _failure(
        "numerical_gradient",
        "works on a copy but never puts x[i] back: later partials are taken at a shifted point",
    )
    assert "x @ A @ x" in message and "put back" in message
    message = _failure("numerical_gradient", "perturbs x.ravel(), a copy when x is not contiguous")
    assert "non-contiguous" in message
    message = _failure("linear_backward", "dW transposed: dout.T @ X")
    assert "dW of linear_backward" in message and "X.T @ dout" in message
    message = _failure("mse_loss", "a mean over all N*K elements")
    assert "J of mse_loss" in message and "averages over the N examples" in message
    message = _failure("mlp_loss_and_grads", "hidden activation's derivative forgotten")
    assert "central differences of your own J" in message and "layer sizes" in message
    message = _failure(
        "mlp_loss_and_grads",
        "calls torch_loss_and_grads: autograd instead of backpropagation by hand",
    )
    assert "torch.autograd" in message
    message = _failure(
        "mlp_loss_and_grads",
        "logistic nll as -(Y log F + (1 - Y) log(1 - F)): log(0) at large logits",
    )
    assert "floating-point" in message and "logits of about 1e3" in message
    message = _failure(
        "mlp_loss_and_grads",
        "nll with a linear output accepted (no ValueError): the logistic nll of the raw responses",
    )
    assert "'linear', 'nll'" in message and "expected a ValueError" in message
    message = _failure("torch_loss_and_grads", "float32 tensors")
    assert "float64" in message


def test_a_wrong_forward_is_named_in_the_backward_test():
    entry = next(e for e in WRONG if e.function == "linear_forward" and "bias" in e.description)
    wrong_forward = define(entry, KERNEL)
    with pytest.raises(HiddenTestFailure, match="Make linear_forward right first"):
        hidden.test_linear_backward(SOLUTION["linear_backward"], wrong_forward)
