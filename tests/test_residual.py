"""nn273.residual, the reference of 05_residual: the block against torch in float64 (values and
autograd) and central differences, for square and rectangular hidden widths, a batch of one and
hidden responses exactly at 0; the zero block as the identity; the torch ResidualBlock computing
the same formula in torch's (out, in) layout; inputs left alone; errors that say what to fix."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn273.residual
from nn273.gradcheck import check_layer
from nn273.residual import ResidualBlock, residual_backward, residual_forward

# (N, D, H)
CASES = [(1, 3, 3), (5, 4, 4), (6, 3, 7), (4, 6, 2), (1, 1, 5)]


def _block(N, D, H, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((N, D)),
        rng.standard_normal((D, H)),
        rng.standard_normal(H),
        rng.standard_normal((H, D)),
        rng.standard_normal(D),
    ), rng


def _torch_block(args, dout):
    leaves = [torch.tensor(a, requires_grad=True) for a in args]
    X, W1, b1, W2, b2 = leaves
    out = X + torch.relu(X @ W1 + b1) @ W2 + b2
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in leaves]


@pytest.mark.parametrize("N, D, H", CASES)
def test_forward_and_backward_match_torch(N, D, H):
    args, rng = _block(N, D, H, seed=N * 100 + D * 10 + H)
    out, cache = residual_forward(*args)
    dout = rng.standard_normal(out.shape)
    expected, grads = _torch_block(args, dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    for got, want in zip(residual_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N, D, H", CASES)
def test_backward_matches_central_differences(N, D, H):
    args, rng = _block(N, D, H, seed=7 + N + D + H)
    assert check_layer(residual_forward, residual_backward, args, rng=rng) < 1e-6


def test_relu_at_zero_has_gradient_zero_as_torch():
    X = np.array([[1.0, -2.0], [0.5, 0.0]])
    W1 = np.array([[1.0, 2.0, -1.0], [0.5, 1.0, 0.0]])
    b1 = np.array([0.0, 3.0, 1.0])  # R[0] = [0, 3, 0]: two responses exactly at 0
    W2, b2 = np.arange(6.0).reshape(3, 2) - 2, np.array([0.5, -0.5])
    out, cache = residual_forward(X, W1, b1, W2, b2)
    R = cache[-1]
    assert np.sum(R == 0) >= 2
    dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
    expected, grads = _torch_block((X, W1, b1, W2, b2), dout)
    np.testing.assert_array_equal(out, expected)
    for got, want in zip(residual_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


def test_zero_block_is_the_identity_and_passes_the_gradient_unchanged():
    X = np.random.default_rng(0).standard_normal((4, 3))
    out, cache = residual_forward(X, np.zeros((3, 5)), np.zeros(5), np.zeros((5, 3)), np.zeros(3))
    np.testing.assert_array_equal(out, X)
    dout = np.arange(12.0).reshape(4, 3)
    dX, dW1, db1, dW2, db2 = residual_backward(dout, cache)
    np.testing.assert_array_equal(dX, dout)
    assert not dW1.any() and not db1.any() and not dW2.any()
    np.testing.assert_array_equal(db2, dout.sum(axis=0))


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 4),
    D=st.integers(1, 4),
    H=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
)
def test_backward_is_the_gradient_for_any_shapes(N, D, H, seed, scale):
    args, rng = _block(N, D, H, seed)
    args = (args[0] * scale, *args[1:])
    out, cache = residual_forward(*args)
    dout = rng.standard_normal(out.shape)
    expected, grads = _torch_block(args, dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12 * scale)
    for got, want in zip(residual_backward(dout, cache), grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * scale)


def test_inputs_are_left_alone_and_integers_accepted():
    args, rng = _block(3, 2, 4, seed=1)
    copies = [a.copy() for a in args]
    out, cache = residual_forward(*args)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    residual_backward(dout, cache)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(dout, dout_copy)
    ints = [
        np.ones((2, 2), dtype=int),
        np.eye(2, 3, dtype=int),
        np.zeros(3, dtype=int),
        np.ones((3, 2), dtype=int),
        [1, 2],
    ]
    out, _ = residual_forward(*ints)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[4.0, 5.0], [4.0, 5.0]])


@pytest.mark.parametrize(
    "shapes, match",
    [
        (((2, 3), (4, 5), (5,), (5, 3), (3,)), r"W1 must be \(D, H\) with D = 3"),
        (((2, 3), (3, 5), (4,), (5, 3), (3,)), r"b1 must have shape \(5,\)"),
        (((2, 3), (3, 5), (5,), (3, 5), (3,)), r"W2 must have shape \(5, 3\)"),
        (((2, 3), (3, 5), (5,), (5, 3), (5,)), r"b2 must have shape \(3,\)"),
        (((3,), (3, 5), (5,), (5, 3), (3,)), "X must be 2-D"),
    ],
)
def test_bad_shapes_say_what_was_expected(shapes, match):
    with pytest.raises(ValueError, match=match):
        residual_forward(*(np.zeros(s) for s in shapes))


def test_bad_dout_says_what_was_expected():
    _, cache = residual_forward(
        np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4), np.zeros((4, 3)), np.zeros(3)
    )
    with pytest.raises(
        ValueError, match=r"dout must have the shape of the block's output \(N, D\) = \(2, 3\)"
    ):
        residual_backward(np.zeros((2, 4)), cache)


# ------------------------------------------------------------------------------ ResidualBlock
@pytest.mark.parametrize("D, H", [(4, 4), (3, 7), (6, 2)])
def test_residual_block_is_residual_forward_with_torchs_layout(D, H):
    torch.manual_seed(0)
    block = ResidualBlock(D, H).double()
    assert (block.linear1.in_features, block.linear1.out_features) == (D, H)
    assert (block.linear2.in_features, block.linear2.out_features) == (H, D)
    assert [tuple(p.shape) for p in block.parameters()] == [(H, D), (H,), (D, H), (D,)]
    X = np.random.default_rng(D).standard_normal((5, D))
    W1, b1 = block.linear1.weight.detach().numpy().T, block.linear1.bias.detach().numpy()
    W2, b2 = block.linear2.weight.detach().numpy().T, block.linear2.bias.detach().numpy()
    expected, cache = residual_forward(X, W1, b1, W2, b2)
    x = torch.tensor(X, requires_grad=True)
    out = block(x)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    dout = np.random.default_rng(1).standard_normal(expected.shape)
    out.backward(torch.tensor(dout))
    dX, dW1, db1, dW2, db2 = residual_backward(dout, cache)
    np.testing.assert_allclose(x.grad.numpy(), dX, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.linear1.weight.grad.numpy().T, dW1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.linear2.weight.grad.numpy().T, dW2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.linear1.bias.grad.numpy(), db1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(block.linear2.bias.grad.numpy(), db2, rtol=1e-12, atol=1e-12)


def test_residual_block_with_zero_weights_is_the_identity():
    block = ResidualBlock(3, 5)
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
    x = torch.randn(4, 3)
    assert torch.equal(block(x), x)


@pytest.mark.parametrize(
    "args, error", [((0, 3), ValueError), ((3, 1.5), TypeError), ((True, 3), TypeError)]
)
def test_residual_block_bad_sizes(args, error):
    with pytest.raises(error, match="width|hidden"):
        ResidualBlock(*args)


def test_docstring_example_runs():
    result = doctest.testmod(nn273.residual, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0
