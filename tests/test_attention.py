"""nn273.attention, the reference of 06_attention: attention against torch's
scaled_dot_product_attention in float64 (values and autograd), batched and unbatched, n_q != n_k,
d != d_v, masks leaving one key, logits of 1e4; the self-attention backward against central
differences and torch; permutation equivariance; the positional encoding's closed form; the causal
mask; inputs left alone; and errors that say what to fix."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn273.attention
from nn273.attention import (
    causal_mask,
    scaled_dot_product_attention,
    self_attention_backward,
    self_attention_forward,
    sinusoidal_positional_encoding,
)
from nn273.gradcheck import check_layer

pytestmark = pytest.mark.filterwarnings("error")

# (batch or None, n_q, n_k, d, d_v)
SDPA_CASES = [(None, 1, 1, 1, 1), (None, 3, 5, 4, 2), (2, 4, 4, 3, 5), (3, 6, 2, 2, 1), (1, 5, 7, 8, 3)]


def _draw(batch, n_q, n_k, d, d_v, rng, scale=1.0):
    lead = () if batch is None else (batch,)
    return (
        scale * rng.standard_normal((*lead, n_q, d)),
        scale * rng.standard_normal((*lead, n_k, d)),
        rng.standard_normal((*lead, n_k, d_v)),
    )


def _torch_sdpa(Q, K, V, mask=None):
    t = [torch.tensor(v) for v in (Q, K, V)]
    m = None if mask is None else torch.tensor(mask)
    return torch.nn.functional.scaled_dot_product_attention(*t, attn_mask=m).numpy()


def test_doctests():
    assert doctest.testmod(nn273.attention).failed == 0


@pytest.mark.parametrize("case", SDPA_CASES)
@pytest.mark.parametrize("masked", [False, True])
def test_attention_equals_torch(case, masked):
    rng = np.random.default_rng(1)
    Q, K, V = _draw(*case, rng)
    mask = None
    if masked:
        mask = rng.random(Q.shape[:-1] + (K.shape[-2],)) < 0.5
        mask[..., 0, :] = False  # a row with one key left
        mask[..., 0, -1] = True
        mask[..., rng.integers(mask.shape[-1])] |= ~mask.any(axis=-1)
        mask[..., :, 0] |= ~mask.any(axis=-1)
    out, weights = scaled_dot_product_attention(Q, K, V, mask)
    np.testing.assert_allclose(out, _torch_sdpa(Q, K, V, mask), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    if masked:
        assert np.all(weights[~np.broadcast_to(mask, weights.shape)] == 0.0)
        np.testing.assert_allclose(weights[..., 0, -1], 1.0)


def test_large_logits_are_stable():
    rng = np.random.default_rng(2)
    Q, K, V = _draw(2, 4, 5, 3, 2, rng, scale=100.0)  # scores up to about 1e4
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, weights = scaled_dot_product_attention(Q, K, V)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, _torch_sdpa(Q, K, V), rtol=1e-10, atol=1e-10)


def test_weights_are_the_scaled_softmax_over_keys():
    Q = np.array([[1.0, 0.0]])
    K = np.array([[2.0, 0.0], [0.0, 2.0]])
    _, weights = scaled_dot_product_attention(Q, K, np.eye(2))
    e = np.exp([2 / np.sqrt(2), 0.0])
    np.testing.assert_allclose(weights, [e / e.sum()])


def test_one_query_ignores_the_order_of_keys_and_values():
    rng = np.random.default_rng(3)
    Q, K, V = _draw(None, 2, 6, 3, 4, rng)
    order = rng.permutation(6)
    out, _ = scaled_dot_product_attention(Q, K, V)
    shuffled, _ = scaled_dot_product_attention(Q, K[order], V[order])
    np.testing.assert_allclose(shuffled, out, rtol=1e-12)


@pytest.mark.parametrize("batch", [None, 1, 3])
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_equals_torch(batch, causal):
    rng = np.random.default_rng(4)
    lead = () if batch is None else (batch,)
    X = rng.standard_normal((*lead, 5, 4))
    Wq, Wk, Wv = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    out, cache = self_attention_forward(X, Wq, Wk, Wv, causal=causal)
    leaves = [torch.tensor(v, requires_grad=True) for v in (X, Wq, Wk, Wv)]
    Xt, Wqt, Wkt, Wvt = leaves
    expected = torch.nn.functional.scaled_dot_product_attention(Xt @ Wqt, Xt @ Wkt, Xt @ Wvt, is_causal=causal)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    grads = torch.autograd.grad(expected, leaves, torch.tensor(dout))
    for got, want in zip(self_attention_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 5, 3), (1, 3, 2)])
@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_backward_against_central_differences(shape, causal):
    rng = np.random.default_rng(5)
    D = shape[-1]
    inputs = [rng.standard_normal(shape), rng.standard_normal((D, 2)), rng.standard_normal((D, 2)),
              rng.standard_normal((D, 3))]
    check_layer(
        lambda X, Wq, Wk, Wv: self_attention_forward(X, Wq, Wk, Wv, causal=causal),
        self_attention_backward,
        inputs,
        names=["X", "Wq", "Wk", "Wv"],
        rng=rng,
    )


def test_self_attention_is_permutation_equivariant_and_causal_is_not():
    rng = np.random.default_rng(6)
    X, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 4))
    order = rng.permutation(6)
    out, _ = self_attention_forward(X, W, W.T, W)
    np.testing.assert_allclose(self_attention_forward(X[order], W, W.T, W)[0], out[order], rtol=1e-12)
    causal, _ = self_attention_forward(X, W, W.T, W, causal=True)
    np.testing.assert_allclose(causal[0], X[0] @ W)  # the first position sees only itself
    assert not np.allclose(self_attention_forward(X[order], W, W.T, W, causal=True)[0], causal[order])


@given(n=st.integers(1, 40), d=st.integers(1, 17))
@settings(max_examples=40, deadline=None)
def test_positional_encoding_closed_form(n, d):
    PE = sinusoidal_positional_encoding(n, d)
    assert PE.shape == (n, d)
    for p in {0, n // 2, n - 1}:
        for j in range(d):
            angle = p / 10000 ** ((j - j % 2) / d)
            assert PE[p, j] == pytest.approx(np.sin(angle) if j % 2 == 0 else np.cos(angle), abs=1e-12)
    np.testing.assert_array_equal(PE[0, 0::2], 0.0)
    np.testing.assert_array_equal(PE[0, 1::2], 1.0)


def test_positional_encoding_lecture_values():
    PE = sinusoidal_positional_encoding(3, 4)
    np.testing.assert_allclose(PE[1], [np.sin(1), np.cos(1), np.sin(0.01), np.cos(0.01)])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_causal_mask(n):
    m = causal_mask(n)
    assert m.dtype == bool and m.shape == (n, n)
    for i in range(n):
        for j in range(n):
            assert m[i, j] == (j <= i)
    np.testing.assert_array_equal(m, ~torch.ones(n, n, dtype=torch.bool).triu(1).numpy())


def test_inputs_are_left_alone():
    rng = np.random.default_rng(7)
    X, Wq, Wk, Wv = rng.standard_normal((2, 4, 3)), *(rng.standard_normal((3, 2)) for _ in range(3))
    copies = [a.copy() for a in (X, Wq, Wk, Wv)]
    out, cache = self_attention_forward(X, Wq, Wk, Wv, causal=True)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    self_attention_backward(dout, cache)
    for a, c in zip((X, Wq, Wk, Wv), copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(dout, dout_copy)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 4)), np.ones((2, 1))), "same length d"),
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 1))), "one row per key"),
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((1, 2, 3)), np.ones((1, 2, 1))), "all batched"),
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 1)), np.ones((2, 2))),
         "boolean"),
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 1)),
                                              np.ones((3, 2), bool)), "shape"),
        (lambda: scaled_dot_product_attention(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 1)),
                                              np.array([[True, False], [False, False]])), "at least one key"),
        (lambda: self_attention_forward(np.ones((2, 3)), np.ones((4, 2)), np.ones((3, 2)), np.ones((3, 2))),
         "Wq must have one row per feature"),
        (lambda: self_attention_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 1)), np.ones((3, 2))),
         "same shape"),
        (lambda: self_attention_backward(np.ones((3, 2)), self_attention_forward(
            np.ones((2, 3)), np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2)))[1]), "dout must have the shape"),
        (lambda: sinusoidal_positional_encoding(0, 4), "n_positions"),
        (lambda: causal_mask(0), "n must"),
    ],
)
def test_bad_arguments_say_what_was_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()
