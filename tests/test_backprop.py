"""nn273.backprop: every backward against central differences and against torch autograd, the hand-written
backward pass of the MLP equal to autograd's to 1e-10 for every activation and (output, loss) pair,
stability at large logits, agreement with 01_linear and 02_mlp, and errors that say what to fix."""

import itertools
import zlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nn273 import backprop
from nn273.backprop import (
    ALLOWED,
    HIDDEN,
    linear_backward,
    linear_forward,
    mlp_loss_and_grads,
    mse_loss,
    torch_loss_and_grads,
)
from nn273.gradcheck import check_gradient, check_layer, numerical_gradient
from nn273.linear import logistic_nll, logistic_nll_grad, softmax_nll
from nn273.mlp import mlp_forward

TORCH_HIDDEN = {
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "gaussian": lambda r: torch.exp(-(r**2) / 2),
    "relu": torch.relu,
    "linear": lambda r: r,
}


def _network(rng, sizes, N, output, loss, scale=1.0):
    X = rng.standard_normal((N, sizes[0]))
    params = [
        (rng.standard_normal((a, b)) / np.sqrt(a) * 1.5, 0.5 * rng.standard_normal(b))
        for a, b in itertools.pairwise(sizes)
    ]
    params[-1] = (params[-1][0] * scale, params[-1][1] * scale)
    K = sizes[-1]
    if (output, loss) == ("softmax", "nll"):
        Y = rng.integers(0, K, N)
    elif loss == "nll":
        Y = rng.integers(0, 2, (N, K)).astype(float)
    else:
        Y = rng.standard_normal((N, K)) if output == "linear" else rng.random((N, K))
    return X, Y, params


def _flat(grads):
    return [g for pair in grads for g in pair]


# ------------------------------------------------------------------------------ dense layer
@pytest.mark.parametrize("N, D, M", [(1, 1, 1), (1, 3, 2), (4, 3, 3), (5, 2, 4)])
def test_linear_layer_against_central_differences(N, D, M):
    rng = np.random.default_rng(N * 100 + D * 10 + M)
    X, W, b = rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
    out, _ = linear_forward(X, W, b)
    assert np.allclose(out, X @ W + b)
    assert (
        check_layer(linear_forward, linear_backward, [X, W, b], names=["X", "W", "b"], rng=rng)
        < 1e-7
    )


@pytest.mark.parametrize("N, D, M", [(1, 2, 2), (4, 3, 3), (6, 2, 5)])
def test_linear_layer_against_torch(N, D, M):
    rng = np.random.default_rng(N + D + M)
    X, W, b, dout = (
        rng.standard_normal((N, D)),
        rng.standard_normal((D, M)),
        rng.standard_normal(M),
        rng.standard_normal((N, M)),
    )
    leaves = [torch.tensor(v, requires_grad=True) for v in (X, W, b)]
    out_t = leaves[0] @ leaves[1] + leaves[2]
    out_t.backward(torch.tensor(dout))
    out, cache = linear_forward(X, W, b)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12)
    for mine, theirs in zip(linear_backward(dout, cache), leaves):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_linear_backward_is_the_transpose_of_forward(N, D, M, seed):
    # <dout, dX @ W> = <dX, dout @ W.T>: the backward of X -> X @ W is the adjoint map
    rng = np.random.default_rng(seed)
    X, W, b, dout = (
        rng.standard_normal((N, D)),
        rng.standard_normal((D, M)),
        rng.standard_normal(M),
        rng.standard_normal((N, M)),
    )
    dX, dW, db = linear_backward(dout, linear_forward(X, W, b)[1])
    V = rng.standard_normal((N, D))
    assert np.isclose(np.sum(dout * (V @ W)), np.sum(dX * V))
    assert dW.shape == W.shape and db.shape == b.shape
    assert np.allclose(db, dout.sum(axis=0))


