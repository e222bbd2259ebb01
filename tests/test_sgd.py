"""nn273.sgd, the reference of 07_sgd: the three steps against torch.optim (SGD, SGD with momentum,
Adam) in float64 over 60 steps with a learning rate that changes every step, for 0-d, 1-d, 2-d and
3-d weights, velocity and Adam's m, v, t compared every step; the lecture's parameter count; every
example exactly once per pass in the minibatches, X and y together; inputs left alone; errors that
say what to fix."""

import copy
import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn273.sgd
from nn273.sgd import (
    adam_step,
    count_deep_parameters,
    iterate_minibatches,
    momentum_step,
    sgd_step,
)

SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
STEPS = 60


def _sequence(shape, seed):
    """A start w, STEPS gradients and STEPS learning rates (log-uniform in [1e-3, 0.3])."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) * 10 ** rng.uniform(-3, 1) for _ in range(STEPS)]
    lrs = 10 ** rng.uniform(-3, np.log10(0.3), STEPS)
    return w0, grads, lrs


def _torch_run(optimizer, w0, grads, lrs, **hyper):
    """The weights (and optimizer state) after each step of torch.optim in float64."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = optimizer([p], lr=float(lrs[0]), **hyper)
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = float(lr)
        p.grad = torch.tensor(g)
        opt.step()
        state = opt.state[p]
        yield (
            p.detach().numpy().copy(),
            {k: v.numpy().copy() if torch.is_tensor(v) else v for k, v in state.items()},
        )


def test_doctests():
    assert doctest.testmod(nn273.sgd, optionflags=doctest.ELLIPSIS).failed == 0


def test_count_deep_parameters_is_the_lecture_count():
    assert count_deep_parameters(10_000, 300, 10, 1000) == 4_110_000
    assert count_deep_parameters(784, 256, 1, 10) == 203_264
    assert count_deep_parameters(3, 5, 1, 2) == 3 * 5 + 5 * 2  # no hidden-to-hidden layer


def test_count_deep_parameters_matches_a_torch_network_without_biases():
    n, H, L, K = 7, 6, 4, 3
    layers = [torch.nn.Linear(n, H, bias=False)]
    layers += [torch.nn.Linear(H, H, bias=False) for _ in range(L - 1)]
    layers += [torch.nn.Linear(H, K, bias=False)]
    assert count_deep_parameters(n, H, L, K) == sum(
        p.numel() for p in torch.nn.Sequential(*layers).parameters()
    )
    assert type(count_deep_parameters(n, H, L, K)) is int


@pytest.mark.parametrize("args", [(0, 3, 1, 2), (3, 3, 0, 2), (3, -1, 1, 2)])
def test_count_deep_parameters_refuses_sizes_below_one(args):
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        count_deep_parameters(*args)


@pytest.mark.parametrize("shape", SHAPES)
def test_sgd_step_equals_torch_sgd(shape):
    w0, grads, lrs = _sequence(shape, 1)
    w = w0
    for g, lr, (expected, _) in zip(grads, lrs, _torch_run(torch.optim.SGD, w0, grads, lrs)):
        before = (w.copy(), g.copy())
        w_new = sgd_step(w, g, lr)
        assert np.array_equal(w, before[0]) and np.array_equal(g, before[1])
        np.testing.assert_allclose(w_new, expected, rtol=1e-12, atol=1e-14)
        w = w_new


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("shape", SHAPES)
def test_momentum_step_equals_torch_sgd_with_momentum(shape, momentum):
    w0, grads, lrs = _sequence(shape, 2)
    w, velocity = w0, np.zeros(shape)
    steps = _torch_run(torch.optim.SGD, w0, grads, lrs, momentum=momentum)
    for g, lr, (expected, state) in zip(grads, lrs, steps):
        before = [a.copy() for a in (w, g, velocity)]
        w_new, v_new = momentum_step(w, g, velocity, lr, momentum)
        assert all(np.array_equal(a, b) for a, b in zip((w, g, velocity), before))
        np.testing.assert_allclose(w_new, expected, rtol=1e-11, atol=1e-13)
        if momentum:
            np.testing.assert_allclose(v_new, state["momentum_buffer"], rtol=1e-12, atol=1e-14)
        w, velocity = w_new, v_new


