"""01_linear: linear classifiers, logistic regression, features, softmax regression.

The reference implementation of every graded function of 01_linear (contract in CURRICULUM.md).
A linear classifier's parameters are one vector `theta` of shape (D+1,) with the bias first:

    r = theta[0] + X @ theta[1:]        (the response, one value per example)

Logistic regression squashes r through the sigmoid; softmax regression turns a row of K responses
(logits) into K probabilities. The losses are written so that they stay finite and accurate for
responses as large as 1e4: they never exponentiate a large positive number.

    >>> X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    >>> theta = np.array([0.5, 1.0, -1.0])
    >>> linear_response(X, theta)
    array([-0.5, -1. ])
"""

import numbers

import numpy as np

from .validation import as_array

__all__ = [
    "add_constant_feature",
    "boundary_x2",
    "fit_logistic_gd",
    "linear_response",
    "logistic_nll",
    "logistic_nll_grad",
    "polynomial_features",
    "predict_sign",
    "sigmoid",
    "softmax",
    "softmax_nll",
    "softmax_nll_grad",
]


# ---------------------------------------------------------------------------------------- features
def add_constant_feature(X):
    """Prepend a column of ones, the constant feature that the bias multiplies.

    X: (N, D). Returns (N, D+1), float64, column 0 all ones.
    """
    X = _features(X)
    return np.hstack([np.ones((X.shape[0], 1)), X])


def polynomial_features(x, degree):
    """The features [1, x, x**2, ..., x**degree] of a single input.

    x: (N,); degree: int >= 0. Returns (N, degree+1), float64, column k holding x**k (0**0 is 1).
    """
    x = as_array(x, "x")
    if x.ndim != 1:
        raise ValueError(
            f"x must be 1-D of shape (N,), one value per example; got an array of shape {x.shape}. "
            f"For a single column of X use X[:, 0] or x.ravel()."
        )
    degree = _count(degree, "degree")
    return x[:, None] ** np.arange(degree + 1)


# ------------------------------------------------------------------------------ linear classifier
def linear_response(X, theta):
    """The response r = theta[0] + X @ theta[1:] of a linear classifier.

    X: (N, D); theta: (D+1,), theta[0] the bias. Returns r: (N,).
    """
    X = _features(X)
    theta = _theta(theta, X.shape[1])
    return theta[0] + X @ theta[1:]


def predict_sign(X, theta):
    """The class +1 where r > 0, else -1 (so r == 0 gives -1): the lecture's 2*(r>0)-1.

    X: (N, D); theta: (D+1,). Returns (N,) of ints in {-1, +1}.
    """
    return np.where(linear_response(X, theta) > 0, 1, -1)


def boundary_x2(x1, theta):
    """The x2 on the decision boundary r = 0 of a 2-D classifier: -(theta[0] + theta[1]*x1) / theta[2].

    x1: a number or an array of any shape; theta: (3,). Returns x2 shaped like x1 (a float for a number).
    """
    x1 = as_array(x1, "x1")
    theta = as_array(theta, "theta", ndim=1)
    if theta.shape != (3,):
        raise ValueError(
            f"boundary_x2 needs a classifier of D = 2 features: theta of shape (3,) "
            f"(bias, weight of x1, weight of x2); got shape {theta.shape}"
        )
    if theta[2] == 0:
        raise ValueError(
            "theta[2] is 0, so the boundary is the vertical line "
            "x1 = -theta[0]/theta[1] and x2 is not a function of x1"
        )
    x2 = -(theta[0] + theta[1] * x1) / theta[2]
    return x2[()]