def test_linear_forward_leaves_its_inputs_alone():
    X, W, b = np.ones((2, 3)), np.ones((3, 2)), np.zeros(2)
    _, cache = linear_forward(X, W, b)
    linear_backward(np.ones((2, 2)), cache)
    assert (
        np.array_equal(X, np.ones((2, 3)))
        and np.array_equal(W, np.ones((3, 2)))
        and np.array_equal(b, np.zeros(2))
    )


# ------------------------------------------------------------------------------------ losses
@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)), elements=st.floats(-10, 10)
    ),
    st.data(),
)
def test_mse_loss_is_mean_over_examples_of_sum_over_outputs(F, data):
    Y = data.draw(arrays(np.float64, F.shape, elements=st.floats(-10, 10)))
    J, dF = mse_loss(F, Y)
    assert isinstance(J, float)
    assert np.isclose(J, sum(np.sum((Y[i] - F[i]) ** 2) for i in range(len(F))) / len(F))
    assert np.allclose(dF, 2 * (F - Y) / len(F))


@pytest.mark.parametrize("N, K", [(1, 1), (3, 2), (4, 4)])
def test_mse_loss_gradient(N, K):
    rng = np.random.default_rng(N * K)
    F, Y = rng.standard_normal((N, K)), rng.standard_normal((N, K))
    check_gradient(lambda F_: mse_loss(F_, Y)[0], [F], [mse_loss(F, Y)[1]], names=["F"])
    F_t = torch.tensor(F, requires_grad=True)
    J_t = ((torch.tensor(Y) - F_t) ** 2).sum(dim=1).mean()
    J_t.backward()
    assert np.isclose(mse_loss(F, Y)[0], J_t.item(), rtol=1e-14)
    np.testing.assert_allclose(mse_loss(F, Y)[1], F_t.grad.numpy(), rtol=1e-13)


# ------------------------------------------------------------------------------ whole network
CASES = [
    (hidden, output, loss, depth)
    for hidden in HIDDEN
    for output, loss in ALLOWED
    for depth in (0, 1, 2, 3)
]


