"""Hidden tests of 01_linear, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>(<function>)` draws seeded inputs of several shapes (a batch of one, square cases
where a forgotten transpose would keep the shapes right, integer-typed arrays) and the curriculum's edge
cases (r exactly 0, sigmoid at +-745 and +-1e4, logits of 1e4), calls the student's function through
the harness, and compares with an oracle written below in plain `math`, independently of nn273.
Gradients are checked against central differences of that oracle and against their closed form.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without ever telling the expected one.
"""

import math
from functools import partial

import numpy as np

import nn273.linear

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_add_constant_feature",
    "test_answer_features",
    "test_answer_iris_parameters",
    "test_boundary_x2",
    "test_fit_logistic_gd",
    "test_linear_response",
    "test_logistic_nll",
    "test_logistic_nll_grad",
    "test_polynomial_features",
    "test_predict_sign",
    "test_sigmoid",
    "test_softmax",
    "test_softmax_nll",
    "test_softmax_nll_grad",
]

H = Harness(nn273.linear)

_LARGE = "(the responses here are as large as 1e4: never compute exp of a large positive number)"
_INTS = "(the inputs here are integer arrays: convert them to float before computing)"


# --------------------------------------------------------------------------------------- tests
def test_add_constant_feature(add_constant_feature):
    rng = H.rng("add_constant_feature")
    cases = [rng.standard_normal(s) for s in [(1, 1), (1, 3), (4, 2), (3, 3), (6, 1), (5, 4)]]
    cases.append(rng.integers(-5, 6, size=(4, 3)))
    for X in cases:
        what = _what("add_constant_feature", X=X)
        with H.hint("(the result is [1, X]: a column of ones first, then the columns of X)"):
            got = H.as_float(
                H.call(add_constant_feature, X, case=what), what, shape=(X.shape[0], X.shape[1] + 1)
            )
            H.assert_close(got, [[1.0] + [float(v) for v in row] for row in X], what)


def test_linear_response(linear_response):
    rng = H.rng("linear_response")
    for X, theta in _classifier_cases(rng):
        what = _what("linear_response", X=X, theta=theta)
        with H.hint("(r = theta[0] + X @ theta[1:]: the bias first, one value per row of X)"):
            got = H.as_float(
                H.call(linear_response, X, theta, case=what), what, shape=(X.shape[0],)
            )
            H.assert_close(got, _responses(X, theta), what)


def test_predict_sign(predict_sign):
    rng = H.rng("predict_sign")
    cases = []
    for X, theta in _classifier_cases(rng):
        theta = theta.copy()
        step = 1 if np.issubdtype(theta.dtype, np.integer) else 0.1  # 0.1 added to an int adds nothing
        while min(abs(r) for r in _responses(X, theta)) < 1e-6:  # keep clear of r = 0 here
            theta[0] += step
        cases.append((X, theta, "(+1 where r = theta[0] + X @ theta[1:] > 0, else -1)"))
    zero = "(r is exactly 0 for some examples here, and r = 0 must give -1: the class is +1 only where r > 0)"
    cases += [
        (
            np.array([[1, 2], [2, -1], [0, 0], [3, 1], [0, 2], [2, 3]]),
            np.array([1.0, 1.0, -1.0]),
            zero,
        ),
        (rng.standard_normal((4, 3)), np.zeros(4), zero),
        (np.array([[0.5, 0.25]]), np.array([-0.25, 1.0, -1.0]), zero),
    ]
    for X, theta, hint in cases:
        what = _what("predict_sign", X=X, theta=theta)
        with H.hint(hint):
            got = H.call(predict_sign, X, theta, case=what)
            dtype = np.asarray(got).dtype
            if not np.issubdtype(dtype, np.integer):
                raise HiddenTestFailure(
                    f"{what} must return ints (+1 and -1, as 2*(r > 0) - 1 does); received dtype {dtype}"
                )
            got = H.as_float(got, what, shape=(X.shape[0],))
            H.assert_close(got, [1.0 if r > 0 else -1.0 for r in _responses(X, theta)], what)


