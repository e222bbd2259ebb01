"""03_backprop: backpropagation by hand, checked against numerical gradients and torch autograd.

The reference implementation of every graded function of 03_backprop (contract in CURRICULUM.md).
A network is a chain of dense layers, each a forward/backward pair:

    out, cache = linear_forward(X, W, b)        # out = X @ W + b
    dX, dW, db = linear_backward(dout, cache)   # the message passed back, and the layer's gradients

`mlp_loss_and_grads` runs the forward pass of an MLP (every layer but the last applies `hidden`, the
last applies `output`, as `nn273.mlp.mlp_forward`), the loss, and the backward pass by hand;
`torch_loss_and_grads` computes the same numbers with autograd. The (output, loss) pairs allowed are

    output      loss   targets Y                            J
    linear      mse    (N, K) real                          mean_i sum_k (Y_ik - F_ik)**2
    logistic    mse    (N, K) real, usually 0/1             the same, F = sigmoid(R)
    softmax     mse    (N, K) real, usually one-hot         the same, F = softmax(R)
    logistic    nll    (N, K) of 0s and 1s (K = 1: binary)  mean_i sum_k -log P(Y_ik | x_i)
    softmax     nll    (N,) integer labels in 0..K-1        mean_i -log softmax(R_i)[y_i]

with R the last layer's response (logits) and F the output. `nll` with a `linear` output has no
probabilities to take the log of and raises ValueError. Both NLLs are computed from the logits R
(log-sum-exp, logaddexp), so they stay finite and exact for logits as large as 1e4.

    >>> X = np.array([[0.5, -1.0]]); Y = np.array([[1.0]])
    >>> params = [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    >>> J, grads = mlp_loss_and_grads(X, Y, params, "tanh", "linear", "mse")
    >>> [dW.shape for dW, db in grads]
    [(2, 3), (3, 1)]

`numerical_gradient`, the first exercise, has its reference in `nn273.gradcheck`; it is re-exported here.
"""

import numpy as np
import torch

from .gradcheck import numerical_gradient
from .linear import sigmoid, softmax, softmax_nll, softmax_nll_grad
from .mlp import ACTIVATIONS, OUTPUTS, activation, activation_grad
from .validation import as_array, check_choice

__all__ = [
    "ALLOWED",
    "HIDDEN",
    "LOSSES",
    "OUTPUTS",
    "linear_backward",
    "linear_forward",
    "mlp_loss_and_grads",
    "mse_loss",
    "numerical_gradient",
    "torch_loss_and_grads",
]

HIDDEN = ACTIVATIONS  # every activation of 02's table can be a hidden layer's
LOSSES = ("mse", "nll")
# (output, loss) pairs with a meaning; see the table in the module docstring.
ALLOWED = (
    ("linear", "mse"),
    ("logistic", "mse"),
    ("softmax", "mse"),
    ("logistic", "nll"),
    ("softmax", "nll"),
)


# ------------------------------------------------------------------------------- dense layer
def linear_forward(X, W, b):
    """A dense layer: out = X @ W + b.

    X: (N, D); W: (D, M); b: (M,). Returns out: (N, M) and cache = (X, W, b) for linear_backward.
    """
    X, W, b = _dense_args(X, W, b)
    return X @ W + b, (X, W, b)


def linear_backward(dout, cache):
    """Backward pass of a dense layer.

    dout: (N, M), dJ/dout; cache: (X, W, b) from linear_forward.
    Returns dX = dout @ W.T: (N, D), dW = X.T @ dout: (D, M) and db = dout summed over examples: (M,).
    """
    X, W, _ = cache
    dout = as_array(dout, "dout", ndim=2)
    if dout.shape != (X.shape[0], W.shape[1]):
        raise ValueError(
            f"dout must have the shape of the layer's output (N, M) = ({X.shape[0]}, {W.shape[1]}); "
            f"got {dout.shape}"
        )
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)


