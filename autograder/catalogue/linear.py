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
""", explain="your column of ones comes last; it must be the first column, before the columns of X."),
    Wrong("add_constant_feature", "a row of ones stacked on top (axis 0)", """\
def add_constant_feature(X):
    return np.vstack([np.ones(X.shape[1]), X])
""", explain="you added a row of ones (stacking along axis 0); the constant feature is a column, one 1 per example."),
    Wrong("add_constant_feature", "a column of zeros", """\
def add_constant_feature(X):
    return np.hstack([np.zeros((X.shape[0], 1)), X])
""", explain="your new first column holds zeros; the constant feature is 1 for every example."),
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
""", explain="your response leaves out the bias theta[0]."),
    Wrong("linear_response", "bias taken from the last entry of theta", """\
def linear_response(X, theta):
    return X @ theta[:-1] + theta[-1]
""", explain="you took the bias from the last entry of theta; the bias is theta[0], the weights follow it."),
    Wrong("linear_response", "weights multiplied from the wrong side (a transpose)", """\
def linear_response(X, theta):
    return theta[0] + theta[1:] @ X
""", explain="you multiplied the weights and X in the wrong order (a transpose); each row of X is one example."),
    Wrong("linear_response", "returns a column (N, 1) instead of (N,)", """\
def linear_response(X, theta):
    return theta[0] + X @ theta[1:, None]
""", explain="you return a column of shape (N, 1); one response per example is a vector of shape (N,)."),
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
""", explain="you give +1 where the response is exactly 0; the class is +1 only where r > 0."),
    Wrong("predict_sign", "np.sign as ints: 0 where r == 0", """\
def predict_sign(X, theta):
    return np.sign(linear_response(X, theta)).astype(int)
""", explain="np.sign gives 0 where the response is exactly 0; every example needs a class, +1 or -1."),
    Wrong("predict_sign", "np.sign: floats, and 0 where r == 0", """\
def predict_sign(X, theta):
    return np.sign(linear_response(X, theta))
""", explain="np.sign gives floats, and 0 where the response is exactly 0; return ints, +1 or -1 for every example."),
    Wrong("predict_sign", "returns booleans r > 0 instead of +-1", """\
def predict_sign(X, theta):
    return linear_response(X, theta) > 0
""", explain="you return booleans (r > 0); the classes are the ints +1 and -1."),
    Wrong("predict_sign", "bias forgotten", """\
def predict_sign(X, theta):
    return 2 * (X @ theta[1:] > 0) - 1
""", explain="your response leaves out the bias theta[0]."),
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
""", explain="your x2 has the wrong sign: solve theta[0] + theta[1]*x1 + theta[2]*x2 = 0 for x2 again."),
    Wrong("boundary_x2", "minus applied to the bias only", """\
def boundary_x2(x1, theta):
    return -theta[0] + theta[1] * x1 / theta[2]
""", explain="the minus sign and the division apply to the bias only; they apply to theta[0] + theta[1]*x1 as a whole."),
    Wrong("boundary_x2", "theta[1] and theta[2] swapped", """\
def boundary_x2(x1, theta):
    return -(theta[0] + theta[2] * x1) / theta[1]
""", explain="you swapped theta[1] and theta[2]: theta[1] multiplies x1, and you divide by the coefficient of x2."),
    Wrong("boundary_x2", "bias forgotten", """\
def boundary_x2(x1, theta):
    return -theta[1] * x1 / theta[2]
""", explain="your boundary leaves out the bias theta[0]."),
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
""", explain="your sigmoid computes exp of a large positive number, which overflows: 1/(1 + exp(-r)) does for r < -709, exp(r)/(1 + exp(r)) for r > 709, and np.where evaluates both formulas everywhere. Compute each formula only where its exp argument is not positive."),
    Wrong("sigmoid", "exp(r)/(1+exp(r)): overflows for r > 709", """\
def sigmoid(r):
    e = np.exp(r)
    return e / (1 + e)
""", explain="your sigmoid computes exp of a large positive number, which overflows: 1/(1 + exp(-r)) does for r < -709, exp(r)/(1 + exp(r)) for r > 709, and np.where evaluates both formulas everywhere. Compute each formula only where its exp argument is not positive."),
    Wrong("sigmoid", "np.where computes both branches, so one of them overflows", """\
def sigmoid(r):
    return np.where(r >= 0, 1 / (1 + np.exp(-r)), np.exp(r) / (1 + np.exp(r)))
""", explain="your sigmoid computes exp of a large positive number, which overflows: 1/(1 + exp(-r)) does for r < -709, exp(r)/(1 + exp(r)) for r > 709, and np.where evaluates both formulas everywhere. Compute each formula only where its exp argument is not positive."),
    Wrong("sigmoid", "np.empty_like keeps an integer r's dtype", """\
def sigmoid(r):
    r = np.asarray(r)
    out = np.empty_like(r)
    pos = r >= 0
    out[pos] = 1 / (1 + np.exp(-r[pos]))
    e = np.exp(r[~pos])
    out[~pos] = e / (1 + e)
    return out
