"""The hidden tests of 08_regularization, run in-process: they pass the solution and every Right entry
of the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input (the running statistics excepted, in training), and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/regularization.py compiled under another file
name (see tests/hidden_support.py), the same code, not the module the harness guards; and the
notebook's solution cells, once the notebook exists. The tests every assignment shares are
tests/hidden_suite.py's; this file names 08_regularization's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import nn273.regularization
from autograder.catalogue import regularization as catalogue
from autograder.hidden import regularization as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, NumpyLayers, Questions, RunSeeds, equal_to_everything
from hidden_support import assert_modifying_the_first_argument_fails

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "08_regularization" / "08_regularization.ipynb"
needs_notebook = pytest.mark.skipif(
    not NOTEBOOK.exists(), reason="the solution notebook is not written yet"
)


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


class TestRegularization(HiddenSuite, Questions, NumpyLayers, RunSeeds):
    hidden, catalogue, reference = hidden, catalogue, nn273.regularization
    FUNCTIONS = ["dropout_forward", "dropout_backward", "batchnorm_forward", "batchnorm_backward"]
    ANSWERS = ["answer_test_time_factor", "answer_batchnorm_parameters", "answer_eval_dependence"]
    ANSWERS_NOT_TOLD = ["0.8", "512", '"a" is']
    NOTEBOOK = NOTEBOOK
    NOTEBOOK_NAMES = {"np": np, "torch": torch}
    FORWARD = {"dropout_backward": "dropout_forward", "batchnorm_backward": "batchnorm_forward"}
    CHEATS = equal_to_everything(pair=2, triple=3)
    BY_TORCH = [
        ("batchnorm_forward", _batchnorm_by_torch),
        ("dropout_forward", _dropout_by_torch),
        ("dropout_backward", _dropout_backward_by_torch),
    ]
    BACKWARD_FROM_CACHE = ["batchnorm_backward"]
    WRONG_FORWARDS = [
        ("dropout_forward", "no scaling: the kept units are not multiplied by 1/(1 - p)"),
        ("batchnorm_forward", "eps outside the square root"),
    ]

    @needs_notebook
    def test_the_notebooks_cache_is_the_one_the_catalogue_reads(self):
        """Catalogue entries read (x, gamma, beta, mu, var, eps, train) from the solution's cache."""
        forward = self.SOLUTIONS["notebook"]["batchnorm_forward"]
        x = np.array([[1.0, 2.0], [3.0, 6.0]])
        running = {"mean": np.zeros(2), "var": np.ones(2)}
        _, cache = forward(x, np.ones(2), np.zeros(2), running, True, 0.1, 1e-3)
        x_, gamma, beta, mu, var, eps, train = cache[:7]
        np.testing.assert_array_equal(x_, x)
        np.testing.assert_array_equal(mu, [2.0, 4.0])
        np.testing.assert_array_equal(var, [1.0, 4.0])
        assert (eps, train) == (1e-3, True)

    def test_the_answers_are_what_the_reference_computes(self):
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
        among = nn273.regularization.batchnorm_forward(
            batch, np.ones(2), np.zeros(2), running, False
        )[0]
        np.testing.assert_array_equal(alone[0], among[0])

    def test_modifying_an_input_fails(self):
        for name in ["dropout_forward", "batchnorm_forward"]:
            assert_modifying_the_first_argument_fails(self._run, name, self.SOLUTION[name])
        solution = self.SOLUTION["batchnorm_forward"]

        def vandal_gamma(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            out = solution(x, gamma, beta, running, train, momentum, eps)
            gamma[...] = 0
            return out

        def updates_in_evaluation(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
            out = solution(x, gamma, beta, running, True if len(x) > 1 else train, momentum, eps)
            return out

        with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
            self._run("batchnorm_forward", vandal_gamma)
        with pytest.raises(HiddenTestFailure, match=r"modified its argument number 4\['mean'\]"):
            self._run("batchnorm_forward", updates_in_evaluation)

    def test_messages_say_what_is_wrong(self):
        message = self._failure("dropout_forward", "p taken as the keep probability")
        assert "probability to DROP" in message
        message = self._failure(
            "dropout_forward", "drawn from np.random's global state, not from rng"
        )
        assert "from the generator rng" in message
        message = self._failure("dropout_forward", "p outside [0, 1) not refused")
        assert "expected a ValueError" in message
        message = self._failure("batchnorm_forward", "a biased running variance")
        assert 'running["var"]' in message and "unbiased" in message
        message = self._failure(
            "batchnorm_forward", "evaluation normalizes with the batch's statistics"
        )
        assert "evaluation" in message and "running statistics" in message
        message = self._failure(
            "batchnorm_forward",
            "the running statistics not updated in the caller's dict (a copy updated)",
        )
        assert "the dict passed in must hold" in message
        message = self._failure(
            "batchnorm_backward",
            "the mean and variance terms missing: mu and var taken as constants",
        )
        assert "dx of batchnorm_backward" in message and "mu and var depend on x" in message

    def test_a_correct_keep_rate_is_never_rejected_at_8_standard_errors(self):
        """The keep-rate bound fails a correct mask with probability below 2e-15 per draw."""
        from math import erfc, sqrt

        assert erfc(8 / sqrt(2)) < 2e-15