# ------------------------------------------------------------------------------------ losses
def mse_loss(F, Y):
    """Squared error summed over outputs, averaged over examples, and its gradient.

    F: (N, K) predictions; Y: (N, K) targets.
    Returns J = mean_i sum_k (Y_ik - F_ik)**2 (a float) and dF = 2 (F - Y) / N: (N, K).
    """
    F = as_array(F, "F", ndim=2)
    Y = as_array(Y, "Y", ndim=2)
    if F.shape != Y.shape:
        raise ValueError(
            f"F and Y must have the same shape (N, K); got F {F.shape} and Y {Y.shape}. "
            f"For one output use Y.reshape(-1, 1)."
        )
    if F.shape[0] == 0:
        raise ValueError("F and Y must hold at least one example (row)")
    N = F.shape[0]
    E = F - Y
    return float(np.sum(E**2) / N), 2.0 * E / N


def _output_loss(R, Y, output, loss):
    """Loss J of the logits R and dJ/dR, for an allowed (output, loss) pair; Y already validated."""
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        return softmax_nll(R, Y), softmax_nll_grad(R, Y)
    if loss == "nll":  # logistic: -log P(y | r) = log(1 + exp(r)) - y r, one term per output
        return float(np.sum(np.logaddexp(0.0, R) - Y * R) / N), (sigmoid(R) - Y) / N
    F = {"linear": lambda: R, "logistic": lambda: sigmoid(R), "softmax": lambda: softmax(R)}[
        output
    ]()
    J, dF = mse_loss(F, Y)
    if output == "linear":
        return J, dF
    if output == "logistic":
        return J, dF * F * (1.0 - F)
    # softmax: dR_k = F_k (dF_k - sum_j dF_j F_j), the softmax Jacobian applied to dF
    return J, F * (dF - np.sum(dF * F, axis=1, keepdims=True))


# ------------------------------------------------------------------------------ whole network
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    """Loss of an MLP and its gradients by backpropagation.

    X: (N, D); params: list of (W, b), W (D_l, M_l), b (M_l,); every layer but the last applies
    `hidden` (logistic, tanh, gaussian, relu, linear), the last applies `output`; Y as the module
    docstring's table says for (output, loss).
    Returns J (a float) and grads, a list of (dW, db) shaped like params.
    """
    X, Y, params = _network_args(X, Y, params, hidden, output, loss)
    caches, responses, A = [], [], X
    for layer, (W, b) in enumerate(params):
        R, cache = linear_forward(A, W, b)
        caches.append(cache)
        responses.append(R)
        A = activation(hidden, R) if layer < len(params) - 1 else None
    J, dR = _output_loss(R, Y, output, loss)
    grads = [None] * len(params)
    for layer in reversed(range(len(params))):
        dA, dW, db = linear_backward(dR, caches[layer])
        grads[layer] = (dW, db)
        if layer > 0:  # the message dA goes down through the activation of the layer below
            dR = dA * activation_grad(hidden, responses[layer - 1])
    return J, grads


_TORCH_ACTIVATIONS = {
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "gaussian": lambda r: torch.exp(-(r**2) / 2),
    "relu": torch.relu,
    "linear": lambda r: r,
}


def torch_loss_and_grads(X, Y, params, hidden, output, loss):
    """`mlp_loss_and_grads` by torch autograd in float64: the same arguments and results.

    Returns J (a float) and grads, a list of (dW, db) NumPy arrays shaped like params.
    """
    X, Y, params = _network_args(X, Y, params, hidden, output, loss)
    leaves = [
        (
            torch.tensor(W, dtype=torch.float64, requires_grad=True),
            torch.tensor(b, dtype=torch.float64, requires_grad=True),
        )
        for W, b in params
    ]
    A = torch.as_tensor(X, dtype=torch.float64)
    for layer, (W, b) in enumerate(leaves):
        R = A @ W + b
        if layer < len(leaves) - 1:
            A = _TORCH_ACTIVATIONS[hidden](R)
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        J = (
            torch.nn.functional.cross_entropy(
                R, torch.as_tensor(Y, dtype=torch.long), reduction="sum"
            )
            / N
        )
    elif loss == "nll":
        T = torch.as_tensor(Y, dtype=torch.float64)
        J = torch.nn.functional.binary_cross_entropy_with_logits(R, T, reduction="sum") / N
    else:
        F = {
            "linear": lambda: R,
            "logistic": lambda: torch.sigmoid(R),
            "softmax": lambda: torch.softmax(R, dim=1),
        }[output]()
        J = torch.sum((torch.as_tensor(Y, dtype=torch.float64) - F) ** 2) / N
    J.backward()
    return float(J.item()), [(W.grad.numpy(), b.grad.numpy()) for W, b in leaves]