@pytest.mark.parametrize(
    "hyper",
    [{}, {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3}, {"beta1": 0.0, "beta2": 0.99, "eps": 1e-6}],
)
@pytest.mark.parametrize("shape", SHAPES)
def test_adam_step_equals_torch_adam(shape, hyper):
    w0, grads, lrs = _sequence(shape, 3)
    betas = (hyper.get("beta1", 0.9), hyper.get("beta2", 0.999))
    w, state = w0, {}
    steps = _torch_run(torch.optim.Adam, w0, grads, lrs, betas=betas, eps=hyper.get("eps", 1e-8))
    for g, lr, (expected, torch_state) in zip(grads, lrs, steps):
        before = (w.copy(), g.copy(), copy.deepcopy(state))
        w_new, new_state = adam_step(w, g, state, lr, **hyper)
        assert np.array_equal(w, before[0]) and np.array_equal(g, before[1])
        assert state.keys() == before[2].keys() and all(
            np.array_equal(state[k], before[2][k]) for k in state
        ), "adam_step changed the state it was given"
        assert new_state is not state and set(new_state) == {"m", "v", "t"}
        np.testing.assert_allclose(w_new, expected, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(new_state["m"], torch_state["exp_avg"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            new_state["v"], torch_state["exp_avg_sq"], rtol=1e-12, atol=1e-18
        )
        assert new_state["t"] == int(torch_state["step"])
        w, state = w_new, new_state


def test_adam_first_step_moves_every_weight_by_about_lr():
    w, state = adam_step(np.zeros(4), np.array([1e-4, -3.0, 50.0, 1.0]), {}, lr=0.1)
    np.testing.assert_allclose(w, [-0.1, 0.1, -0.1, -0.1], rtol=1e-3)
    assert state["t"] == 1


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=6),
    st.floats(0, 10),
)
def test_sgd_step_is_elementwise(values, lr):
    w = np.array(values)
    dw = np.cos(np.arange(len(values)))
    np.testing.assert_array_equal(sgd_step(w, dw, lr), [v - lr * d for v, d in zip(values, dw)])


def _pass(X, y, batch_size, rng=None):
    return [(np.asarray(a), np.asarray(b)) for a, b in iterate_minibatches(X, y, batch_size, rng)]


@pytest.mark.parametrize("N, batch_size", [(10, 3), (10, 5), (10, 1), (10, 10), (10, 64), (1, 4)])
@pytest.mark.parametrize("seed", [None, 0, 1])
def test_minibatches_cover_every_example_once_and_keep_the_last(N, batch_size, seed):
    X = np.arange(N * 2).reshape(N, 2) * 1.5
    y = np.arange(N) * 10
    rng = None if seed is None else np.random.default_rng(seed)
    batches = _pass(X, y, batch_size, rng)
    sizes = [len(b) for _, b in batches]
    assert sizes == [batch_size] * (N // batch_size) + ([N % batch_size] if N % batch_size else [])
    order = np.concatenate([b for _, b in batches]) // 10
    assert sorted(order) == list(range(N))
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb, X[yb // 10])  # X and y moved together
    if seed is None:
        assert list(order) == list(range(N))
    else:
        assert list(order) == list(np.random.default_rng(seed).permutation(N))


def test_minibatches_keep_dtypes_and_leave_inputs_alone():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    before = X.copy(), y.copy()
    batches = _pass(X, y, 4, np.random.default_rng(5))
    assert batches[0][1].dtype == y.dtype and batches[0][0].dtype == X.dtype
    assert np.array_equal(X, before[0]) and np.array_equal(y, before[1])


def test_minibatches_shuffle_differently_with_another_seed():
    X, y = np.zeros((30, 1)), np.arange(30)
    first = [tuple(b) for _, b in _pass(X, y, 6, np.random.default_rng(1))]
    again = [tuple(b) for _, b in _pass(X, y, 6, np.random.default_rng(1))]
    other = [tuple(b) for _, b in _pass(X, y, 6, np.random.default_rng(2))]
    assert first == again and first != other


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: iterate_minibatches(np.zeros((3, 2)), np.zeros(4), 2),
            ValueError,
            "same number of rows",
        ),
        (lambda: iterate_minibatches(np.zeros((3, 2)), np.zeros(3), 0), ValueError, "batch_size"),
        (
            lambda: iterate_minibatches(np.zeros((3, 2)), np.zeros(3), 2, rng=3),
            TypeError,
            "Generator",
        ),
        (lambda: sgd_step(np.zeros(3), np.zeros(2), 0.1), ValueError, "shape of w"),
        (lambda: sgd_step(np.zeros(3), np.zeros(3), -0.1), ValueError, "lr must be"),
        (
            lambda: momentum_step(np.zeros(3), np.zeros(3), np.zeros(2), 0.1, 0.9),
            ValueError,
            "velocity",
        ),
        (
            lambda: adam_step(np.zeros(3), np.zeros(3), {"m": np.zeros(3)}, 0.1),
            ValueError,
            "lacks t, v",
        ),
        (lambda: adam_step(np.zeros(3), np.zeros(3), None, 0.1), TypeError, "state must be a dict"),
        (
            lambda: adam_step(np.zeros(3), np.zeros(3), {}, 0.1, beta1=1.0),
            ValueError,
            r"beta1 .* \[0, 1\)",
        ),
    ],
)
def test_bad_arguments_say_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()
