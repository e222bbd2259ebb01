"""The hidden tests of 06_attention, run in-process: they pass the solution and every Right entry of
the catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified
input, and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/attention.py compiled under another file name
(see tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells. The tests every assignment shares are tests/hidden_suite.py's; this file names
06_attention's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import nn273.attention
from autograder.catalogue import attention as catalogue
from autograder.hidden import attention as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, NumpyLayers, Questions, equal_to_everything

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "06_attention" / "06_attention.ipynb"


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


class TestAttention(HiddenSuite, Questions, NumpyLayers):
    hidden, catalogue, reference = hidden, catalogue, nn273.attention
    FUNCTIONS = [
        "scaled_dot_product_attention",
        "self_attention_forward",
        "self_attention_backward",
        "sinusoidal_positional_encoding",
        "causal_mask",
    ]
    ANSWERS = ["answer_permuted_outputs", "answer_causal_weights", "answer_attention_parameters"]
    ANSWERS_NOT_TOLD = ["55", "98304", '"b" is']
    NOTEBOOK = NOTEBOOK
    NOTEBOOK_NAMES = {"np": np, "torch": torch}
    FORWARD = {"self_attention_backward": "self_attention_forward"}
    CHEATS = equal_to_everything(pair=2, four=4)
    BY_TORCH = [
        ("scaled_dot_product_attention", _attention_by_torch),
        ("self_attention_forward", _self_by_torch),
        ("self_attention_backward", _backward_by_autograd),
        ("sinusoidal_positional_encoding", _positions_by_torch),
        ("causal_mask", _mask_by_torch),
    ]
    BACKWARD_FROM_CACHE = ["self_attention_backward"]
    WRONG_FORWARDS = [("self_attention_forward", "queries and keys swapped: Q = X Wk, K = X Wq")]

    @pytest.mark.skipif(not NOTEBOOK.exists(), reason="the notebook is not written yet")
    def test_the_notebooks_cache_starts_as_the_catalogue_expects(self):
        """Catalogue entries read (X, Wq, Wk, Wv, causal, Q, K, V, weights) from the solution's
        cache."""
        forward = self.SOLUTIONS["notebook"]["self_attention_forward"]
        X, W = np.ones((2, 4, 3)), np.ones((3, 2))
        out, cache = forward(X, W, W, W, causal=True)
        assert len(cache) == 9 and cache[4] is True
        assert [np.shape(v) for v in cache[:4]] == [X.shape, W.shape, W.shape, W.shape]
        assert [np.shape(v) for v in cache[5:]] == [(2, 4, 2)] * 3 + [(2, 4, 4)]

    def test_the_answers_are_what_the_reference_computes(self):
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
            assert self._notebook_answers() == {
                "answer_permuted_outputs": "b",
                "answer_causal_weights": 55,
                "answer_attention_parameters": 98304,
            }

    def test_modifying_an_input_fails(self):
        solution = self.SOLUTION["scaled_dot_product_attention"]

        def vandal(Q, K, V, mask=None):
            result = solution(Q, K, V, mask)
            K[...] = 0
            return result

        with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
            self._run("scaled_dot_product_attention", vandal)

        forward = self.SOLUTION["self_attention_forward"]

        def vandal_forward(X, Wq, Wk, Wv, causal=False):
            result = forward(X, Wq, Wk, Wv, causal=causal)
            X[...] = 0
            return result

        with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
            self._run("self_attention_forward", vandal_forward)

    def test_messages_say_what_is_wrong(self):
        message = self._failure("scaled_dot_product_attention", "no 1/sqrt(d) scaling")
        assert "weights of scaled_dot_product_attention" in message and "sqrt(d)" in message
        message = self._failure("scaled_dot_product_attention", "an unstable softmax: exp of the raw scores, which overflows at 1e4")
        assert "floating-point" in message and "1e4" in message
        message = self._failure(
            "scaled_dot_product_attention",
            "the mask applied after the softmax: weights zeroed, rows no longer summing to 1",
        )
        assert "before the softmax" in message
        message = self._failure("self_attention_forward", "a strict causal mask: a position may not attend to itself")
        assert "itself included" in message
        message = self._failure(
            "self_attention_backward", "the weights treated as constants: no gradient through the softmax to Q and K"
        )
        assert "not constants" in message or "three ways" in message
        message = self._failure("sinusoidal_positional_encoding", "sin and cos swapped: cosines in the even columns")
        assert "sin(p / 10000" in message
        message = self._failure("causal_mask", "ones and zeros (floats), not a boolean mask")
        assert "boolean" in message
