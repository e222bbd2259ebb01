"""The hidden tests of 03_backprop, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, a call of the reference, and
autograd inside the hand-written backward pass.

"The solution" here is the source of nn273/backprop.py and nn273/gradcheck.py compiled under other
file names (see tests/hidden_support.py): the same code, not the modules the harness guards. The
tests every assignment shares are tests/hidden_suite.py's; this file names 03_backprop's parts and
tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import nn273.backprop
import nn273.gradcheck
from autograder.catalogue import backprop as catalogue
from autograder.hidden import backprop as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, Questions, equal_to_everything
from hidden_support import assert_modifying_the_first_argument_fails, reference_copy
from nn273.linear import sigmoid, softmax
from nn273.mlp import activation, activation_grad, mlp_forward


def _backward():
    x = torch.ones(2, requires_grad=True)
    (x**2).sum().backward()


def _autograd_grad():
    x = torch.ones(2, requires_grad=True)
    torch.autograd.grad((x**2).sum(), [x])


class TestBackprop(HiddenSuite, Questions):
    hidden, catalogue, reference = hidden, catalogue, nn273.backprop
    GUARDED_MODULES = ("nn273.backprop", "nn273.gradcheck")
    FUNCTIONS = [
        "numerical_gradient",
        "linear_forward",
        "linear_backward",
        "mse_loss",
        "mlp_loss_and_grads",
        "torch_loss_and_grads",
    ]
    ANSWERS = ["answer_backward_cost", "answer_cache_size"]
    ANSWERS_NOT_TOLD = ["3750"]  # not '"c" is': a choice's message lists every letter
    NOTEBOOK = (
        Path(__file__).resolve().parent.parent / "solutions" / "03_backprop" / "03_backprop.ipynb"
    )
    NOTEBOOK_SOLUTION = False
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
    FORWARD = {"linear_backward": "linear_forward"}
    CHEATS = equal_to_everything(pair=2, triple=3)
    CHEAT_FAILURE = "must (be numbers|return|hold|use torch.autograd)"

    @classmethod
    def _reference_solution(cls):
        """nn273.backprop's numerical_gradient is nn273.gradcheck's: copied from there."""
        backprop, gradcheck = reference_copy(nn273.backprop), reference_copy(nn273.gradcheck)
        solution = {name: backprop[name] for name in cls.FUNCTIONS if name != "numerical_gradient"}
        solution["numerical_gradient"] = gradcheck["numerical_gradient"]
        return solution

    def test_hidden_tests_use_the_contracts_names(self):
        assert hidden.ACTIVATIONS == nn273.mlp.ACTIVATIONS
        assert sorted(hidden.PAIRS) == sorted(nn273.backprop.ALLOWED)

    @pytest.mark.parametrize("name", nn273.mlp.ACTIVATIONS)
    def test_oracle_activations_are_02s(self, name):
        r = np.linspace(-4, 4, 41)
        expected = activation(name, r)
        assert np.allclose(
            hidden._TORCH_HIDDEN[name](torch.tensor(r)).numpy(), expected, rtol=1e-14, atol=1e-15
        )
        assert np.allclose(hidden._NUMPY_HIDDEN[name](r), expected, rtol=1e-14, atol=1e-15)

    def test_numerical_gradient_reference_is_gradchecks(self):
        assert nn273.backprop.numerical_gradient is nn273.gradcheck.numerical_gradient

    @pytest.mark.parametrize(
        "autograd", [_backward, _autograd_grad], ids=["backward", "autograd.grad"]
    )
    def test_autograd_inside_mlp_loss_and_grads_is_rejected(self, autograd):
        solution = self.SOLUTION["mlp_loss_and_grads"]

        def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
            autograd()  # even on a throwaway tensor: the backward pass must be written by hand
            return solution(X, Y, params, hidden, output, loss)

        with pytest.raises(HiddenTestFailure, match=r"torch\.autograd"):
            hidden.test_mlp_loss_and_grads(mlp_loss_and_grads)

    def test_torch_loss_and_grads_may_use_autograd(self):
        hidden.test_torch_loss_and_grads(self.SOLUTION["torch_loss_and_grads"])

    @pytest.mark.parametrize(
        "name", ["linear_forward", "mse_loss", "mlp_loss_and_grads", "torch_loss_and_grads"]
    )
    def test_modifying_an_input_fails(self, name):
        assert_modifying_the_first_argument_fails(self._run, name, self.SOLUTION[name])

    @pytest.mark.parametrize("name", ["mlp_loss_and_grads", "torch_loss_and_grads"])
    def test_modifying_params_fails(self, name):
        solution = self.SOLUTION[name]

        def vandal(X, Y, params, *rest):
            out = solution(X, Y, params, *rest)
            params[0][0][...] = 0
            return out

        with pytest.raises(HiddenTestFailure, match=r"modified its argument number 3\[0\]\[0\]"):
            self._run(name, vandal)

    def test_tensor_that_requires_grad_is_explained(self):
        solution = self.SOLUTION["torch_loss_and_grads"]

        def returns_tensor(*args):
            J, grads = solution(*args)
            return torch.tensor(J, requires_grad=True), grads

        with pytest.raises(HiddenTestFailure, match=r"J\.item\(\)"):
            hidden.test_torch_loss_and_grads(returns_tensor)

    def test_messages_say_what_is_wrong(self):
        message = self._failure("numerical_gradient", "forward differences (f(x + h) - f(x)) / h")
        assert "central differences" in message and "expected" in message and "x = [" in message
        message = self._failure(
            "numerical_gradient",
            "perturbs the caller's x (np.asarray, no copy) and never restores it",
        )
        assert "modified its argument number 2" in message
        message = self._failure(
            "numerical_gradient",
            "works on a copy but never puts x[i] back: later partials are taken at a shifted point",
        )
        assert "x @ A @ x" in message and "put back" in message
        message = self._failure(
            "numerical_gradient", "perturbs x.ravel(), a copy when x is not contiguous"
        )
        assert "non-contiguous" in message
        message = self._failure("linear_backward", "dW transposed: dout.T @ X")
        assert "dW of linear_backward" in message and "X.T @ dout" in message
        message = self._failure("mse_loss", "a mean over all N*K elements")
        assert "J of mse_loss" in message and "averages over the N examples" in message
        message = self._failure("mlp_loss_and_grads", "hidden activation's derivative forgotten")
        assert "central differences of your own J" in message and "layer sizes" in message
        message = self._failure(
            "mlp_loss_and_grads",
            "calls torch_loss_and_grads: autograd instead of backpropagation by hand",
        )
        assert "torch.autograd" in message
        message = self._failure(
            "mlp_loss_and_grads",
            "logistic nll as -(Y log F + (1 - Y) log(1 - F)): log(0) at large logits",
        )
        assert "floating-point" in message and "logits of about 1e3" in message
        message = self._failure(
            "mlp_loss_and_grads",
            "nll with a linear output accepted (no ValueError): the logistic nll of the raw "
            "responses",
        )
        assert "'linear', 'nll'" in message and "expected a ValueError" in message
        message = self._failure("torch_loss_and_grads", "float32 tensors")
        assert "float64" in message

    def test_a_wrong_forward_is_named_in_the_backward_test(self):
        wrong_forward = self._entry("linear_forward", "bias forgotten")
        with pytest.raises(HiddenTestFailure, match="Make linear_forward right first"):
            hidden.test_linear_backward(self.SOLUTION["linear_backward"], wrong_forward)
