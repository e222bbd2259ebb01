"""07_sgd: training deep networks, the parameter count, minibatches and three update rules.

The reference implementation of every graded function of 07_sgd (contract in CURRICULUM.md).

A deep network of L hidden layers of H units on n inputs and K classes has
`count_deep_parameters(n, H, L, K) = n*H + (L-1)*H**2 + H*K` weights (biases ignored). A gradient of
the loss over N examples costs N times the work of one, so training takes steps on minibatches:
`iterate_minibatches` gives each example exactly once per pass, in a random order when an rng is
given. Each step moves the weights w against the gradient dw, with the learning rate lr (also
called the step size); the three rules are those of torch.optim, step for step:

    sgd_step:       w <- w - lr * dw                                     torch.optim.SGD
    momentum_step:  velocity <- momentum * velocity + dw                 SGD(momentum=momentum)
                    w <- w - lr * velocity
    adam_step:      t <- t + 1                                           torch.optim.Adam
                    m <- beta1 * m + (1 - beta1) * dw
                    v <- beta2 * v + (1 - beta2) * dw**2
                    w <- w - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

w, dw, velocity, m and v are arrays of one shape (any, 0-d included). Adam's state is a dict with
`m`, `v` and `t` (steps taken so far); an empty dict starts it with m = v = 0, t = 0. No function
modifies its arguments: each returns new arrays (and a new state dict).

    >>> sgd_step(np.array([1.0, 2.0]), np.array([0.5, -1.0]), lr=0.1)
    array([0.95, 2.1 ])
    >>> w, state = adam_step(np.zeros(2), np.array([3.0, -0.5]), {}, lr=0.01)
    >>> w.round(6), state["t"]
    (array([-0.01,  0.01]), 1)
"""

import math
import numbers

import numpy as np

from .validation import as_array, check_int, check_same_length

__all__ = [
    "adam_step",
    "count_deep_parameters",
    "iterate_minibatches",
    "momentum_step",
    "sgd_step",
]


def count_deep_parameters(n, H, L, K):
    """Weights of a dense network with n inputs, L hidden layers of H units and K outputs.

    n*H into the first hidden layer, H*H between each of the L-1 pairs of hidden layers, H*K into
    the outputs; biases ignored, as in the lecture. The lecture's 1e4 pixels, H = 300, L = 10,
    K = 1000 give 4,110,000: about 4 million.
    """
    n = check_int(n, "n", 1, fix="n is the number of inputs (e.g. 784 pixels).")
    H = check_int(H, "H", 1, fix="H is the number of units of each hidden layer.")
    L = check_int(L, "L", 1, fix="L is the number of hidden layers, at least 1.")
    K = check_int(K, "K", 1, fix="K is the number of outputs (classes).")
    return n * H + (L - 1) * H * H + H * K


def iterate_minibatches(X, y, batch_size, rng=None):
    """One pass over the data in minibatches: a generator of (X_batch, y_batch).

    X: (N, ...) inputs, y: (N, ...) targets, rows are examples; batch_size: b >= 1.
    Every example comes exactly once; the batches hold b examples each, the last one N mod b when b
    does not divide N (it is kept, not dropped). With a NumPy Generator `rng` the order is
    rng.permutation(N), the same for X and y; with rng=None the examples come in their order.
    The arrays keep their dtypes (integer labels stay integers).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"X and y must have one row per example; got shapes {X.shape} and {y.shape}"
        )
    check_same_length(X, y, "X", "y")
    batch_size = check_int(batch_size, "batch_size", 1, fix="Use e.g. 64.")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a NumPy Generator (np.random.default_rng(seed)) or None; "
            f"got {type(rng).__name__}"
        )
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    return _batches(X, y, order, batch_size)


def _batches(X, y, order, batch_size):
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]


def sgd_step(w, dw, lr):
    """One step of gradient descent: w - lr * dw (torch.optim.SGD). w, dw: arrays of one shape."""
    w, dw = _weights_and_gradient(w, dw)
    lr = _hyper(lr, "lr", 0.0, None)
    return w - lr * dw


def momentum_step(w, dw, velocity, lr, momentum):
    """One step of gradient descent with momentum, as torch.optim.SGD(momentum=momentum).

    velocity <- momentum * velocity + dw, then w <- w - lr * velocity. Start with velocity = 0
    (np.zeros_like(w)): the first step is then plain gradient descent, as in torch.
    Returns (w, velocity), new arrays shaped like w.
    """
    w, dw = _weights_and_gradient(w, dw)
    velocity = _like(velocity, w, "velocity")
    lr = _hyper(lr, "lr", 0.0, None)
    momentum = _hyper(momentum, "momentum", 0.0, None)
    velocity = momentum * velocity + dw
    return w - lr * velocity, velocity


def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam, as torch.optim.Adam(lr=lr, betas=(beta1, beta2), eps=eps).

    state: {} to start, then the dict returned by the previous step: m and v (shaped like w), the
    moving averages of dw and dw**2, and t, the number of steps taken. The step counts itself in t
    first, then corrects the averages' bias towards 0: m / (1 - beta1**t), v / (1 - beta2**t).
    Returns (w, state), a new array and a new dict {"m", "v", "t"}.
    """
    w, dw = _weights_and_gradient(w, dw)
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict ({{}} to start); got {type(state).__name__}")
    lr = _hyper(lr, "lr", 0.0, None)
    beta1 = _hyper(beta1, "beta1", 0.0, 1.0, open_high=True)
    beta2 = _hyper(beta2, "beta2", 0.0, 1.0, open_high=True)
    eps = _hyper(eps, "eps", 0.0, None)
    if state:
        missing = {"m", "v", "t"} - set(state)
        if missing:
            raise ValueError(
                f"state must be {{}} or hold m, v and t from the previous step; "
                f"it lacks {', '.join(sorted(missing))} (has {', '.join(map(str, state))})"
            )
        m, v = _like(state["m"], w, "state['m']"), _like(state["v"], w, "state['v']")
        t = check_int(state["t"], "state['t']", 0, fix="t counts the steps taken so far.")
    else:
        m, v, t = np.zeros_like(w), np.zeros_like(w), 0
    t += 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def _weights_and_gradient(w, dw):
    w, dw = as_array(w, "w"), as_array(dw, "dw")
    if w.shape != dw.shape:
        raise ValueError(
            f"dw must have the shape of w, {w.shape} (one partial derivative per weight); "
            f"got {dw.shape}"
        )
    return w, dw


def _like(value, w, name):
    value = as_array(value, name)
    if value.shape != w.shape:
        raise ValueError(f"{name} must have the shape of w, {w.shape}; got {value.shape}")
    return value


def _hyper(value, name, low, high, open_high=False):
    """A finite real number in [low, high] (or [low, high) with open_high); high None: no bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    value = float(value)
    too_high = high is not None and (value >= high if open_high else value > high)
    if not math.isfinite(value) or value < low or too_high:
        span = (
            f">= {low:g}" if high is None else f"in [{low:g}, {high:g}{')' if open_high else ']'}"
        )
        raise ValueError(f"{name} must be a finite number {span}; got {value!r}")
    return value
