"""nn273.training: the MNIST network's loss and gradients against torch's autograd in float64, the
initialization's scale, and the two update rules (a step with a state per array, a torch optimizer)."""

import doctest

import numpy as np
import torch

import nn273.training
from nn273.backprop import torch_loss_and_grads
from nn273.training import StepRule, TorchRule, init_mlp, log_loss, loss_and_grads


def test_doctests():
    assert doctest.testmod(nn273.training).failed == 0


def test_loss_and_gradients_match_autograd():
    rng = np.random.default_rng(0)
    params = init_mlp([6, 5, 4, 3], seed=1)
    X, y = rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    J, grads = loss_and_grads(params, X, y)
    J_torch, grads_torch = torch_loss_and_grads(X, y, params, "relu", "softmax", "nll")
    assert abs(J - J_torch) < 1e-12 and abs(log_loss(params, X, y) - J) < 1e-12
    for pair, pair_torch in zip(grads, grads_torch):
        for g, g_torch in zip(pair, pair_torch):
            np.testing.assert_allclose(g, g_torch, rtol=1e-10, atol=1e-12)


def test_init_is_torchs_scale():
    (W, b), _ = init_mlp([784, 256, 10], seed=0)
    assert W.shape == (784, 256) and np.abs(W).max() <= 1 / 28 and np.abs(b).max() <= 1 / 28


def test_step_rule_keeps_one_state_per_array_and_torch_rule_equals_its_optimizer():
    params = init_mlp([3, 2], seed=0)
    grads = [(np.ones((3, 2)), np.ones(2))]
    seen = []

    def step(w, dw, state, lr):
        seen.append(state)
        return w - lr * dw, (state or 0) + 1

    rule = StepRule(step)
    params_sgd = rule(rule(params, grads, 0.1), grads, 0.1)
    assert seen == [None, None, 1, 1]
    torch_rule = TorchRule(torch.optim.SGD)
    params_torch = torch_rule(torch_rule(params, grads, 0.1), grads, 0.1)
    for (W, b), (Wt, bt) in zip(params_sgd, params_torch):
        np.testing.assert_allclose(W, Wt, rtol=1e-15)
        np.testing.assert_allclose(b, bt, rtol=1e-15)
