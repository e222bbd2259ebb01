"""Numerical gradients and gradient checks, used by every notebook's tests.

Central differences in float64: for a scalar function f of an array x,

    df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)

whose error shrinks like h**2 (a forward difference only like h). A check compares an analytic gradient
with it elementwise (|a - n| <= atol + rtol (|a| + |n|): relative, but absolute near zero) and, on failure, names
the function, the argument, the index, the expected (numerical) and the received (analytic) value.

    >>> f = lambda x: np.sum(x ** 3)
    >>> x = np.array([1.0, -2.0])
    >>> check_gradient(f, [x], [3 * x ** 2])      # passes silently
"""

import numpy as np

from .validation import as_array

__all__ = [
    "GradientCheckError",
    "check_gradient",
    "check_layer",
    "check_network",
    "numerical_gradient",
    "rel_error",
]


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with central differences."""


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of a scalar function `f` at array `x`.

    f: callable taking an array shaped like x and returning a scalar.
    x: array of any shape; it is left exactly as it was (f sees a float64 copy).
    Returns an array shaped like x, float64.
    """
    _check_function_and_step(f, h)
    xp = np.array(x, dtype=np.float64)  # a copy: the caller's x never changes
    grad = np.zeros_like(xp)
    for idx in np.ndindex(xp.shape):
        grad[idx] = _central_difference(f, xp, idx, h)
    return grad


def rel_error(a, b, atol=1e-8):
    """Largest elementwise relative error |a - b| / max(|a| + |b|, atol) between two arrays."""
    a = as_array(a, "a")
    b = as_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(_elementwise_error(a, b, atol)))


def check_gradient(f, args, grads, names=None, rtol=1e-6, atol=1e-8, h=1e-5, what=None):
    """Check analytic gradients of a scalar function of several arrays against central differences.

    f:      callable, f(*args) -> scalar.
    args:   sequence of arrays, the point at which to check.
    grads:  sequence aligned with args: the analytic gradient of f for each (None skips that argument).
    names:  the arguments' names for messages (default x0, x1, ...).
    Raises GradientCheckError naming the argument, the index, expected and received; returns the
    largest relative error seen otherwise.
    """
    _check_function_and_step(f, h)
    args = [np.array(a, dtype=np.float64) for a in args]
    if len(grads) != len(args):
        raise ValueError(f"grads must have one entry per argument ({len(args)}); got {len(grads)}")
    names = list(names) if names is not None else [f"x{i}" for i in range(len(args))]
    what = what or getattr(f, "__name__", "f")
    worst = 0.0
    for i, (name, grad) in enumerate(zip(names, grads)):
        if grad is None:
            continue
        grad = _received(grad, f"the gradient with respect to {name}")
        if grad.shape != args[i].shape:
            raise GradientCheckError(
                f"gradient of {what} with respect to {name}: expected shape {args[i].shape} "
                f"(the shape of {name}), received shape {grad.shape}"
            )

        def f_i(x, i=i):
            return f(*args[:i], x, *args[i + 1 :])

        # Entry by entry here rather than through numerical_gradient: the student edition removes that
        # function (an exercise of 03_backprop) and check_gradient must keep working without it.
        x = args[i].copy()
        expected = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            expected[idx] = _central_difference(f_i, x, idx, h)
        worst = max(worst, _compare(expected, grad, f"gradient of {what} with respect to {name}", rtol, atol))
    return worst


def check_network(loss_and_grads, X, Y, params, *args, rtol=1e-6, atol=1e-8, h=1e-5, **kwargs):
    """Check `loss_and_grads(X, Y, params, *args, **kwargs) -> (J, grads)` against central
    differences of its own J.

    params: list of (W, b) per layer; grads: the same shape, (dW, db) per layer. Each W and b is
    varied in turn with the others held. Returns the largest relative error seen.
    """
    J, grads = loss_and_grads(X, Y, params, *args, **kwargs)
    flat_params = [np.array(v, dtype=np.float64) for layer in params for v in layer]
    flat_grads = [g for layer in grads for g in layer]

    def J_of(*values):
        layers = list(zip(values[0::2], values[1::2]))
        return loss_and_grads(X, Y, layers, *args, **kwargs)[0]

    names = [f"{v}{layer}" for layer in range(len(params)) for v in ("W", "b")]
    what = f"J of {getattr(loss_and_grads, '__name__', 'loss_and_grads')}{tuple(args) if args else ''}"
    return check_gradient(J_of, flat_params, flat_grads, names=names, rtol=rtol, atol=atol, h=h, what=what)


def check_layer(forward, backward, inputs, names=None, rng=None, rtol=1e-6, atol=1e-8, h=1e-5):
    """Check a `forward(*inputs) -> (out, cache)` / `backward(dout, cache) -> grads` pair.

    The scalar checked is sum(out * dout) for a random dout, whose gradient with respect to each input
    is what backward must return for that dout. Returns the largest relative error seen.
    """
    rng = np.random.default_rng(273_001) if rng is None else rng
    inputs = [np.array(a, dtype=np.float64) for a in inputs]
    out, cache = forward(*inputs)
    out = _received(out, "forward's output")
    dout = rng.standard_normal(out.shape)
    grads = backward(dout.copy(), cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(inputs):
        raise GradientCheckError(
            f"{getattr(backward, '__name__', 'backward')} must return one gradient per input "
            f"({len(inputs)}); received {len(grads)}"
        )

    def scalar(*xs):
        return float(np.sum(np.asarray(forward(*xs)[0], dtype=np.float64) * dout))

    scalar.__name__ = getattr(forward, "__name__", "forward")
    return check_gradient(scalar, inputs, grads, names=names, rtol=rtol, atol=atol, h=h)


def _check_function_and_step(f, h):
    if not callable(f):
        raise TypeError(f"f must be a function of one array returning a scalar; got {type(f).__name__}")
    if not h > 0:
        raise ValueError(f"h must be a positive step; got {h!r}")


def _central_difference(f, x, idx, h):
    # One entry, (f(x + h e_idx) - f(x - h e_idx)) / (2 h); x (float64, the caller's own copy) is
    # perturbed in place and restored.
    old = x[idx]
    x[idx] = old + h
    f_plus = _scalar(f(x))
    x[idx] = old - h
    f_minus = _scalar(f(x))
    x[idx] = old
    return (f_plus - f_minus) / (2 * h)


def _scalar(value):
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise ValueError(f"f must return a scalar; it returned an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _received(value, what):
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise GradientCheckError(f"{what} must be an array of numbers; received {type(value).__name__} ({exc})") from None


def _elementwise_error(a, b, atol):
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), atol)


def _compare(expected, received, what, rtol, atol):
    # Pass where |a - n| <= atol + rtol (|a| + |n|): relative for sizeable entries, absolute near zero,
    # where central differences carry ~1e-10 of noise that no relative bound can absorb.
    if not np.all(np.isfinite(received)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(received))[0])
        raise GradientCheckError(f"{what} at index {idx}: received {float(received[idx])}, expected {expected[idx]:.6g}")
    if expected.size == 0:
        return 0.0
    diff = np.abs(expected - received)
    scale = np.abs(expected) + np.abs(received)
    excess = diff - (atol + rtol * scale)
    idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
    err = _elementwise_error(expected, received, atol)
    if excess[idx] > 0:
        idx = tuple(int(i) for i in idx)
        raise GradientCheckError(
            f"{what} is wrong at index {idx}: expected {expected[idx]:.8g} (central differences), "
            f"received {received[idx]:.8g}; relative error {err[idx]:.2e} > {rtol:.0e}"
        )
    return float(np.max(err))