# ------------------------------------------------------------------------------- input checking
def _dense_args(X, W, b):
    X = as_array(X, "X", ndim=2)
    W = as_array(W, "W", ndim=2)
    b = as_array(b, "b", ndim=1)
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"W must have one row per column of X: X is (N, D) = {X.shape}, so W must be (D, M) = "
            f"({X.shape[1]}, M); got W {W.shape}. A dense layer computes X @ W + b."
        )
    if b.shape != (W.shape[1],):
        raise ValueError(
            f"b must have shape (M,) = ({W.shape[1]},), one bias per column of W; got {b.shape}"
        )
    return X, W, b


def _network_args(X, Y, params, hidden, output, loss):
    check_choice(hidden, "hidden", HIDDEN)
    check_choice(output, "output", OUTPUTS)
    check_choice(loss, "loss", LOSSES)
    if (output, loss) not in ALLOWED:
        raise ValueError(
            f"loss 'nll' needs an output that gives probabilities ('logistic' or 'softmax'); got output "
            f"{output!r}. Use loss 'mse' with a linear output."
        )
    X = as_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example (row); got shape {X.shape}")
    if isinstance(params, (np.ndarray, str)) or not hasattr(params, "__len__") or len(params) == 0:
        raise ValueError(
            f"params must be a non-empty list of (W, b) pairs, one per layer; got {type(params).__name__}"
        )
    checked, width = [], X.shape[1]
    for layer, pair in enumerate(params):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"params[{layer}] must be a pair (W, b); got {type(pair).__name__}")
        W = as_array(pair[0], f"W of params[{layer}]", ndim=2)
        b = as_array(pair[1], f"b of params[{layer}]", ndim=1)
        if W.shape[0] != width or b.shape != (W.shape[1],):
            raise ValueError(
                f"params[{layer}] must be W ({width}, M) and b (M,), since its input has {width} "
                f"columns; got W {W.shape} and b {b.shape}"
            )
        checked.append((W, b))
        width = W.shape[1]
    N, K = X.shape[0], width
    if loss == "nll" and output == "softmax":
        Y = _class_labels(Y, N, K)
    else:
        Y = as_array(Y, "Y", ndim=(1, 2))
        if Y.shape != (N, K):
            hint = " For one output use Y.reshape(-1, 1)." if Y.shape == (N,) and K == 1 else ""
            raise ValueError(
                f"Y must have the network's output shape (N, K) = ({N}, {K}) for loss {loss!r} with output "
                f"{output!r}; got {Y.shape}.{hint}"
            )
        if loss == "nll" and not np.all((Y == 0) | (Y == 1)):
            raise ValueError("Y must hold 0s and 1s for loss 'nll' with a logistic output")
    return X, Y, checked


def _class_labels(y, N, K):
    y = np.asarray(y)
    if y.shape != (N,):
        raise ValueError(
            f"Y must be (N,) = ({N},) integer class labels for loss 'nll' with a softmax output; got shape "
            f"{y.shape}. From one-hot targets use Y.argmax(axis=1)."
        )
    if y.dtype == bool or not np.issubdtype(y.dtype, np.number) or not np.all(y == np.round(y)):
        raise ValueError(
            f"Y must hold integer class labels 0..{K - 1}; got values of dtype {y.dtype}"
        )
    y = y.astype(np.intp)
    if np.any((y < 0) | (y >= K)):
        raise ValueError(
            f"Y must hold labels in 0..{K - 1} (the network has K = {K} outputs); got {np.unique(y)[:5].tolist()}"
        )
    return y
