"""Training a small network with NumPy, for 07_sgd's experiments: the network, its loss and
gradients, and update rules that hold one state per weight array.

The network is 07_sgd's MNIST classifier, `sizes = [784, 256, 10]`: dense layers with ReLU hidden
units and a softmax output, the mean negative log-likelihood (log-loss) J of integer labels.
`params` is a list of (W, b), W (D_l, M_l) and b (M_l,), as in nn273.backprop; `init_mlp` draws
them as torch.nn.Linear does, uniform in +-1/sqrt(D_l).

An update rule is a callable `rule(params, grads, lr) -> params` that keeps, between calls, one
state per weight array: `StepRule(step)` wraps a step written as
`step(w, dw, state, lr) -> (w, state)` (state None at the first call), `TorchRule(optimizer)` one
of torch.optim's optimizers (in float64) for the variants the notebook does not write itself.

    >>> params = init_mlp([4, 3, 2], seed=0)
    >>> J, grads = loss_and_grads(params, np.ones((5, 4)), np.array([0, 1, 1, 0, 1]))
    >>> [g.shape for pair in grads for g in pair]
    [(4, 3), (3,), (3, 2), (2,)]

Nothing here implements a graded function of 07_sgd: the notebook's own steps and minibatches are
passed in.
"""

import numpy as np
import torch

from .validation import as_array, check_int

__all__ = ["StepRule", "TorchRule", "init_mlp", "log_loss", "loss_and_grads"]


def init_mlp(sizes, seed=0):
    """[(W, b), ...] for layer sizes [D, M_1, ..., K]: uniform in +-1/sqrt(fan-in), as torch."""
    sizes = [check_int(s, "a layer size", 1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(
            f"sizes must list the inputs and the outputs at least, [D, K]; got {sizes}"
        )
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(
            (rng.uniform(-bound, bound, (fan_in, fan_out)), rng.uniform(-bound, bound, fan_out))
        )
    return params


def _mm(A, B):
    """A @ B by torch: its thread setting holds (the notebooks use one thread), where NumPy's BLAS
    would start a thread per core and, on a busy machine, wait for them ten times longer."""
    return (torch.from_numpy(A) @ torch.from_numpy(B)).numpy()


def _forward(params, X):
    hidden = []
    A = X
    for W, b in params[:-1]:
        A = np.maximum(_mm(A, W) + b, 0.0)
        hidden.append(A)
    W, b = params[-1]
    R = _mm(A, W) + b
    R = R - R.max(axis=1, keepdims=True)
    log_p = R - np.log(np.exp(R).sum(axis=1, keepdims=True))
    return hidden, log_p


def log_loss(params, X, y):
    """J: the mean negative log-probability of the labels y (N,) for inputs X (N, D)."""
    _, log_p = _forward(
        [(np.asarray(W, dtype=float), np.asarray(b, dtype=float)) for W, b in params],
        np.ascontiguousarray(X, dtype=float),
    )
    y = np.asarray(y)
    return float(-log_p[np.arange(len(y)), y].mean())


def loss_and_grads(params, X, y):
    """(J, grads): the log-loss on X (N, D), y (N,) and its gradients, a list of (dW, db) like params."""
    X = np.ascontiguousarray(as_array(X, "X", ndim=2))
    y = np.asarray(y)
    params = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float)) for W, b in params]
    hidden, log_p = _forward(params, X)
    N = len(y)
    J = float(-log_p[np.arange(N), y].mean())
    dR = np.exp(log_p)
    dR[np.arange(N), y] -= 1.0
    dR /= N
    grads = []
    inputs = [X, *hidden]
    for layer in reversed(range(len(params))):
        W, _ = params[layer]
        A = inputs[layer]
        grads.append((_mm(A.T, dR), dR.sum(axis=0)))
        if layer:
            dR = _mm(dR, W.T) * (A > 0)
    return J, grads[::-1]


class StepRule:
    """An update rule from a step `step(w, dw, state, lr) -> (w, state)` applied to every array of
    params with a state of its own (None before its first step)."""

    def __init__(self, step):
        if not callable(step):
            raise TypeError(
                f"step must be a function step(w, dw, state, lr) -> (w, state); got {type(step).__name__}"
            )
        self.step = step
        self.states = {}

    def __call__(self, params, grads, lr):
        new = []
        for i, ((W, b), (dW, db)) in enumerate(zip(params, grads)):
            W, self.states[2 * i] = self.step(W, dW, self.states.get(2 * i), lr)
            b, self.states[2 * i + 1] = self.step(b, db, self.states.get(2 * i + 1), lr)
            new.append((np.asarray(W, dtype=float), np.asarray(b, dtype=float)))
        return new


class TorchRule:
    """An update rule by a torch.optim optimizer (in float64), e.g.
    `TorchRule(torch.optim.RMSprop, alpha=0.99)`; the learning rate is set before every step."""

    def __init__(self, optimizer, **hyper):
        self.optimizer, self.hyper = optimizer, hyper
        self.tensors, self.opt = None, None

    def __call__(self, params, grads, lr):
        arrays = [a for pair in params for a in pair]
        if self.opt is None:
            self.tensors = [
                torch.nn.Parameter(torch.tensor(a, dtype=torch.float64)) for a in arrays
            ]
            self.opt = self.optimizer(self.tensors, lr=lr, **self.hyper)
        with torch.no_grad():
            for t, a, g in zip(self.tensors, arrays, (g for pair in grads for g in pair)):
                t.copy_(torch.from_numpy(np.asarray(a, dtype=float)))
                t.grad = torch.tensor(np.asarray(g, dtype=float))
        self.opt.param_groups[0]["lr"] = lr
        self.opt.step()
        flat = [t.detach().numpy().copy() for t in self.tensors]
        return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]