def test_boundary_x2(boundary_x2):
    rng = H.rng("boundary_x2")
    thetas = [np.array([1, 2, -3])]
    for _ in range(3):
        theta = rng.standard_normal(3)
        theta[2] = np.sign(theta[2]) * (0.3 + abs(theta[2]))
        thetas.append(theta)
    for theta in thetas:
        for x1 in [
            rng.standard_normal(1),
            rng.uniform(-3, 3, 6),
            np.arange(-2, 3),
            float(rng.standard_normal()),
            2,
        ]:
            what = _what("boundary_x2", x1=x1, theta=theta)
            t0, t1, t2 = (float(t) for t in theta)
            expected = np.reshape([-(t0 + t1 * float(v)) / t2 for v in np.ravel(x1)], np.shape(x1))
            with H.hint(
                "(x2 = -(theta[0] + theta[1]*x1) / theta[2], shaped like x1: a number for a number)"
            ):
                got = H.as_float(
                    H.call(boundary_x2, x1, theta, case=what), what, shape=np.shape(x1)
                )
                H.assert_close(got, expected, what)


def test_sigmoid(sigmoid):
    rng = H.rng("sigmoid")
    cases = [
        (rng.normal(0, 4, 7), ""),
        (rng.normal(0, 4, 1), ""),
        (rng.normal(0, 4, (3, 4)), "(r is 2-D here: sigmoid works elementwise on any shape)"),
        (0.0, "(r is a number here: the result is a number)"),
        (-2.5, "(r is a number here: the result is a number)"),
        (np.array([-1e4, -745.0, -709.9, -40.0, -1.0, -0.0, 0.0, 40.0, 709.9, 745.0, 1e4]), _LARGE),
        (np.array([-1000, -745, -3, 0, 2, 745, 1000]), _INTS),
    ]
    for r, hint in cases:
        what = _what("sigmoid", r=r)
        expected = np.reshape([_sigmoid(float(v)) for v in np.ravel(r)], np.shape(r))
        with H.hint(hint or "(sigmoid(r) = 1 / (1 + exp(-r)), elementwise)"):
            got = H.as_float(H.call(sigmoid, r, case=what), what, shape=np.shape(r))
            H.assert_close(got, expected, what)


def test_logistic_nll(logistic_nll):
    rng = H.rng("logistic_nll")
    for X, y, theta, hint in _logistic_cases(rng):
        what = _what("logistic_nll", X=X, y=y, theta=theta)
        with H.hint(
            hint or "(the mean over examples of -log P(y | x), with P(y = 1 | x) = sigmoid(r))"
        ):
            got = H.as_float(H.call(logistic_nll, X, y, theta, case=what), what, shape=())
            H.assert_close(got, _logistic_nll(X, y, theta), what)


def test_logistic_nll_grad(logistic_nll_grad):
    rng = H.rng("logistic_nll_grad")
    for X, y, theta, hint in _logistic_cases(rng):
        what = _what("logistic_nll_grad", X=X, y=y, theta=theta)
        with H.hint(
            hint or "(the gradient is the mean over examples of (sigmoid(r) - y) * [1, x])"
        ):
            got = H.as_float(
                H.call(logistic_nll_grad, X, y, theta, case=what), what, shape=theta.shape
            )
            H.assert_close(got, _logistic_grad(X, y, theta), what)
            if not hint:  # where r is 1e4 the loss is too large for central differences to resolve
                nll = partial(_logistic_nll, X, y)
                H.assert_gradient(nll, theta, got, f"{what}, against central differences,")


def test_fit_logistic_gd(fit_logistic_gd):
    rng = H.rng("fit_logistic_gd")
    datasets = [
        (rng.standard_normal((N, D)) + 0.5, rng.integers(0, 2, N))
        for N, D in [(1, 2), (6, 2), (4, 3), (8, 1)]
    ]
    datasets.append(
        (np.array([[0, 1], [2, -1], [1, 1], [-2, 0], [3, 2]]), np.array([0, 1, 1, 0, 1]))
    )
    for X, y in datasets:
        for lr, n_steps in [(0.1, 1), (0.5, 4), (2.0, 10), (0.3, 0)]:
            what = _what("fit_logistic_gd", X=X, y=y, lr=lr, n_steps=n_steps)
            theta = [0.0] * (X.shape[1] + 1)
            for _ in range(n_steps):
                theta = [t - lr * g for t, g in zip(theta, _logistic_grad(X, y, theta))]
            with H.hint(
                "(start from theta = 0 and take exactly n_steps steps theta <- theta - lr * logistic_nll_grad)"
            ):
                got = H.as_float(
                    H.call(fit_logistic_gd, X, y, lr, n_steps, case=what),
                    what,
                    shape=(X.shape[1] + 1,),
                )
                H.assert_close(got, theta, what)


