"""Known wrong and alternative right implementations of 01_linear's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy and the other
graded functions (sigmoid, linear_response, add_constant_feature, softmax, ...) are the solution's.
An answer to a question (`answer_<name>`) is the assignment its answer cell holds.
"""

from . import Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]

# Each entry on one line, then its source exactly as the kernel runs it: left unformatted.
# fmt: off
ENTRIES = [
    # ------------------------------------------------------------------ add_constant_feature
    Wrong("add_constant_feature", "column of ones last instead of first", """\
def add_constant_feature(X):
    return np.hstack([X, np.ones((X.shape[0], 1))])
"""),
    Wrong("add_constant_feature", "a row of ones stacked on top (axis 0)", """\
def add_constant_feature(X):
    return np.vstack([np.ones(X.shape[1]), X])
"""),
    Wrong("add_constant_feature", "a column of zeros", """\
def add_constant_feature(X):
    return np.hstack([np.zeros((X.shape[0], 1)), X])
"""),
    Right("add_constant_feature", "rows built in a loop", """\
def add_constant_feature(X):
    rows = [[1.0] + list(row) for row in np.asarray(X, dtype=float)]
    return np.array(rows)
"""),
    Right("add_constant_feature", "np.insert", """\
def add_constant_feature(X):
    return np.insert(np.asarray(X, dtype=float), 0, 1.0, axis=1)
"""),
    Right("add_constant_feature", "np.c_", """\
def add_constant_feature(X):
    return np.c_[np.ones(len(X)), X]
"""),
    # ----------------------------------------------------------------------- linear_response
    Wrong("linear_response", "bias forgotten", """\
def linear_response(X, theta):
    return X @ theta[1:]
"""),
    Wrong("linear_response", "bias taken from the last entry of theta", """\
def linear_response(X, theta):
    return X @ theta[:-1] + theta[-1]
"""),
    Wrong("linear_response", "weights multiplied from the wrong side (a transpose)", """\
def linear_response(X, theta):
    return theta[0] + theta[1:] @ X
"""),
    Wrong("linear_response", "returns a column (N, 1) instead of (N,)", """\
def linear_response(X, theta):
    return theta[0] + X @ theta[1:, None]
"""),
    Right("linear_response", "double loop", """\
def linear_response(X, theta):
    r = np.zeros(len(X))
    for i in range(len(X)):
        r[i] = theta[0]
        for j in range(len(theta) - 1):
            r[i] += theta[j + 1] * X[i][j]
    return r
"""),
    Right("linear_response", "through add_constant_feature", """\
def linear_response(X, theta):
    return add_constant_feature(X) @ theta
"""),
    Right("linear_response", "np.einsum", """\
def linear_response(X, theta):
    return theta[0] + np.einsum("nd,d->n", np.asarray(X, dtype=float), theta[1:])
"""),
    # -------------------------------------------------------------------------- predict_sign
    Wrong("predict_sign", "r >= 0 gives +1, so r == 0 is misclassified", """\
def predict_sign(X, theta):
    return 2 * (linear_response(X, theta) >= 0) - 1
"""),
    Wrong("predict_sign", "np.sign as ints: 0 where r == 0", """\
def predict_sign(X, theta):
    return np.sign(linear_response(X, theta)).astype(int)
"""),
    Wrong("predict_sign", "np.sign: floats, and 0 where r == 0", """\
def predict_sign(X, theta):
    return np.sign(linear_response(X, theta))
"""),
    Wrong("predict_sign", "returns booleans r > 0 instead of +-1", """\
def predict_sign(X, theta):
    return linear_response(X, theta) > 0
"""),
    Wrong("predict_sign", "bias forgotten", """\
def predict_sign(X, theta):
    return 2 * (X @ theta[1:] > 0) - 1
"""),
    Right("predict_sign", "np.where", """\
def predict_sign(X, theta):
    return np.where(linear_response(X, theta) > 0, 1, -1)
"""),
    Right("predict_sign", "a loop over the responses", """\
def predict_sign(X, theta):
    r = linear_response(X, theta)
    return np.array([1 if v > 0 else -1 for v in r], dtype=int)
"""),
    Right("predict_sign", "the lecture's 2*(r>0)-1 written out", """\
def predict_sign(X, theta):
    return 2 * (theta[0] + X @ theta[1:] > 0) - 1
"""),
    # --------------------------------------------------------------------------- boundary_x2
    Wrong("boundary_x2", "minus sign lost", """\
def boundary_x2(x1, theta):
    return (theta[0] + theta[1] * x1) / theta[2]
"""),
    Wrong("boundary_x2", "minus applied to the bias only", """\
def boundary_x2(x1, theta):
    return -theta[0] + theta[1] * x1 / theta[2]
"""),
    Wrong("boundary_x2", "theta[1] and theta[2] swapped", """\
def boundary_x2(x1, theta):
    return -(theta[0] + theta[2] * x1) / theta[1]
"""),
    Wrong("boundary_x2", "bias forgotten", """\
def boundary_x2(x1, theta):
    return -theta[1] * x1 / theta[2]
"""),
    Right("boundary_x2", "intercept and slope", """\
def boundary_x2(x1, theta):
    return -theta[0] / theta[2] - (theta[1] / theta[2]) * x1
"""),
    Right("boundary_x2", "a loop over every element of x1", """\
def boundary_x2(x1, theta):
    x1 = np.asarray(x1, dtype=float)
    x2 = np.empty(x1.shape)
    for idx in np.ndindex(x1.shape):
        x2[idx] = -(theta[0] + theta[1] * x1[idx]) / theta[2]
    return x2
"""),
    # ------------------------------------------------------------------------------- sigmoid
    Wrong("sigmoid", "naive 1/(1+exp(-r)): overflows for r < -709", """\
def sigmoid(r):
    return 1 / (1 + np.exp(-r))
"""),
    Wrong("sigmoid", "exp(r)/(1+exp(r)): overflows for r > 709", """\
def sigmoid(r):
    e = np.exp(r)
    return e / (1 + e)
"""),
    Wrong("sigmoid", "np.where computes both branches, so one of them overflows", """\
def sigmoid(r):
    return np.where(r >= 0, 1 / (1 + np.exp(-r)), np.exp(r) / (1 + np.exp(r)))
"""),
    Wrong("sigmoid", "np.empty_like keeps an integer r's dtype", """\
def sigmoid(r):
    r = np.asarray(r)
    out = np.empty_like(r)
    pos = r >= 0
    out[pos] = 1 / (1 + np.exp(-r[pos]))
    e = np.exp(r[~pos])
    out[~pos] = e / (1 + e)
    return out
"""),
    Right("sigmoid", "0.5 * (1 + tanh(r/2))", """\
def sigmoid(r):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(r, dtype=float)))
"""),
    Right("sigmoid", "two stable branches chosen by boolean masks", """\
def sigmoid(r):
    r = np.asarray(r, dtype=float)
    out = np.empty(r.shape)
    pos = r >= 0
    out[pos] = 1 / (1 + np.exp(-r[pos]))
    e = np.exp(r[~pos])
    out[~pos] = e / (1 + e)
    return out
"""),
    Right("sigmoid", "exp(-log(1 + exp(-r))) with logaddexp", """\
def sigmoid(r):
    return np.exp(-np.logaddexp(0.0, -np.asarray(r, dtype=float)))
"""),
    # -------------------------------------------------------------------------- logistic_nll
    Wrong("logistic_nll", "sum instead of mean", """\
def logistic_nll(X, y, theta):
    r = linear_response(X, theta)
    return np.sum(np.logaddexp(0.0, r) - y * r)
"""),
    Wrong("logistic_nll", "cross-entropy of sigmoid(r): log(0) once sigmoid saturates", """\
def logistic_nll(X, y, theta):
    p = sigmoid(linear_response(X, theta))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
"""),
    Wrong("logistic_nll", "probabilities clipped to [1e-12, 1 - 1e-12]: wrong for large responses", """\
def logistic_nll(X, y, theta):
    p = np.clip(sigmoid(linear_response(X, theta)), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
"""),
    Wrong("logistic_nll", "log(1 + exp(r)) overflows for large r", """\
def logistic_nll(X, y, theta):
    r = linear_response(X, theta)
    return np.mean(np.log(1 + np.exp(r)) - y * r)
"""),
    Wrong("logistic_nll", "labels swapped", """\
def logistic_nll(X, y, theta):
    r = linear_response(X, theta)
    return np.mean(np.logaddexp(0.0, r) - (1 - y) * r)
"""),
    Wrong("logistic_nll", "bias forgotten", """\
def logistic_nll(X, y, theta):
    r = X @ theta[1:]
    return np.mean(np.logaddexp(0.0, r) - y * r)
"""),
    Right("logistic_nll", "log(1 + exp(r)) - y r with logaddexp", """\
def logistic_nll(X, y, theta):
    r = add_constant_feature(X) @ theta
    return np.mean(np.logaddexp(0.0, r) - y * r)
"""),
    Right("logistic_nll", "a loop with a stable softplus per example", """\
def logistic_nll(X, y, theta):
    total = 0.0
    for x_i, y_i in zip(np.asarray(X, dtype=float), y):
        r = theta[0] + np.dot(x_i, theta[1:])
        s = -r if y_i == 1 else r
        total += max(s, 0.0) + np.log1p(np.exp(-abs(s)))
    return total / len(X)
"""),
    # --------------------------------------------------------------------- logistic_nll_grad
    Wrong("logistic_nll_grad", "sign flipped: y - sigmoid(r)", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return Z.T @ (y - sigmoid(Z @ theta)) / len(Z)
"""),
    Wrong("logistic_nll_grad", "sum instead of mean", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return Z.T @ (sigmoid(Z @ theta) - y)
"""),
    Wrong("logistic_nll_grad", "transpose forgotten", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return Z @ (sigmoid(Z @ theta) - y) / len(Z)
"""),
    Wrong("logistic_nll_grad", "bias component forgotten", """\
def logistic_nll_grad(X, y, theta):
    return X.T @ (sigmoid(linear_response(X, theta)) - y) / len(X)
"""),
    Wrong("logistic_nll_grad", "naive sigmoid inline: overflows for large responses", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    p = 1 / (1 + np.exp(-(Z @ theta)))
    return Z.T @ (p - y) / len(Z)
"""),
    Wrong("logistic_nll_grad", "squared-error gradient with an extra p(1-p)", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    p = sigmoid(Z @ theta)
    return Z.T @ ((p - y) * p * (1 - p)) / len(Z)
"""),
    Right("logistic_nll_grad", "a loop over examples", """\
def logistic_nll_grad(X, y, theta):
    grad = np.zeros(len(theta))
    for x_i, y_i in zip(np.asarray(X, dtype=float), y):
        z = np.concatenate([[1.0], x_i])
        grad += (sigmoid(z @ theta) - y_i) * z
    return grad / len(X)
"""),
    Right("logistic_nll_grad", "row vector times Z", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return (sigmoid(Z @ theta) - y) @ Z / Z.shape[0]
"""),
    # ------------------------------------------------------------------------ fit_logistic_gd
    Wrong("fit_logistic_gd", "gradient ascent: the step's sign flipped", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps):
        theta = theta + lr * logistic_nll_grad(X, y, theta)
    return theta
"""),
    Wrong("fit_logistic_gd", "one step short", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps - 1):
        theta = theta - lr * logistic_nll_grad(X, y, theta)
    return theta
"""),
    Wrong("fit_logistic_gd", "lr applied twice", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps):
        step = lr * logistic_nll_grad(X, y, theta)
        theta = theta - lr * step
    return theta
