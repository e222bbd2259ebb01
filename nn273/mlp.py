"""02_mlp: multi-layer perceptrons, their activation functions, and the forward pass.

The reference implementation of every graded function of 02_mlp (contract in CURRICULUM.md).
A dense network is a list `params` of layers `(W, b)`, W (D, M) and b (M,); layer l computes

    R = A @ W + b          A the layer's input (X for the first layer), R its pre-activation
    A = activation(R)      `hidden` for every layer but the last, `output` for the last

    >>> params = [(np.ones((2, 3)), np.zeros(3)), (np.ones((3, 1)), np.zeros(1))]
    >>> F, cache = mlp_forward(np.array([[1.0, -1.0]]), params, hidden="relu", output="linear")
    >>> F
    array([[0.]])
    >>> count_parameters([2, 3, 1])        # 3 (2 + 1) + (3 + 1)
    13
"""

import itertools
import numbers

import numpy as np

from .linear import sigmoid, softmax
from .validation import as_array

__all__ = [
    "ACTIVATIONS",
    "OUTPUTS",
    "activation",
    "activation_grad",
    "count_parameters",
    "mlp_forward",
]

# The lecture's table of activation functions, and the output activations of mlp_forward.
ACTIVATIONS = ("logistic", "tanh", "gaussian", "relu", "linear")
OUTPUTS = ("softmax", "logistic", "linear")


# ----------------------------------------------------------------------------------- activations
def activation(name, r):
    """The activation function `name` applied elementwise to the responses r.

    name: one of ACTIVATIONS:
        logistic   1 / (1 + exp(-r))        (computed without overflow for every finite r)
        tanh       tanh(r)
        gaussian   exp(-r**2 / 2)
        relu       max(0, r)
        linear     r
    r: a number or an array of any shape.
    Returns a float array shaped like r (a float for a number).
    """
    name = _activation_name(name)
    r = as_array(r, "r")
    if name == "logistic":
        out = sigmoid(r)
    elif name == "tanh":
        out = np.tanh(r)
    elif name == "gaussian":
        out = np.exp(-0.5 * np.square(r))
    elif name == "relu":
        out = np.maximum(r, 0.0)
    else:
        out = r.copy()
    return np.asarray(out, dtype=np.float64)[()]


def activation_grad(name, r):
    """The derivative of activation `name` at r, elementwise.

    name: one of ACTIVATIONS; the derivatives are
        logistic   s (1 - s) with s = logistic(r)
        tanh       1 - tanh(r)**2
        gaussian   -r a(r), with a(r) = exp(-r**2 / 2)
        relu       1 where r > 0, else 0 (0 at r = 0 itself)
        linear     1
    r: a number or an array of any shape.
    Returns a float array shaped like r (a float for a number).
    """
    name = _activation_name(name)
    r = as_array(r, "r")
    if name == "logistic":
        s = sigmoid(r)
        out = s * (1.0 - s)
    elif name == "tanh":
        out = 1.0 - np.tanh(r) ** 2
    elif name == "gaussian":
        out = -r * np.exp(-0.5 * np.square(r))
    elif name == "relu":
        out = (r > 0).astype(np.float64)
    else:
        out = np.ones_like(r)
    return np.asarray(out, dtype=np.float64)[()]


# ------------------------------------------------------------------------------------ parameters
def count_parameters(layer_sizes):
    """The number of weights and biases of a dense network with layer sizes [n, H1, ..., K].

    layer_sizes: at least two positive ints, the input size first and the output size last.
    Returns an int: the sum over consecutive sizes (a, b) of a*b weights and b biases, (a + 1) b.
    [n, H, 1] gives the lecture's H (n + 1) + (H + 1).
    """
    sizes = _layer_sizes(layer_sizes)
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


# ---------------------------------------------------------------------------------- forward pass
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    """The forward pass of a multi-layer perceptron.

    X:      (N, D) inputs, one example per row.
    params: a list of L >= 1 layers (W, b): W (D_l, M_l), b (M_l,), with D_0 = D and D_l = M_{l-1}.
    hidden: the activation of layers 1..L-1, one of ACTIVATIONS.
    output: the activation of layer L, one of OUTPUTS ("softmax" normalizes each row).
    Returns (F, cache):
        F:     (N, K) outputs, K = M_{L-1} the width of the last layer.
        cache: a list of L pairs (A, R), one per layer in order: A (N, D_l) the layer's input
               (X for the first layer) and R = A @ W + b (N, M_l) its pre-activation. The backward
               pass of 03_backprop needs exactly these (with params, hidden and output).
    """
    hidden = _activation_name(hidden, "hidden")
    if output not in OUTPUTS:
        raise ValueError(
            f"output must be one of {', '.join(map(repr, OUTPUTS))} (the activation of the last "
            f"layer); got {output!r}"
        )
    A = as_array(X, "X", ndim=2)
    layers = _layers(params, A.shape)
    cache = []
    for i, (W, b) in enumerate(layers):
        R = A @ W + b
        cache.append((A, R))
        if i < len(layers) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            A = softmax(R)
        else:
            A = activation(output, R)
    return A, cache


# ------------------------------------------------------------------------------- input checking
def _activation_name(name, what="name"):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        hint = ' (the lecture calls the sigmoid "logistic")' if name in ("sigmoid", "sigma") else ""
        raise ValueError(
            f"{what} must be one of the activations {', '.join(map(repr, ACTIVATIONS))}; "
            f"got {name!r}{hint}"
        )
    return name


def _layer_sizes(layer_sizes):
    try:
        sizes = [] if isinstance(layer_sizes, (str, bytes)) else list(layer_sizes)
    except TypeError:
        sizes = []
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes must be a sequence [n, H1, ..., K] of at least two ints, the input and "
            f"the output size; got {layer_sizes!r}"
        )
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1]
    if bad:
        raise ValueError(f"every layer size must be a positive int; got {bad[0]!r} in {sizes!r}")
    return [int(s) for s in sizes]


def _layers(params, x_shape):
    """params as a list of float (W, b), checked to chain from inputs of shape x_shape."""
    if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)) or not params:
        raise ValueError(
            f"params must be a non-empty list of layers (W, b); got "
            f"{type(params).__name__}{' (empty)' if isinstance(params, (list, tuple)) else ''}"
        )
    layers = []
    width = x_shape[1]
    for i, layer in enumerate(params):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise ValueError(f"params[{i}] must be a pair (W, b); got {type(layer).__name__}")
        W = as_array(layer[0], f"W of params[{i}]")
        b = as_array(layer[1], f"b of params[{i}]")
        if W.ndim != 2:
            raise ValueError(f"W of params[{i}] must be a 2-D (D, M) matrix; got shape {W.shape}")
        if W.shape[0] != width:
            source = f"X has shape {x_shape}" if i == 0 else f"params[{i - 1}] has {width} outputs"
            raise ValueError(
                f"the layers do not chain: W of params[{i}] has shape {W.shape}, so it expects "
                f"{W.shape[0]} inputs, but {source}; W must be ({width}, M)"
            )
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"b of params[{i}] must have shape ({W.shape[1]},), one bias per column of W "
                f"(W has shape {W.shape}); got shape {b.shape}. "
                f"A (1, M) row b becomes (M,) with b.ravel()"
            )
        layers.append((W, b))
        width = W.shape[1]
    return layers
