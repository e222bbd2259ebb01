"""05_residual: a residual block by hand in NumPy, and the same block in torch.

The reference implementation of every graded function of 05_residual (contract in CURRICULUM.md).
A residual block adds to its input X (N, D) what a small two-layer network F makes of it:

    R = X @ W1 + b1        (N, H)   the hidden layer's linear response
    h = relu(R)            (N, H)
    out = X + h @ W2 + b2  (N, D)   the skip (identity) path plus F(X) = h @ W2 + b2

W1 is (D, H), b1 (H,), W2 (H, D), b2 (D,): H, the block's hidden width, may differ from D, but the
block's output has X's width so that the two can be added. With W1, b1, W2, b2 all zero the block
is the identity. The backward pass adds the identity path's gradient, dout itself, to what comes
back through F; ReLU's derivative is 1[R > 0] (0 at R = 0, as torch's relu).

    >>> X = np.ones((2, 3)); W1, b1, W2, b2 = np.ones((3, 4)), np.zeros(4), np.zeros((4, 3)), np.zeros(3)
    >>> out, cache = residual_forward(X, W1, b1, W2, b2)
    >>> bool(np.all(out == X))
    True
    >>> [g.shape for g in residual_backward(np.ones((2, 3)), cache)]
    [(2, 3), (3, 4), (4,), (4, 3), (3,)]

The cache is (X, W1, b1, W2, b2, R): the block's arguments first, as a solution that recomputes
everything would keep them, then the hidden responses.

`ResidualBlock(width, hidden)` is the same block as a torch module: `linear1 = Linear(width, hidden)`
and `linear2 = Linear(hidden, width)`, `forward(x) = x + linear2(relu(linear1(x)))`. torch keeps a
Linear's weight as (out, in), so `W1 = linear1.weight.T` and `W2 = linear2.weight.T`.
"""

import numpy as np
import torch

from .validation import as_array, check_int

__all__ = ["ResidualBlock", "residual_backward", "residual_forward"]


def residual_forward(X, W1, b1, W2, b2):
    """A residual block: out = X + relu(X @ W1 + b1) @ W2 + b2.

    X: (N, D); W1: (D, H); b1: (H,); W2: (H, D); b2: (D,).
    Returns out: (N, D) and cache = (X, W1, b1, W2, b2, R) for residual_backward, R = X @ W1 + b1 (N, H).
    """
    X, W1, b1, W2, b2 = _block_args(X, W1, b1, W2, b2)
    R = X @ W1 + b1
    out = X + np.maximum(R, 0.0) @ W2 + b2
    return out, (X, W1, b1, W2, b2, R)


def residual_backward(dout, cache):
    """Backward pass of residual_forward.

    dout: (N, D), dJ/dout; cache from residual_forward.
    Returns (dX, dW1, db1, dW2, db2), shaped like X, W1, b1, W2, b2. dX = dout (the identity path)
    + dR @ W1.T (through F), with dR = (dout @ W2.T) * 1[R > 0].
    """
    X, W1, _, W2, _, R = cache
    dout = as_array(dout, "dout", ndim=2)
    if dout.shape != X.shape:
        raise ValueError(
            f"dout must have the shape of the block's output (N, D) = {X.shape}; got {dout.shape}"
        )
    h = np.maximum(R, 0.0)
    dW2 = h.T @ dout
    db2 = dout.sum(axis=0)
    dR = (dout @ W2.T) * (R > 0)
    dW1 = X.T @ dR
    db1 = dR.sum(axis=0)
    dX = dout + dR @ W1.T
    return dX, dW1, db1, dW2, db2


class ResidualBlock(torch.nn.Module):
    """The residual block in torch: forward(x) = x + linear2(relu(linear1(x))).

    width: D, the features of x (N, D) and of the output; hidden: H, the hidden layer's width.
    linear1 = Linear(width, hidden) and linear2 = Linear(hidden, width); in torch's (out, in) layout
    W1 = linear1.weight.T (D, H), b1 = linear1.bias, W2 = linear2.weight.T (H, D), b2 = linear2.bias:
    the block computes residual_forward(x, W1, b1, W2, b2).
    """

    def __init__(self, width, hidden):
        super().__init__()
        width = check_int(
            width, "width", 1, fix="width is D, the number of features of the block's input."
        )
        hidden = check_int(
            hidden, "hidden", 1, fix="hidden is H, the width of the block's hidden layer."
        )
        self.linear1 = torch.nn.Linear(width, hidden)
        self.linear2 = torch.nn.Linear(hidden, width)

    def forward(self, x):
        return x + self.linear2(torch.relu(self.linear1(x)))


def _block_args(X, W1, b1, W2, b2):
    X = as_array(X, "X", ndim=2)
    W1 = as_array(W1, "W1", ndim=2)
    b1 = as_array(b1, "b1", ndim=1)
    W2 = as_array(W2, "W2", ndim=2)
    b2 = as_array(b2, "b2", ndim=1)
    D, H = X.shape[1], W1.shape[1]
    expected = {"W1": (D, H), "b1": (H,), "W2": (H, D), "b2": (D,)}
    got = {"W1": W1.shape, "b1": b1.shape, "W2": W2.shape, "b2": b2.shape}
    if W1.shape[0] != D:
        raise ValueError(
            f"W1 must be (D, H) with D = {D}, X's number of features (X is {X.shape}); got W1 {W1.shape}"
        )
    for name, shape in expected.items():
        if got[name] != shape:
            raise ValueError(
                f"{name} must have shape {shape} for X of shape {X.shape} and W1 of shape {W1.shape} "
                f"(W1 (D, H), b1 (H,), W2 (H, D), b2 (D,)); got {name} {got[name]}"
            )
    return X, W1, b1, W2, b2