@pytest.mark.parametrize("hidden, output, loss, depth", CASES)
def test_hand_written_backprop_equals_autograd(hidden, output, loss, depth):
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {output} {loss} {depth}".encode()))
    K = int(rng.integers(2, 4)) if output == "softmax" else int(rng.integers(1, 4))
    sizes = [int(rng.integers(1, 4))] + [int(rng.integers(1, 5)) for _ in range(depth)] + [K]
    X, Y, params = _network(rng, sizes, int(rng.integers(1, 6)), output, loss)
    J, grads = mlp_loss_and_grads(X, Y, params, hidden, output, loss)
    J_t, grads_t = torch_loss_and_grads(X, Y, params, hidden, output, loss)
    assert isinstance(J, float) and isinstance(J_t, float)
    assert abs(J - J_t) <= 1e-10 * max(1.0, abs(J_t))
    assert len(grads) == len(grads_t) == len(params)
    for (dW, db), (dW_t, db_t), (W, b) in zip(grads, grads_t, params):
        assert dW.shape == dW_t.shape == W.shape and db.shape == db_t.shape == b.shape
        assert isinstance(dW_t, np.ndarray) and dW_t.dtype == np.float64
        np.testing.assert_allclose(dW, dW_t, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db, db_t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("hidden", [h for h in HIDDEN if h != "relu"])  # relu: a kink at 0
@pytest.mark.parametrize("output, loss", ALLOWED)
def test_backprop_against_central_differences(hidden, output, loss):
    rng = np.random.default_rng(7)
    X, Y, params = _network(rng, [3, 4, 3, 3], 4, output, loss)
    _, grads = mlp_loss_and_grads(X, Y, params, hidden, output, loss)
    flat = [v for pair in params for v in pair]

    def J_of(*values):
        pairs = list(zip(values[0::2], values[1::2]))
        return mlp_loss_and_grads(X, Y, pairs, hidden, output, loss)[0]

    check_gradient(J_of, flat, _flat(grads), rtol=1e-6)


def test_relu_backprop_against_central_differences_away_from_the_kink():
    rng = np.random.default_rng(11)
    X, Y, params = _network(rng, [2, 5, 3], 6, "linear", "mse")
    R = X @ params[0][0] + params[0][1]
    assert np.min(np.abs(R)) > 1e-3
    _, grads = mlp_loss_and_grads(X, Y, params, "relu", "linear", "mse")
    W0 = params[0][0]
    dW0 = numerical_gradient(
        lambda W: mlp_loss_and_grads(X, Y, [(W, params[0][1]), params[1]], "relu", "linear", "mse")[
            0
        ],
        W0,
    )
    np.testing.assert_allclose(grads[0][0], dW0, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "output, loss",
    [("logistic", "nll"), ("softmax", "nll"), ("logistic", "mse"), ("softmax", "mse")],
)
def test_stable_at_large_logits(output, loss):
    rng = np.random.default_rng(3)
    X, Y, params = _network(rng, [2, 3, 3], 5, output, loss, scale=1e4)
    with np.errstate(
        over="raise", divide="raise", invalid="raise"
    ):  # underflow to 0 is exact enough
        J, grads = mlp_loss_and_grads(X, Y, params, "tanh", output, loss)
    J_t, grads_t = torch_loss_and_grads(X, Y, params, "tanh", output, loss)
    assert np.isfinite(J) and abs(J - J_t) <= 1e-10 * max(1.0, abs(J_t))
    for mine, theirs in zip(_flat(grads), _flat(grads_t)):
        assert np.all(np.isfinite(mine))
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_one_layer_networks_are_01s_regressions():
    rng = np.random.default_rng(5)
    X, W, b = rng.standard_normal((6, 2)), rng.standard_normal((2, 1)), rng.standard_normal(1)
    y = rng.integers(0, 2, 6)
    J, [(dW, db)] = mlp_loss_and_grads(X, y[:, None], [(W, b)], "tanh", "logistic", "nll")
    theta = np.concatenate([b, W[:, 0]])
    assert np.isclose(J, logistic_nll(X, y, theta))
    assert np.allclose(np.concatenate([db, dW[:, 0]]), logistic_nll_grad(X, y, theta))
    W3, b3, y3 = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.integers(0, 3, 6)
    J, _ = mlp_loss_and_grads(X, y3, [(W3, b3)], "tanh", "softmax", "nll")
    assert np.isclose(J, softmax_nll(X @ W3 + b3, y3))


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["linear", "logistic", "softmax"])
def test_mse_forward_pass_is_02s_mlp_forward(hidden, output):
    rng = np.random.default_rng(9)
    X, Y, params = _network(rng, [2, 4, 3, 3], 5, output, "mse")
    F, _ = mlp_forward(X, params, hidden, output)
    J, _ = mlp_loss_and_grads(X, Y, params, hidden, output, "mse")
    assert np.isclose(J, np.sum((Y - F) ** 2) / len(X))


@pytest.mark.parametrize("fn", [mlp_loss_and_grads, torch_loss_and_grads])
def test_inputs_left_alone(fn):
    rng = np.random.default_rng(1)
    X, Y, params = _network(rng, [2, 3, 3], 4, "softmax", "nll")
    copies = [X.copy(), Y.copy()] + [v.copy() for pair in params for v in pair]
    fn(X, Y, params, "relu", "softmax", "nll")
    for before, after in zip(copies, [X, Y] + [v for pair in params for v in pair]):
        assert np.array_equal(before, after)


def test_accepts_integer_and_float_labels_and_tuple_params():
    rng = np.random.default_rng(2)
    X, y, params = _network(rng, [2, 3, 3], 4, "softmax", "nll")
    J_int, _ = mlp_loss_and_grads(X, y, params, "tanh", "softmax", "nll")
    J_float, _ = mlp_loss_and_grads(X, y.astype(float), tuple(params), "tanh", "softmax", "nll")
    assert J_int == J_float