# --------------------------------------------------------------------------- logistic regression
def sigmoid(r):
    """The logistic function 1 / (1 + exp(-r)), elementwise.

    r: a number or an array of any shape. Returns values in [0, 1] shaped like r (a float for a number).
    Accurate for every finite r without overflow: only exp(-|r|) <= 1 is ever computed.
    """
    r = as_array(r, "r")
    e = np.exp(-np.abs(r))
    out = np.where(r >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out[()]


def logistic_nll(X, y, theta):
    """Mean negative log-likelihood of labels y in {0, 1} under P(y=1 | x) = sigmoid(r).

    X: (N, D); y: (N,) of 0s and 1s; theta: (D+1,). Returns a float.
    Per example -log P(y | x) = log(1 + exp(s)) with s = r for y = 0 and s = -r for y = 1,
    computed as logaddexp(0, s): finite and accurate for |r| up to 1e4 and beyond.
    """
    r = linear_response(X, theta)
    y = _binary_labels(y, r.shape[0])
    return float(np.mean(np.logaddexp(0.0, (1.0 - 2.0 * y) * r)))


def logistic_nll_grad(X, y, theta):
    """Gradient of logistic_nll with respect to theta: Z.T @ (sigmoid(r) - y) / N, Z = [1, X].

    X: (N, D); y: (N,) of 0s and 1s; theta: (D+1,). Returns (D+1,).
    """
    Z = add_constant_feature(X)
    theta = _theta(theta, Z.shape[1] - 1)
    y = _binary_labels(y, Z.shape[0])
    return Z.T @ (sigmoid(Z @ theta) - y) / Z.shape[0]


def fit_logistic_gd(X, y, lr, n_steps):
    """Logistic regression by full-batch gradient descent from theta = 0.

    X: (N, D); y: (N,) of 0s and 1s; lr: step size > 0; n_steps: int >= 0.
    Returns theta: (D+1,) after n_steps updates theta <- theta - lr * logistic_nll_grad(X, y, theta).
    """
    X = _features(X)
    y = _binary_labels(y, X.shape[0])
    lr = _positive(lr, "lr")
    n_steps = _count(n_steps, "n_steps")
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps):
        theta = theta - lr * logistic_nll_grad(X, y, theta)
    return theta


# ---------------------------------------------------------------------------- softmax regression
def softmax(R):
    """Row-wise softmax: P[i, k] = exp(R[i, k]) / sum_j exp(R[i, j]).

    R: (N, K) logits. Returns (N, K), every row summing to one.
    Subtracting each row's maximum first leaves the result unchanged and keeps exp from overflowing.
    """
    R = _logits(R)
    E = np.exp(R - R.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def softmax_nll(R, y):
    """Mean negative log-probability of the integer labels y under softmax(R).

    R: (N, K) logits; y: (N,) ints in [0, K). Returns a float,
    mean over i of logsumexp(R[i]) - R[i, y[i]], the log-sum-exp taken after subtracting the row max.
    """
    R = _logits(R)
    y = _class_labels(y, R.shape)
    rows = np.arange(R.shape[0])
    return float(np.mean(_logsumexp_rows(R) - R[rows, y]))


def softmax_nll_grad(R, y):
    """Gradient of softmax_nll with respect to R: (softmax(R) - onehot(y)) / N.

    R: (N, K) logits; y: (N,) ints in [0, K). Returns (N, K).
    """
    R = _logits(R)
    y = _class_labels(y, R.shape)
    G = softmax(R)
    G[np.arange(R.shape[0]), y] -= 1.0
    return G / R.shape[0]


# ------------------------------------------------------------------------------- input checking
def _features(X):
    X = as_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example (row); got shape {X.shape}")
    return X


def _theta(theta, D):
    theta = as_array(theta, "theta", ndim=1)
    if theta.shape != (D + 1,):
        raise ValueError(
            f"theta must have shape (D+1,) = ({D + 1},): theta[0] the bias, then one weight for each of "
            f"the D = {D} columns of X; got shape {theta.shape}"
        )
    return theta


def _binary_labels(y, N):
    y = as_array(y, "y", ndim=1)
    if y.shape[0] != N:
        raise ValueError(
            f"y must have shape (N,) = ({N},), one label per row of X; got shape {y.shape}"
        )
    if not np.all((y == 0) | (y == 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:5]
        raise ValueError(
            f"y must hold the labels 0 and 1; got also {bad.tolist()}. "
            f"Labels in {{-1, +1}} convert with (y + 1) // 2."
        )
    return y


def _logits(R):
    R = as_array(R, "R", ndim=2)
    if R.shape[0] == 0 or R.shape[1] == 0:
        raise ValueError(
            f"R must have at least one example (row) and one class (column); got shape {R.shape}"
        )
    return R


def _class_labels(y, shape):
    N, K = shape
    y = np.asarray(y)
    if y.dtype == bool or not (
        np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)
    ):
        raise TypeError(f"y must hold integer class labels 0..K-1; got an array of dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(
            f"y must have shape (N,) = ({N},), one label per row of R; got shape {y.shape}"
        )
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(y == np.round(y)):
            raise TypeError("y must hold integer class labels 0..K-1; got fractional values")
        y = y.astype(np.intp)
    if np.any((y < 0) | (y >= K)):
        bad = np.unique(y[(y < 0) | (y >= K)])[:5]
        raise ValueError(
            f"y must hold labels in 0..{K - 1} (R has K = {K} columns); got also {bad.tolist()}"
        )
    return y


def _logsumexp_rows(R):
    m = R.max(axis=1)
    return m + np.log(np.sum(np.exp(R - m[:, None]), axis=1))


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0; got {value!r}")
    return int(value)


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < np.inf):
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)