def test_polynomial_features(polynomial_features):
    rng = H.rng("polynomial_features")
    cases = [
        (rng.standard_normal(1), 3, ""),
        (rng.standard_normal(5), 2, ""),
        (
            rng.standard_normal(4),
            3,
            "(here N = degree+1, so a transposed result would have the right shape)",
        ),
        (np.array([-1.5, 0.0, 0.5, 2.0, 1.0]), 0, "(degree 0 gives the single column x**0 = 1)"),
        (np.array([-1.5, 0.0, 0.5, 2.0, 1.0]), 1, ""),
        (np.arange(-2, 3), 4, _INTS),
        (
            np.array([-3, 0, 2, 7, 12]),
            19,
            _INTS[:-1] + "; in integers, powers such as 12**19 overflow int64)",
        ),
    ]
    for x, degree, hint in cases:
        what = _what("polynomial_features", x=x, degree=degree)
        with H.hint(
            hint or "(one row per example, column k holding x**k for k = 0, 1, ..., degree)"
        ):
            got = H.as_float(
                H.call(polynomial_features, x, degree, case=what), what, shape=(len(x), degree + 1)
            )
            H.assert_close(got, [[float(v) ** k for k in range(degree + 1)] for v in x], what)


def test_softmax(softmax):
    rng = H.rng("softmax")
    for R, _, hint in _softmax_cases(rng):
        what = _what("softmax", R=R)
        with H.hint(
            hint or "(each row of R is exponentiated and normalized to sum to one on its own)"
        ):
            got = H.as_float(H.call(softmax, R, case=what), what, shape=R.shape)
            H.assert_close(got, [_softmax_row(row) for row in R], what)


def test_softmax_nll(softmax_nll):
    rng = H.rng("softmax_nll")
    for R, y, hint in _softmax_cases(rng):
        what = _what("softmax_nll", R=R, y=y)
        with H.hint(hint or "(the mean over examples i of -log softmax(R)[i, y[i]])"):
            got = H.as_float(H.call(softmax_nll, R, y, case=what), what, shape=())
            H.assert_close(got, _softmax_nll(R, y), what)


def test_softmax_nll_grad(softmax_nll_grad):
    rng = H.rng("softmax_nll_grad")
    for R, y, hint in _softmax_cases(rng):
        what = _what("softmax_nll_grad", R=R, y=y)
        N = R.shape[0]
        expected = [
            [(p - (k == y[i])) / N for k, p in enumerate(_softmax_row(row))]
            for i, row in enumerate(R)
        ]
        with H.hint(hint or "(the gradient is (softmax(R) - onehot(y)) / N)"):
            got = H.as_float(H.call(softmax_nll_grad, R, y, case=what), what, shape=R.shape)
            H.assert_close(got, expected, what)
            if not hint:  # where logits are 1e4 the loss is too large for central differences
                nll = partial(_softmax_nll, y=y)
                H.assert_gradient(nll, R, got, f"{what}, against central differences,")


# ------------------------------------------------------------------------------- questions
def test_answer_features(answer):
    H.choice(
        answer,
        "c",
        "abcd",
        "which features let a linear classifier give +1 exactly where x < -1 or 0.5 < x < 1.5",
    )


def test_answer_iris_parameters(answer):
    H.number(
        answer,
        15,
        "how many weights and biases a softmax classifier of 4 measurements into 3 classes has",
    )


# ------------------------------------------------------------------------------ input drawing
def _classifier_cases(rng):
    """(X, theta) pairs: a batch of one, square X and square [1, X], integer X and theta."""
    cases = [
        (rng.standard_normal((N, D)), rng.standard_normal(D + 1))
        for N, D in [(1, 1), (1, 3), (4, 2), (3, 3), (4, 3), (7, 5)]
    ]
    cases.append((rng.integers(-4, 5, size=(5, 2)), np.array([2, -1, 3])))
    return cases


