"""nn273.regularization, the reference of 08_regularization: dropout's masks (keep rate and scale at
many standard errors on large arrays, p = 0 and p near 1), evaluation as the identity, the gradient
only through kept units; batch normalization against torch.nn.BatchNorm1d in float64 over several
training steps and then evaluation (outputs, running statistics, autograd gradients), central
differences in training and evaluation, a batch of 2, eps on a constant feature; inputs left alone
but the running statistics; errors that say what to fix."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn273.regularization
from nn273.gradcheck import check_layer
from nn273.regularization import (
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
)


# ------------------------------------------------------------------------------------ dropout
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.99])
def test_dropout_keeps_one_minus_p_and_scales_by_its_inverse(p):
    x = np.full((400, 500), 3.0)
    out, mask = dropout_forward(x, p, True, np.random.default_rng(1))
    kept = mask != 0
    n, q = kept.size, 1 - p
    assert abs(kept.mean() - q) < 8 * np.sqrt(q * p / n)  # 8 standard errors: never flakes
    np.testing.assert_allclose(mask[kept], 1 / q, rtol=1e-15)
    np.testing.assert_array_equal(out, x * mask)
    assert abs(out.mean() - 3.0) < 8 * 3.0 * np.sqrt(p / q / n)  # inverted: the same expectation


def test_dropout_with_p_zero_is_the_identity_in_training():
    x = np.random.default_rng(2).standard_normal((5, 7))
    out, mask = dropout_forward(x, 0.0, True, np.random.default_rng(3))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))


def test_dropout_in_evaluation_is_the_identity_and_draws_nothing():
    x = np.random.default_rng(2).standard_normal((3, 4, 2))
    rng = np.random.default_rng(4)
    state = rng.bit_generator.state
    out, mask = dropout_forward(x, 0.7, False, rng)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    assert rng.bit_generator.state == state
    assert dropout_forward(x, 0.7, False, None)[0] is not x


def test_dropout_gradient_flows_only_through_kept_units():
    x = np.random.default_rng(5).standard_normal((6, 8))
    out, mask = dropout_forward(x, 0.4, True, np.random.default_rng(6))
    dout = np.random.default_rng(7).standard_normal(x.shape)
    dx = dropout_backward(dout, mask)
    np.testing.assert_array_equal(dx[mask == 0], 0.0)
    np.testing.assert_allclose(dx[mask != 0], dout[mask != 0] / 0.6, rtol=1e-15)
    assert (
        check_layer(
            lambda x: dropout_forward(x, 0.4, True, np.random.default_rng(6)), dropout_backward, [x]
        )
        < 1e-7
    )


def test_dropout_mask_is_torchs_in_distribution():
    """torch.nn.Dropout keeps 1 - p and scales by 1/(1 - p): the same two values, the same rate."""
    torch.manual_seed(0)
    y = torch.nn.Dropout(0.3)(torch.ones(200_000, dtype=torch.float64)).numpy()
    _, mask = dropout_forward(np.ones(200_000), 0.3, True, np.random.default_rng(0))
    assert set(np.unique(y)) == set(np.unique(mask))
    assert abs((y != 0).mean() - (mask != 0).mean()) < 8 * np.sqrt(2 * 0.21 / 200_000)


@pytest.mark.parametrize(
    "p, error", [(1.0, ValueError), (-0.1, ValueError), (1.5, ValueError), ("0.5", TypeError)]
)
def test_dropout_bad_p(p, error):
    with pytest.raises(error, match="p"):
        dropout_forward(np.ones(3), p, True, np.random.default_rng(0))


def test_dropout_bad_train_rng_and_dout():
    with pytest.raises(TypeError, match="train must be True"):
        dropout_forward(np.ones(3), 0.5, 1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        dropout_forward(np.ones(3), 0.5, True, 0)
    with pytest.raises(ValueError, match=r"dout must have the shape"):
        dropout_backward(np.ones((2, 3)), np.ones((3, 2)))


# -------------------------------------------------------------------------------- batch norm
def _torch_bn(D, momentum=0.1, eps=1e-5, gamma=None, beta=None):
    bn = torch.nn.BatchNorm1d(D, momentum=momentum, eps=eps).double()
    with torch.no_grad():
        if gamma is not None:
            bn.weight.copy_(torch.tensor(gamma))
            bn.bias.copy_(torch.tensor(beta))
    return bn


@pytest.mark.parametrize(
    "N, D, momentum, eps",
    [(2, 3, 0.1, 1e-5), (8, 4, 0.3, 1e-3), (5, 1, 1.0, 1e-5), (16, 6, 0.0, 0.1)],
)
def test_batchnorm_matches_torch_over_training_steps_then_evaluation(N, D, momentum, eps):
    rng = np.random.default_rng(N * 10 + D)
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    bn = _torch_bn(D, momentum, eps, gamma, beta)
    running = {"mean": np.zeros(D), "var": np.ones(D)}
    for step in range(6):
        x = rng.standard_normal((N, D)) * 3 + 2
        bn.train()
        xt = torch.tensor(x, requires_grad=True)
        expected = bn(xt)
        out, cache = batchnorm_forward(x, gamma, beta, running, True, momentum=momentum, eps=eps)
        np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(running["mean"], bn.running_mean.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(running["var"], bn.running_var.numpy(), rtol=1e-12, atol=1e-12)
        dout = rng.standard_normal((N, D))
        bn.zero_grad()
        expected.backward(torch.tensor(dout))
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(dgamma, bn.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dbeta, bn.bias.grad.numpy(), rtol=1e-10, atol=1e-10)
    bn.eval()
    for M in (1, N + 3):
        x = rng.standard_normal((M, D))
        xt = torch.tensor(x, requires_grad=True)
        expected = bn(xt)
        out, cache = batchnorm_forward(x, gamma, beta, running, False, momentum=momentum, eps=eps)
        np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
        dout = rng.standard_normal((M, D))
        bn.zero_grad()
        expected.backward(torch.tensor(dout))
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dgamma, bn.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        running["var"], bn.running_var.numpy(), rtol=1e-12
    )  # evaluation locks them


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("N, D", [(2, 3), (5, 4), (7, 1)])
def test_batchnorm_backward_matches_central_differences(N, D, train):
    rng = np.random.default_rng(N + D + train)
    running = {"mean": rng.standard_normal(D), "var": rng.random(D) + 0.5}

    def forward(x, gamma, beta):
        return batchnorm_forward(x, gamma, beta, dict(running), train)

    args = [rng.standard_normal((N, D)) * 2, rng.standard_normal(D), rng.standard_normal(D)]
    # raises where |analytic - numerical| > 1e-8 + 1e-6 (|analytic| + |numerical|); with N = 2 the
    # gradient dx is of the order of eps, whose relative error alone may exceed 1e-6
    check_layer(forward, batchnorm_backward, args, rng=rng)


def test_eps_keeps_a_constant_feature_finite():
    x = np.array([[1.0, 4.0], [2.0, 4.0], [3.0, 4.0]])  # the second feature is constant
    running = {"mean": np.zeros(2), "var": np.ones(2)}
    out, cache = batchnorm_forward(
        x, np.array([1.0, 2.0]), np.array([0.0, 0.5]), running, True, eps=1e-3
    )
    np.testing.assert_array_equal(out[:, 1], 0.5)  # xhat = 0 / sqrt(0 + eps): beta alone
    np.testing.assert_allclose(out[:, 0], np.array([-1, 0, 1]) / np.sqrt(2 / 3 + 1e-3))
    dx, dgamma, dbeta = batchnorm_backward(np.ones((3, 2)) * [[1], [2], [3]], cache)
    assert np.all(np.isfinite(dx))
    np.testing.assert_allclose(dx[:, 1], 2 / np.sqrt(1e-3) * (np.array([1, 2, 3]) - 2))
    np.testing.assert_allclose(running["var"], [0.9 + 0.1, 0.9])


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(2, 6),
    D=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    scale=st.sampled_from([1e-2, 1.0, 100.0]),
)
def test_batchnorm_is_torchs_for_any_shapes(N, D, seed, scale):
    rng = np.random.default_rng(seed)
    x, gamma, beta = (
        rng.standard_normal((N, D)) * scale,
        rng.standard_normal(D),
        rng.standard_normal(D),
    )
    running = {"mean": rng.standard_normal(D), "var": rng.random(D) + 0.1}
    bn = _torch_bn(D, gamma=gamma, beta=beta)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor(running["mean"]))
        bn.running_var.copy_(torch.tensor(running["var"]))
    xt = torch.tensor(x, requires_grad=True)
    y = bn(xt)
    out, cache = batchnorm_forward(x, gamma, beta, running, True)
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(running["var"], bn.running_var.numpy(), rtol=1e-12)
    dout = rng.standard_normal((N, D))
    y.backward(torch.tensor(dout))
    dx = batchnorm_backward(dout, cache)[0]
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-6, atol=1e-7 / scale)


def test_only_the_running_statistics_change_and_the_callers_dict_sees_them():
    rng = np.random.default_rng(9)
    x, gamma, beta = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    copies = [a.copy() for a in (x, gamma, beta)]
    running = {"mean": np.zeros(3), "var": np.ones(3)}
    mean_before = running["mean"]
    out, cache = batchnorm_forward(x, gamma, beta, running, True)
    for a, c in zip((x, gamma, beta), copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(
        mean_before, 0.0
    )  # the old array is left alone; the dict holds new ones
    np.testing.assert_allclose(running["mean"], 0.1 * x.mean(axis=0))
    frozen = {k: v.copy() for k, v in running.items()}
    batchnorm_forward(x, gamma, beta, running, False)
    for k in frozen:
        np.testing.assert_array_equal(running[k], frozen[k])
    dout = rng.standard_normal((4, 3))
    dout_copy = dout.copy()
    batchnorm_backward(dout, cache)
    np.testing.assert_array_equal(dout, dout_copy)


def test_lists_and_integers_are_accepted():
    running = {"mean": [0, 0], "var": [1, 1]}
    out, _ = batchnorm_forward([[1, 2], [3, 6]], [1, 1], [0, 0], running, True)
    assert out.dtype == np.float64 and running["mean"].dtype == np.float64


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"x": np.zeros(3)}, ValueError, "x must be 2-D"),
        ({"gamma": np.ones(2)}, ValueError, r"gamma must have shape \(3,\)"),
        ({"beta": np.ones((3, 1))}, ValueError, r"beta must have shape \(3,\)"),
        (
            {"running": {"mean": np.zeros(3)}},
            ValueError,
            'running must be a dict with "mean" and "var"',
        ),
        (
            {"running": {"mean": np.zeros(2), "var": np.ones(3)}},
            ValueError,
            r'running\["mean"\] must have shape',
        ),
        ({"train": "yes"}, TypeError, "train must be True"),
        ({"momentum": 1.5}, ValueError, "momentum"),
        ({"eps": 0.0}, ValueError, "eps must be > 0"),
        ({"x": np.zeros((1, 3))}, ValueError, "at least 2 examples"),
    ],
)
def test_batchnorm_bad_arguments_say_what_was_expected(change, error, match):
    args = {
        "x": np.zeros((4, 3)),
        "gamma": np.ones(3),
        "beta": np.zeros(3),
        "running": {"mean": np.zeros(3), "var": np.ones(3)},
        "train": True,
    }
    args.update(change)
    with pytest.raises(error, match=match):
        batchnorm_forward(**args)


def test_batchnorm_bad_dout():
    _, cache = batchnorm_forward(
        np.eye(3), np.ones(3), np.zeros(3), {"mean": np.zeros(3), "var": np.ones(3)}, True
    )
    with pytest.raises(
        ValueError, match=r"dout must have the shape of the layer's output \(N, D\) = \(3, 3\)"
    ):
        batchnorm_backward(np.zeros((3, 2)), cache)


def test_docstring_example_runs():
    result = doctest.testmod(nn273.regularization, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0