""", explain="np.empty_like(r) keeps r's dtype, so for integer r your probabilities are cut to integers; make a float array."),
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
""", explain="you return the sum over the examples; the loss is their mean."),
    Wrong("logistic_nll", "cross-entropy of sigmoid(r): log(0) once sigmoid saturates", """\
def logistic_nll(X, y, theta):
    p = sigmoid(linear_response(X, theta))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
""", explain="log(sigmoid(r)) reaches log(0) once the sigmoid saturates at 0 or 1; write the loss with log(1 + exp(.)) in a stable form."),
    Wrong("logistic_nll", "probabilities clipped to [1e-12, 1 - 1e-12]: wrong for large responses", """\
def logistic_nll(X, y, theta):
    p = np.clip(sigmoid(linear_response(X, theta)), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
""", explain="clipping the probabilities changes the loss when responses are large; write the loss with log(1 + exp(.)) in a stable form instead."),
    Wrong("logistic_nll", "log(1 + exp(r)) overflows for large r", """\
def logistic_nll(X, y, theta):
    r = linear_response(X, theta)
    return np.mean(np.log(1 + np.exp(r)) - y * r)
""", explain="log(1 + exp(r)) overflows for large r; use np.logaddexp(0, r), or max(r, 0) + log(1 + exp(-|r|))."),
    Wrong("logistic_nll", "labels swapped", """\
def logistic_nll(X, y, theta):
    r = linear_response(X, theta)
    return np.mean(np.logaddexp(0.0, r) - (1 - y) * r)
""", explain="your loss treats the labels the other way round (y = 1 as the negative class)."),
    Wrong("logistic_nll", "bias forgotten", """\
def logistic_nll(X, y, theta):
    r = X @ theta[1:]
    return np.mean(np.logaddexp(0.0, r) - y * r)
""", explain="your responses leave out the bias theta[0]."),
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
""", explain="your gradient has the wrong sign (y - p instead of p - y): it points downhill."),
    Wrong("logistic_nll_grad", "sum instead of mean", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return Z.T @ (sigmoid(Z @ theta) - y)
""", explain="your gradient is summed over the examples; the loss is a mean, so divide by N."),
    Wrong("logistic_nll_grad", "transpose forgotten", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    return Z @ (sigmoid(Z @ theta) - y) / len(Z)
""", explain="a transpose is missing: the gradient has one entry per parameter, not one per example."),
    Wrong("logistic_nll_grad", "bias component forgotten", """\
def logistic_nll_grad(X, y, theta):
    return X.T @ (sigmoid(linear_response(X, theta)) - y) / len(X)
""", explain="your gradient leaves out the bias component (its first entry)."),
    Wrong("logistic_nll_grad", "naive sigmoid inline: overflows for large responses", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    p = 1 / (1 + np.exp(-(Z @ theta)))
    return Z.T @ (p - y) / len(Z)
""", explain="your inline 1/(1 + exp(-r)) overflows for large responses; call your stable sigmoid."),
    Wrong("logistic_nll_grad", "squared-error gradient with an extra p(1-p)", """\
def logistic_nll_grad(X, y, theta):
    Z = add_constant_feature(X)
    p = sigmoid(Z @ theta)
    return Z.T @ ((p - y) * p * (1 - p)) / len(Z)
""", explain="you multiplied by p(1 - p), the derivative of the sigmoid: that is the squared error's gradient; for this loss it cancels."),
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
""", explain="you step along the gradient (ascent); gradient descent subtracts lr times the gradient."),
    Wrong("fit_logistic_gd", "one step short", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps - 1):
        theta = theta - lr * logistic_nll_grad(X, y, theta)
    return theta
""", explain="your loop takes one step fewer than n_steps."),
    Wrong("fit_logistic_gd", "lr applied twice", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    for _ in range(n_steps):
        step = lr * logistic_nll_grad(X, y, theta)
        theta = theta - lr * step
    return theta
""", explain="each of your steps multiplies by the learning rate twice."),
    Wrong("fit_logistic_gd", "gradient computed once, before the loop", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.zeros(X.shape[1] + 1)
    grad = logistic_nll_grad(X, y, theta)
    for _ in range(n_steps):
        theta = theta - lr * grad
    return theta
""", explain="you compute the gradient once, before the loop; it must be computed again at every step, at the current theta."),
    Wrong("fit_logistic_gd", "starts from ones instead of zeros", """\
def fit_logistic_gd(X, y, lr, n_steps):
    theta = np.ones(X.shape[1] + 1)
    for _ in range(n_steps):
        theta = theta - lr * logistic_nll_grad(X, y, theta)
    return theta
""", explain="you start from theta = ones; gradient descent here starts from zeros."),
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
""", explain="the constant column x^0 = 1 is missing: the powers go from 0 to degree."),
    Wrong("polynomial_features", "decreasing powers (np.vander's default)", """\
def polynomial_features(x, degree):
    return np.vander(np.asarray(x, dtype=float), degree + 1)