def _logistic_cases(rng):
    """(X, y, theta, hint): random data of several shapes, integer and float labels, responses of 1e4."""
    cases = []
    for N, D in [(1, 1), (1, 2), (3, 3), (4, 3), (10, 2), (6, 4)]:
        cases.append(
            (rng.standard_normal((N, D)), rng.integers(0, 2, N), rng.standard_normal(D + 1), "")
        )
    cases.append(
        (
            rng.standard_normal((5, 2)),
            np.array([1.0, 0.0, 0.0, 1.0, 1.0]),
            rng.standard_normal(3),
            "",
        )
    )
    cases.append(
        (rng.integers(-3, 4, size=(6, 2)), np.array([0, 1, 1, 0, 1, 0]), rng.standard_normal(3), "")
    )
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.5, 0.5]])
    cases.append((X, np.array([1, 1, 0, 0, 1]), np.array([0.0, 1e4, -1e4]), _LARGE))
    cases.append((np.array([[1.0]]), np.array([1]), np.array([0.0, 1e4]), _LARGE))
    cases.append((np.array([[1.0]]), np.array([0]), np.array([0.0, 1e4]), _LARGE))
    cases.append((np.array([[-2.0, 1.0]]), np.array([0]), np.array([3.0, -1e4, 2e3]), _LARGE))
    return cases


def _softmax_cases(rng):
    """(R, y, hint): logits of several shapes (square among them), integer logits, logits of 1e4."""
    cases = []
    for N, K in [(1, 1), (1, 4), (4, 3), (3, 3), (2, 5), (6, 2)]:
        cases.append((rng.normal(0, 3, (N, K)), rng.integers(0, K, N), ""))
    cases.append(
        (np.array([[1, 2, 3], [0, 0, 0], [-5, 5, 1]]), np.array([2, 0, 0], dtype=np.int32), "")
    )
    large = "(logits here are as large as 1e4: subtract each row's maximum before exp)"
    R = np.array(
        [[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4 + 2], [1e4, 1e4, 1e4], [3.0, -1e4, 1e4 - 1]]
    )
    cases.append((R, np.array([1, 2, 0, 2]), large))
    cases.append((rng.normal(0, 1e4, (3, 4)), rng.integers(0, 4, 3), large))
    cases.append((np.array([[10000, -10000, 0]]), np.array([0]), large))
    return cases


# --------------------------------------------------------------------- oracles, in plain math
def _responses(X, theta):
    t = [float(v) for v in theta]
    return [math.fsum([t[0]] + [w * float(x) for w, x in zip(t[1:], row)]) for row in X]


def _sigmoid(r):
    if r >= 0:
        return 1.0 / (1.0 + math.exp(-r))
    e = math.exp(r)
    return e / (1.0 + e)


def _softplus(s):
    return max(s, 0.0) + math.log1p(math.exp(-abs(s)))


def _logistic_nll(X, y, theta):
    # -log P(y | x) = log(1 + exp(r)) for y = 0 and log(1 + exp(-r)) for y = 1
    return math.fsum(_softplus(r if t == 0 else -r) for r, t in zip(_responses(X, theta), y)) / len(
        X
    )


def _logistic_grad(X, y, theta):
    errors = [_sigmoid(r) - float(t) for r, t in zip(_responses(X, theta), y)]
    Z = [[1.0] + [float(v) for v in row] for row in X]
    return [math.fsum(e * z[j] for e, z in zip(errors, Z)) / len(X) for j in range(len(Z[0]))]


def _softmax_row(row):
    m = max(float(v) for v in row)
    e = [math.exp(float(v) - m) for v in row]
    s = math.fsum(e)
    return [v / s for v in e]


def _softmax_nll(R, y):
    terms = []
    for row, k in zip(R, y):
        m = max(float(v) for v in row)
        terms.append(m + math.log(math.fsum(math.exp(float(v) - m) for v in row)) - float(row[k]))
    return math.fsum(terms) / len(R)


# ------------------------------------------------------------------------------------ helpers
def _what(name, **inputs):
    """`name(a, b)` for a = ..., b = ...: small inputs in full, larger ones by shape."""
    return f"{name}({', '.join(inputs)}) for " + ", ".join(_show(k, v) for k, v in inputs.items())


def _show(name, value):
    a = np.asarray(value)
    if a.ndim == 0:
        return f"{name} = {a.item()!r}"
    kind = "" if a.dtype == np.float64 else f" (dtype {a.dtype})"
    if a.size > 12:
        return f"{name} of shape {a.shape}{kind}"
    text = np.array2string(
        a, separator=", ", max_line_width=10**6, formatter={"float_kind": "{:.8g}".format}
    )
    return f"{name}{kind} = {' '.join(text.split())}"
