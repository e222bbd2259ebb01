"""08_regularization: inverted dropout and batch normalization, forward and backward, in NumPy.

The reference implementation of every graded function of 08_regularization (contract in
CURRICULUM.md).

**Dropout** with drop probability p: in training each unit is kept with probability 1 - p and scaled
by 1/(1 - p) (inverted dropout, as `torch.nn.Dropout`), so that its expected value is the unit's own;
in evaluation the layer is the identity. The mask is that factor per unit, 0 or 1/(1 - p) in
training and 1 in evaluation, so that out = x * mask and dx = dout * mask:

    >>> out, mask = dropout_forward(np.ones((2, 4)), 0.5, True, np.random.default_rng(0))
    >>> sorted(set(mask.ravel().tolist())), bool(np.all(out == mask))
    ([0.0, 2.0], True)

**Batch normalization** of x (N, D), feature by feature, with a learnable scale gamma (D,) and
shift beta (D,):

    mu = mean of x over the batch (D,)      var = mean of (x - mu)**2 (D,), the biased variance
    xhat = (x - mu) / sqrt(var + eps)       out = gamma * xhat + beta

In training mu and var are the batch's, and the running statistics (a dict with "mean" and "var",
each (D,)) move towards them as in `torch.nn.BatchNorm1d`:

    running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
    running["var"]  = (1 - momentum) * running["var"]  + momentum * var * N / (N - 1)

(the unbiased variance in the running estimate). The dict's entries are replaced by the new arrays:
the caller's dict holds the new values after the call, the only change a call makes to its inputs.
In evaluation mu and var are the running statistics, locked: the output of an example no longer
depends on the rest of its batch.

    >>> running = {"mean": np.zeros(2), "var": np.ones(2)}
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), running, True)
    >>> np.round(out, 4).tolist(), running["mean"].tolist(), np.round(running["var"], 4).tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 0.4], [1.1, 1.7])

The cache is (x, gamma, beta, mu, var, eps, train): the layer's arguments and the statistics it
normalized with (the batch's in training, the running ones in evaluation).
"""

import numbers

import numpy as np

from .validation import as_array

__all__ = ["batchnorm_backward", "batchnorm_forward", "dropout_backward", "dropout_forward"]


# ------------------------------------------------------------------------------------ dropout
def dropout_forward(x, p, train, rng):
    """Inverted dropout: out = x * mask.

    x: any shape; p: the drop probability, in [0, 1); train: bool; rng: a numpy Generator (drawn
    from in training only; may be None in evaluation).
    Returns (out, mask), both shaped like x: mask is 1/(1 - p) where a unit is kept (probability
    1 - p) and 0 where it is dropped in training, 1 everywhere in evaluation.
    """
    x = as_array(x, "x")
    p = _probability(p)
    train = _flag(train, "train")
    if not train:
        return x.copy(), np.ones_like(x)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator, e.g. np.random.default_rng(0), to draw the mask in "
            f"training; got {type(rng).__name__}"
        )
    keep = rng.random(x.shape) < 1.0 - p
    mask = keep / (1.0 - p)
    return x * mask, mask


def dropout_backward(dout, mask):
    """Backward pass of dropout_forward: dx = dout * mask.

    dout: shaped like x, dJ/dout; mask: from dropout_forward. Returns dx, shaped like x.
    """
    mask = as_array(mask, "mask")
    dout = as_array(dout, "dout")
    if dout.shape != mask.shape:
        raise ValueError(
            f"dout must have the shape of the layer's output, that of mask {mask.shape}; got {dout.shape}"
        )
    return dout * mask


# -------------------------------------------------------------------------------- batch norm
def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, D) over the batch, feature by feature.

    gamma, beta: (D,), the learned scale and shift. running: a dict with "mean" and "var", each
    (D,), updated in training as torch.nn.BatchNorm1d does and used in evaluation. train: bool.
    momentum: in [0, 1], the weight of the new batch in the running statistics; eps > 0, added to
    the variance. Returns out (N, D) and cache = (x, gamma, beta, mu, var, eps, train).
    """
    x = as_array(x, "x", ndim=2)
    N, D = x.shape
    gamma = _vector(gamma, "gamma", D, x.shape)
    beta = _vector(beta, "beta", D, x.shape)
    train = _flag(train, "train")
    if not isinstance(running, dict) or not {"mean", "var"} <= running.keys():
        got = sorted(running) if isinstance(running, dict) else type(running).__name__
        raise ValueError(
            f'running must be a dict with "mean" and "var", each of shape ({D},); got {got}. '
            f'Start one with {{"mean": np.zeros(D), "var": np.ones(D)}}, as torch does.'
        )
    running_mean = _vector(running["mean"], 'running["mean"]', D, x.shape)
    running_var = _vector(running["var"], 'running["var"]', D, x.shape)
    momentum = _real(momentum, "momentum", 0.0, 1.0, "the weight of the new batch")
    eps = _real(eps, "eps", 0.0, np.inf, "added to the variance")
    if eps <= 0:
        raise ValueError(
            f"eps must be > 0, added to the variance before the square root; got {eps}"
        )
    if train:
        if N < 2:
            raise ValueError(
                f"batch normalization in training needs a batch of at least 2 examples to estimate "
                f"the variance (as torch); got x of shape {x.shape}"
            )
        mu = x.mean(axis=0)
        var = ((x - mu) ** 2).mean(axis=0)
        running["mean"] = (1.0 - momentum) * running_mean + momentum * mu
        running["var"] = (1.0 - momentum) * running_var + momentum * var * N / (N - 1)
    else:
        mu, var = running_mean.copy(), running_var.copy()
        if np.any(var + eps <= 0):
            raise ValueError('running["var"] + eps must be positive to take its square root')
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (x, gamma, beta, mu, var, eps, train)


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward.

    dout: (N, D), dJ/dout; cache from batchnorm_forward.
    Returns (dx, dgamma, dbeta): (N, D), (D,), (D,). In training mu and var depend on x, so

        dx = gamma / sqrt(var + eps) * (dout - mean(dout) - xhat * mean(dout * xhat)),

    means over the batch; in evaluation they are constants and dx = gamma / sqrt(var + eps) * dout.
    """
    x, gamma, _, mu, var, eps, train = cache
    dout = as_array(dout, "dout", ndim=2)
    if dout.shape != x.shape:
        raise ValueError(
            f"dout must have the shape of the layer's output (N, D) = {x.shape}; got {dout.shape}"
        )
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if train:
        dx = gamma * inv_std * (dout - dout.mean(axis=0) - xhat * (dout * xhat).mean(axis=0))
    else:
        dx = gamma * inv_std * dout
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------- checks
def _probability(p):
    p = _real(p, "p", 0.0, 1.0, "the drop probability")
    if p >= 1.0:
        raise ValueError(
            f"p, the drop probability, must be in [0, 1): p = 1 would drop every unit and scale by "
            f"1/(1 - p) = infinity; got {p}"
        )
    return p


def _real(value, name, low, high, meaning):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} ({meaning}) must be a number; got {type(value).__name__} {value!r}"
        )
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"{name} ({meaning}) must be in [{low:g}, {high:g}]; got {value!r}")
    return value


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True (training) or False (evaluation); got {type(value).__name__} {value!r}"
        )
    return bool(value)


def _vector(value, name, D, x_shape):
    arr = as_array(value, name)
    if arr.shape != (D,):
        raise ValueError(
            f"{name} must have shape ({D},), one entry per feature of x {x_shape}; got {arr.shape}"
        )
    return arr
