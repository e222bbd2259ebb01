"""The hidden tests of 05_residual, run in-process: they pass the solution and every Right entry of
the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input, and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/residual.py compiled under another file name
(see tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells, once the notebook exists. The tests every assignment shares are
tests/hidden_suite.py's; this file names 05_residual's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import nn273.residual
from autograder.catalogue import residual as catalogue
from autograder.hidden import residual as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, NumpyLayers, Questions, RunSeeds, equal_to_everything
from hidden_support import AlwaysEqual, assert_modifying_the_first_argument_fails

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "05_residual" / "05_residual.ipynb"
needs_notebook = pytest.mark.skipif(
    not NOTEBOOK.exists(), reason="the solution notebook is not written yet"
)


def _forward_by_torch(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (torch.as_tensor(np.asarray(v, dtype=float)) for v in (X, W1, b1, W2, b2))
    out = X + torch.nn.functional.relu(X @ W1 + b1) @ W2 + b2
    return np.asarray(out), None


def _backward_by_autograd(dout, cache):
    leaves = [torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in cache[:5]]
    X, W1, b1, W2, b2 = leaves
    (X + torch.nn.functional.relu(X @ W1 + b1) @ W2 + b2).backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in leaves)


class TestResidual(HiddenSuite, Questions, NumpyLayers, RunSeeds):
    hidden, catalogue, reference = hidden, catalogue, nn273.residual
    FUNCTIONS = ["residual_forward", "residual_backward", "ResidualBlock"]
    ANSWERS = ["answer_block_parameters", "answer_zero_block_gradient"]
    ANSWERS_NOT_TOLD = ["33088", "33,088", '"c" is']
    NOTEBOOK = NOTEBOOK
    NOTEBOOK_NAMES = {"np": np, "torch": torch}
    FORWARD = {"residual_backward": "residual_forward"}
    CHEATS = equal_to_everything(pair=2, quintuple=5)
    CHEATED = FUNCTIONS[:2]  # the NumPy exercises
    BY_TORCH = [
        ("residual_forward", _forward_by_torch),
        ("residual_backward", _backward_by_autograd),
    ]
    BACKWARD_FROM_CACHE = ["residual_backward"]
    WRONG_FORWARDS = [("residual_forward", "the skip forgotten: a plain two-layer network")]

    @needs_notebook
    def test_the_notebooks_cache_starts_as_the_catalogue_expects(self):
        """Catalogue entries read (X, W1, b1, W2, b2) from the solution's cache."""
        forward = self.SOLUTIONS["notebook"]["residual_forward"]
        args = (np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), np.ones((4, 3)), np.zeros(3))
        _, cache = forward(*args)
        assert [np.shape(v) for v in cache[:5]] == [np.shape(a) for a in args]

    def test_the_answers_are_what_the_reference_computes(self):
        block = nn273.residual.ResidualBlock(64, 256)
        assert sum(p.numel() for p in block.parameters()) == 33088
        rng = np.random.default_rng(0)
        X, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        _, cache = nn273.residual.residual_forward(
            X, np.zeros((4, 5)), np.zeros(5), np.zeros((5, 4)), np.zeros(4)
        )
        dX, *gradients = nn273.residual.residual_backward(dout, cache)
        assert np.array_equal(dX, dout)
        # c: of the parameters, b2 alone gets a gradient that is not zero
        assert [bool(np.any(g != 0)) for g in gradients] == [False, False, False, True]
        assert self._notebook_answers()["answer_zero_block_gradient"] == "c"

    def test_modifying_an_input_fails(self):
        solution = self.SOLUTION["residual_forward"]
        assert_modifying_the_first_argument_fails(self._run, "residual_forward", solution)

        def vandal(X, W1, b1, W2, b2):
            out = solution(X, W1, b1, W2, b2)
            W2[...] = 0
            return out

        with pytest.raises(HiddenTestFailure, match="modified its argument number 4"):
            self._run("residual_forward", vandal)

    @pytest.mark.parametrize(
        "value",
        [None, AlwaysEqual(), torch.nn.Identity(), torch.nn.Linear(3, 3)],
        ids=["None", "object", "identity", "one layer"],
    )
    def test_residual_block_of_something_else_fails(self, value):
        with pytest.raises(HiddenTestFailure, match="ResidualBlock"):
            hidden.test_ResidualBlock(lambda width, hidden: value)

    def test_messages_say_what_is_wrong(self):
        message = self._failure("residual_forward", "the skip forgotten: a plain two-layer network")
        assert "out of residual_forward" in message and "the input added" in message
        message = self._failure(
            "residual_backward", "no identity path: dX only through the block"
        )
        assert "dX of residual_backward" in message and "identity path" in message
        message = self._failure("residual_backward", "ReLU's derivative 1 at R = 0 (R >= 0)")
        assert "exactly 0" in message
        message = self._failure("ResidualBlock", "hidden ignored: Linear(width, width) twice")
        assert "linear1" in message and "Linear(" in message
        message = self._failure("ResidualBlock", "ReLU after the sum")
        assert "the output of ResidualBlock" in message