""", explain="your powers decrease from left to right (np.vander's default order); they increase, x^0 first."),
    Wrong("polynomial_features", "transposed: one row per power", """\
def polynomial_features(x, degree):
    return np.asarray(x, dtype=float) ** np.arange(degree + 1)[:, None]
""", explain="your result is transposed: one row per example and one column per power."),
    Wrong("polynomial_features", "integer x kept as integers: large powers overflow", """\
def polynomial_features(x, degree):
    return np.vander(x, degree + 1, increasing=True)
""", explain="integer x stays integer, so large powers overflow; convert x to float first."),
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
""", explain="you normalized over the wrong axis: each row (one example) must sum to 1."),
    Wrong("softmax", "no max-subtraction: exp overflows for large logits", """\
def softmax(R):
    E = np.exp(R)
    return E / E.sum(axis=1, keepdims=True)
""", explain="exp of large logits overflows; subtract each row's maximum before exp (the result does not change)."),
    Wrong("softmax", "one global max subtracted: a row far below it becomes 0/0", """\
def softmax(R):
    E = np.exp(R - np.max(R))
    return E / E.sum(axis=1, keepdims=True)
""", explain="you subtract one maximum over the whole array; a row far below it underflows to 0/0. Subtract each row's own maximum."),
    Wrong("softmax", "keepdims forgotten: divides by the row sums along the wrong axis", """\
def softmax(R):
    E = np.exp(R - R.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)
""", explain="your row sums lost their axis (keepdims), so each entry is divided by the wrong row's sum."),
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
""", explain="you return the sum over the examples; the loss is their mean."),
    Wrong("softmax_nll", "log of softmax: log(0) once a probability underflows", """\
def softmax_nll(R, y):
    P = softmax(R)
    return -np.mean(np.log(P[np.arange(len(R)), y]))
""", explain="log(softmax(R)) gives log(0) once a probability underflows; use the log-sum-exp form."),
    Wrong("softmax_nll", "R[:, y] picks every label in every row", """\
def softmax_nll(R, y):
    m = R.max(axis=1)
    lse = m + np.log(np.exp(R - m[:, None]).sum(axis=1))
    return np.mean(lse - R[:, y])
""", explain="R[:, y] picks every label's column in every row; each example needs only its own label, R[n, y[n]]."),
    Wrong("softmax_nll", "log-sum-exp without max-subtraction: overflows for large logits", """\
def softmax_nll(R, y):
    lse = np.log(np.exp(R).sum(axis=1))
    return np.mean(lse - R[np.arange(len(R)), y])
""", explain="your log-sum-exp overflows for large logits; subtract each row's maximum before exp and add it back after the log."),
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
""", explain="your gradient is not divided by N; the loss is a mean over the examples."),
    Wrong("softmax_nll_grad", "sign flipped: onehot - softmax", """\
def softmax_nll_grad(R, y):
    return (np.eye(R.shape[1])[y] - softmax(R)) / len(R)
""", explain="your gradient has the wrong sign (onehot - softmax instead of softmax - onehot)."),
    Wrong("softmax_nll_grad", "G[:, y] -= 1 subtracts in every row", """\
def softmax_nll_grad(R, y):
    G = softmax(R)
    G[:, y] -= 1
    return G / len(R)
""", explain="G[:, y] -= 1 subtracts in every row; each row subtracts 1 at its own label only."),
    Wrong("softmax_nll_grad", "softmax over the wrong axis", """\
def softmax_nll_grad(R, y):
    E = np.exp(R - R.max(axis=0, keepdims=True))
    G = E / E.sum(axis=0, keepdims=True)
    G[np.arange(len(R)), y] -= 1
    return G / len(R)
""", explain="your softmax normalizes over the wrong axis: each row must sum to 1."),
    Wrong("softmax_nll_grad", "softmax without max-subtraction: overflows for large logits", """\
def softmax_nll_grad(R, y):
    E = np.exp(R)
    G = E / E.sum(axis=1, keepdims=True)
    G[np.arange(len(R)), y] -= 1
    return G / len(R)
""", explain="your softmax overflows for large logits; subtract each row's maximum before exp."),
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
    Wrong("answer_features", "[1, x, x^2]: two boundary points at most", 'answer_features = "a"\n'),
    Wrong("answer_features", "[1, x^2, x^4]: the same class at x and -x", 'answer_features = "b"\n'),
    Wrong("answer_features", "[x, x^2, x^3]: without the constant, r(0) = 0 always", 'answer_features = "d"\n'),
    Wrong("answer_iris_parameters", "biases forgotten: 4 * 3 weights only", "answer_iris_parameters = 12\n"),
    Wrong("answer_iris_parameters", "the two-measurement model above: 2 * 3 + 3", "answer_iris_parameters = 9\n"),
    Wrong("answer_iris_parameters", "one response instead of one per class: 4 + 1", "answer_iris_parameters = 5\n"),
]
ENTRIES += cheats('sigmoid', 'r', '    return np.zeros(np.shape(r))\n', 'linear')