# ------------------------------------------------------------------------------------ errors
def _small():
    rng = np.random.default_rng(0)
    return _network(rng, [2, 3, 1], 4, "linear", "mse")


@pytest.mark.parametrize("fn", [mlp_loss_and_grads, torch_loss_and_grads])
@pytest.mark.parametrize(
    "change, message",
    [
        ({"loss": "nll"}, "needs an output that gives probabilities"),
        ({"hidden": "sigmoid"}, "hidden must be one of"),
        ({"output": "relu"}, "output must be one of"),
        ({"loss": "cross_entropy"}, "loss must be one of"),
        ({"Y": np.zeros(4)}, r"Y.reshape\(-1, 1\)"),
        ({"Y": np.zeros((3, 1))}, r"\(N, K\) = \(4, 1\)"),
        ({"params": []}, "non-empty list"),
        ({"params": [(np.ones((3, 3)), np.ones(3))]}, "since its input has 2 columns"),
        ({"params": [(np.ones((2, 3)), np.ones(2))]}, "b \\(M,\\)"),
        ({"params": [np.ones((2, 1))]}, r"must be a pair \(W, b\)"),
        ({"X": np.ones(4)}, "X must be 2-D"),
    ],
)
def test_bad_arguments_raise_value_error(fn, change, message):
    X, Y, params = _small()
    args = {"X": X, "Y": Y, "params": params, "hidden": "tanh", "output": "linear", "loss": "mse"}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        fn(**args)


@pytest.mark.parametrize(
    "Y, message",
    [
        (np.zeros((4, 3)), "integer class labels"),
        (np.array([0, 1, 2, 3]), r"labels in 0\.\.2"),
        (np.array([0.5, 1, 2, 0]), "integer class labels"),
    ],
)
def test_softmax_nll_labels_are_checked(Y, message):
    rng = np.random.default_rng(0)
    X, _, params = _network(rng, [2, 3, 3], 4, "softmax", "nll")
    with pytest.raises(ValueError, match=message):
        mlp_loss_and_grads(X, Y, params, "tanh", "softmax", "nll")


def test_logistic_nll_targets_are_zeros_and_ones():
    rng = np.random.default_rng(0)
    X, _, params = _network(rng, [2, 3, 1], 4, "logistic", "nll")
    with pytest.raises(ValueError, match="0s and 1s"):
        mlp_loss_and_grads(X, np.full((4, 1), 0.5), params, "tanh", "logistic", "nll")


def test_layer_and_loss_errors():
    with pytest.raises(ValueError, match=r"W must be \(D, M\) = \(3, M\)"):
        linear_forward(np.ones((2, 3)), np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match=r"b must have shape \(M,\) = \(2,\)"):
        linear_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(3))
    _, cache = linear_forward(np.ones((2, 3)), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"\(N, M\) = \(2, 2\)"):
        linear_backward(np.ones((2, 3)), cache)
    with pytest.raises(ValueError, match="same shape"):
        mse_loss(np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="Y must be 2-D"):
        mse_loss(np.ones((3, 1)), np.ones(3))


@pytest.mark.parametrize("fn", [mlp_loss_and_grads, torch_loss_and_grads])
def test_network_functions_take_the_contracts_six_arguments(fn):
    # CURRICULUM.md: fn(X, Y, params, hidden, output, loss), no defaults, as the notebook's stubs
    X, Y, params = _small()
    with pytest.raises(TypeError):
        fn(X, Y, params)
    J, grads = fn(X, Y, params, "tanh", "linear", "mse")
    assert len(grads) == len(params)


def test_module_docstring_example_runs():
    X = np.array([[0.5, -1.0]])
    Y = np.array([[1.0]])
    params = [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    _, grads = mlp_loss_and_grads(X, Y, params, "tanh", "linear", "mse")
    assert [dW.shape for dW, db in grads] == [(2, 3), (3, 1)]
    assert backprop.numerical_gradient is numerical_gradient