"""),
    Wrong("fit_logistic_gd", "gradient computed once, before the loop", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    grad = logistic_nll_grad(X, y, theta)
    for _ in range(n_steps):
        theta = theta - lr * grad
    return theta
"""),
    Wrong("fit_logistic_gd", "starts from ones instead of zeros", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.ones(X.shape[1] + 1)
    for _ in range(n_steps):
        theta = theta - lr * logistic_nll_grad(X, y, theta)
    return theta
"""),
    Right("fit_logistic_gd", "the gradient inline, theta updated in place", """\
def fit_logistic_gd(X, y, lr, n_steps):
    Z = np.column_stack([np.ones(len(X)), X])
    theta = np.zeros(Z.shape[1])
    for _ in range(n_steps):
        p = np.exp(-np.logaddexp(0.0, -(Z @ theta)))
        theta -= lr * (Z.T @ (p - y)) / len(Z)
    return theta
"""),
    Right("fit_logistic_gd", "through logistic_nll_grad, with a while loop", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(np.shape(X)[1] + 1)
    step = 0
    while step < n_steps:
        theta = theta - lr * logistic_nll_grad(X, y, theta)
        step += 1
    return theta
"""),
    # -------------------------------------------------------------------- polynomial_features
    Wrong("polynomial_features", "constant column missing: powers 1..degree", """\
def polynomial_features(x, degree):
    return np.asarray(x, dtype=float)[:, None] ** np.arange(1, degree + 1)
"""),
    Wrong("polynomial_features", "decreasing powers (np.vander's default)", """\
def polynomial_features(x, degree):
    return np.vander(np.asarray(x, dtype=float), degree + 1)
"""),
    Wrong("polynomial_features", "transposed: one row per power", """\
def polynomial_features(x, degree):
    return np.asarray(x, dtype=float) ** np.arange(degree + 1)[:, None]
"""),
    Wrong("polynomial_features", "integer x kept as integers: large powers overflow", """\
def polynomial_features(x, degree):
    return np.vander(x, degree + 1, increasing=True)
"""),
    Right("polynomial_features", "each column the previous times x", """\
def polynomial_features(x, degree):
    x = np.asarray(x, dtype=float)
    cols = [np.ones_like(x)]
    for _ in range(degree):
        cols.append(cols[-1] * x)
    return np.stack(cols, axis=1)
"""),
    Right("polynomial_features", "np.vander with increasing powers, in float", """\
def polynomial_features(x, degree):
    return np.vander(np.asarray(x, dtype=float), degree + 1, increasing=True)
"""),
    # ------------------------------------------------------------------------------- softmax
    Wrong("softmax", "normalized over the wrong axis (columns)", """\
def softmax(R):
    E = np.exp(R - R.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
"""),
    Wrong("softmax", "no max-subtraction: exp overflows for large logits", """\
def softmax(R):
    E = np.exp(R)
    return E / E.sum(axis=1, keepdims=True)
"""),
    Wrong("softmax", "one global max subtracted: a row far below it becomes 0/0", """\
def softmax(R):
    E = np.exp(R - np.max(R))
    return E / E.sum(axis=1, keepdims=True)
"""),
    Wrong("softmax", "keepdims forgotten: divides by the row sums along the wrong axis", """\
def softmax(R):
    E = np.exp(R - R.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)
"""),
    Wrong("softmax", "max subtracted in place: changes the caller's R", """\
def softmax(R):
    R -= R.max(axis=1, keepdims=True)
    E = np.exp(R)
    return E / E.sum(axis=1, keepdims=True)
"""),
    Right("softmax", "a loop over rows", """\
def softmax(R):
    R = np.asarray(R, dtype=float)
    P = np.empty(R.shape)
    for i, row in enumerate(R):
        e = np.exp(row - row.max())
        P[i] = e / e.sum()
    return P
"""),
    Right("softmax", "exp(R - logsumexp(R))", """\
def softmax(R):
    R = np.asarray(R, dtype=float)
    m = R.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(R - m).sum(axis=1, keepdims=True))
    return np.exp(R - lse)
"""),
    # --------------------------------------------------------------------------- softmax_nll
    Wrong("softmax_nll", "sum instead of mean", """\
def softmax_nll(R, y):
    m = R.max(axis=1)
    lse = m + np.log(np.exp(R - m[:, None]).sum(axis=1))
    return np.sum(lse - R[np.arange(len(R)), y])
"""),
    Wrong("softmax_nll", "log of softmax: log(0) once a probability underflows", """\
def softmax_nll(R, y):
    P = softmax(R)
    return -np.mean(np.log(P[np.arange(len(R)), y]))
"""),
    Wrong("softmax_nll", "R[:, y] picks every label in every row", """\
def softmax_nll(R, y):
    m = R.max(axis=1)
    lse = m + np.log(np.exp(R - m[:, None]).sum(axis=1))
    return np.mean(lse - R[:, y])
"""),
    Wrong("softmax_nll", "log-sum-exp without max-subtraction: overflows for large logits", """\
def softmax_nll(R, y):
    lse = np.log(np.exp(R).sum(axis=1))
    return np.mean(lse - R[np.arange(len(R)), y])
"""),
    Right("softmax_nll", "a loop over examples", """\
def softmax_nll(R, y):
    R = np.asarray(R, dtype=float)
    total = 0.0
    for row, k in zip(R, y):
        m = row.max()
        total += m + np.log(np.sum(np.exp(row - m))) - row[k]
    return total / len(R)
"""),
    Right("softmax_nll", "one-hot mask times log-softmax", """\
def softmax_nll(R, y):
    R = np.asarray(R, dtype=float)
    Z = R - R.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    onehot = np.eye(R.shape[1])[y]
    return -np.sum(onehot * log_p) / len(R)
"""),
    # ---------------------------------------------------------------------- softmax_nll_grad
    Wrong("softmax_nll_grad", "not divided by N", """\
def softmax_nll_grad(R, y):
    G = softmax(R)
    G[np.arange(len(R)), y] -= 1
    return G
"""),
    Wrong("softmax_nll_grad", "sign flipped: onehot - softmax", """\
def softmax_nll_grad(R, y):
    return (np.eye(R.shape[1])[y] - softmax(R)) / len(R)
"""),
    Wrong("softmax_nll_grad", "G[:, y] -= 1 subtracts in every row", """\
def softmax_nll_grad(R, y):
    G = softmax(R)
    G[:, y] -= 1
    return G / len(R)
"""),
    Wrong("softmax_nll_grad", "softmax over the wrong axis", """\
def softmax_nll_grad(R, y):
    E = np.exp(R - R.max(axis=0, keepdims=True))
    G = E / E.sum(axis=0, keepdims=True)
    G[np.arange(len(R)), y] -= 1
    return G / len(R)
"""),
    Wrong("softmax_nll_grad", "softmax without max-subtraction: overflows for large logits", """\
def softmax_nll_grad(R, y):
    E = np.exp(R)
    G = E / E.sum(axis=1, keepdims=True)
    G[np.arange(len(R)), y] -= 1
    return G / len(R)
"""),
    Right("softmax_nll_grad", "a loop over rows", """\
def softmax_nll_grad(R, y):
    R = np.asarray(R, dtype=float)
    G = np.empty(R.shape)
    for i, row in enumerate(R):
        e = np.exp(row - row.max())
        G[i] = e / e.sum()
        G[i, y[i]] -= 1
    return G / len(R)
"""),
    Right("softmax_nll_grad", "softmax minus a one-hot matrix from np.eye", """\
def softmax_nll_grad(R, y):
    return (softmax(R) - np.eye(np.shape(R)[1])[y]) / len(R)
"""),
]
# ------------------------------------------------------------------------------ questions
ENTRIES += [
    Wrong("answer_features", "[1, x]: one boundary point at most", 'answer_features = "a"\n'),
    Wrong("answer_features", "[1, x^2]: only intervals centred on 0", 'answer_features = "b"\n'),
    Wrong("answer_features", "[x, x^2]: without the constant, r(0) = 0 always", 'answer_features = "d"\n'),
    Wrong("answer_iris_parameters", "biases forgotten: 4 * 3 weights only", "answer_iris_parameters = 12\n"),
    Wrong("answer_iris_parameters", "the two-measurement model above: 2 * 3 + 3", "answer_iris_parameters = 9\n"),
    Wrong("answer_iris_parameters", "one response instead of one per class: 4 + 1", "answer_iris_parameters = 5\n"),
]
ENTRIES += cheats('sigmoid', 'r', '    return np.zeros(np.shape(r))\n', 'linear')

