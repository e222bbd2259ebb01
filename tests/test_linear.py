"""Unit tests of nn273.linear: values against torch in float64, gradients against central differences,
hypothesis for the elementwise maths, the large-logit edge cases, input checks, and untouched inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nn273.gradcheck import check_gradient
from nn273.linear import (
    add_constant_feature,
    boundary_x2,
    fit_logistic_gd,
    linear_response,
    logistic_nll,
    logistic_nll_grad,
    polynomial_features,
    predict_sign,
    sigmoid,
    softmax,
    softmax_nll,
    softmax_nll_grad,
)

pytestmark = pytest.mark.filterwarnings("error")

SHAPES = [(1, 1), (1, 3), (4, 2), (3, 3), (4, 3), (9, 5)]  # a batch of one, square X, square [1, X]
finite = st.floats(allow_nan=False, allow_infinity=False)
fast = settings(max_examples=60, deadline=None)


def _data(N, D, seed=0):
    rng = np.random.default_rng([N, D, seed])
    return rng.standard_normal((N, D)), rng.integers(0, 2, N), rng.standard_normal(D + 1)


def _logits(N, K, seed=0, scale=3.0):
    rng = np.random.default_rng([N, K, seed])
    return rng.normal(0, scale, (N, K)), rng.integers(0, K, N)


def _torch(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def _bce(X, y, theta):
    """Torch's mean binary cross-entropy with logits r = theta[0] + X @ theta[1:], and its gradient."""
    t = _torch(theta).requires_grad_()
    loss = F.binary_cross_entropy_with_logits(t[0] + _torch(X) @ t[1:], _torch(y))
    loss.backward()
    return loss.item(), t.grad.numpy()


def _cross_entropy(R, y):
    """Torch's mean cross-entropy of integer labels y under softmax(R), and its gradient."""
    Rt = _torch(R).requires_grad_()
    loss = F.cross_entropy(Rt, torch.as_tensor(np.asarray(y), dtype=torch.long))
    loss.backward()
    return loss.item(), Rt.grad.numpy()


# ---------------------------------------------------------------------------------- features
@pytest.mark.parametrize("shape", SHAPES)
def test_add_constant_feature_prepends_ones(shape):
    X = _data(*shape)[0]
    Z = add_constant_feature(X)
    assert Z.shape == (shape[0], shape[1] + 1) and Z.dtype == np.float64
    np.testing.assert_array_equal(Z[:, 0], 1.0)
    np.testing.assert_array_equal(Z[:, 1:], X)


def test_add_constant_feature_takes_integers():
    np.testing.assert_array_equal(add_constant_feature(np.array([[2, 3]])), [[1.0, 2.0, 3.0]])


def test_polynomial_features_columns_are_powers():
    x = np.array([-1.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(polynomial_features(x, 3), np.stack([x**0, x, x**2, x**3], axis=1))
    np.testing.assert_array_equal(polynomial_features(x, 0), np.ones((4, 1)))  # 0**0 is 1
    np.testing.assert_array_equal(polynomial_features(np.array([2.0]), 2), [[1.0, 2.0, 4.0]])


def test_polynomial_features_of_integers_do_not_overflow():
    P = polynomial_features(np.array([-3, 0, 12]), 19)
    assert P.dtype == np.float64
    np.testing.assert_allclose(P[2, 19], 12.0**19)


# ------------------------------------------------------------------------- linear classifier
@pytest.mark.parametrize("shape", SHAPES)
def test_linear_response_matches_torch(shape):
    X, _, theta = _data(*shape)
    expected = (_torch(theta)[0] + _torch(X) @ _torch(theta)[1:]).numpy()
    np.testing.assert_allclose(linear_response(X, theta), expected, rtol=1e-12, atol=1e-14)


def test_predict_sign_is_minus_one_at_zero():
    X = np.array([[1, 2], [2, -1], [0, 0], [0, 2]])
    theta = np.array([1.0, 1.0, -1.0])  # r = 0, 4, 1, -1
    y_hat = predict_sign(X, theta)
    np.testing.assert_array_equal(y_hat, [-1, 1, 1, -1])
    assert np.issubdtype(y_hat.dtype, np.integer)
    np.testing.assert_array_equal(predict_sign(np.ones((3, 2)), np.zeros(3)), [-1, -1, -1])


@pytest.mark.parametrize("shape", [(1, 2), (6, 3)])
def test_predict_sign_agrees_with_the_response(shape):
    X, _, theta = _data(*shape)
    np.testing.assert_array_equal(
        predict_sign(X, theta), np.where(linear_response(X, theta) > 0, 1, -1)
    )


def test_boundary_x2_lies_on_the_boundary():
    theta = np.array([0.5, -2.0, 1.5])
    x1 = np.linspace(-3, 3, 7)
    x2 = boundary_x2(x1, theta)
    assert x2.shape == x1.shape
    np.testing.assert_allclose(linear_response(np.stack([x1, x2], axis=1), theta), 0, atol=1e-12)
    x2_scalar = boundary_x2(1.0, theta)
    assert np.ndim(x2_scalar) == 0 and x2_scalar == pytest.approx(-(0.5 - 2.0) / 1.5)
    assert boundary_x2(2, np.array([1, 2, -3])) == pytest.approx(5 / 3)


# -------------------------------------------------------------------------------- sigmoid
def test_sigmoid_matches_torch():
    r = np.concatenate(
        [np.random.default_rng(1).normal(0, 10, 50), [-700.0, -40.0, 0.0, 40.0, 700.0]]
    )
    np.testing.assert_allclose(
        sigmoid(r), torch.sigmoid(_torch(r)).numpy(), rtol=1e-13, atol=1e-300
    )


def test_sigmoid_at_the_edges():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = sigmoid(np.array([-1e4, -745.0, -709.9, 0.0, 709.9, 745.0, 1e4]))
    np.testing.assert_array_equal(s[[0, 3, 5, 6]], [0.0, 0.5, 1.0, 1.0])
    assert s[1] == np.exp(-745.0)  # the smallest subnormal, not 0: relative accuracy in the tail
    np.testing.assert_allclose(s[2], np.exp(-709.9), rtol=1e-13)
    assert sigmoid(0) == 0.5 and np.ndim(sigmoid(0.0)) == 0
    assert sigmoid(np.array([[-3, 0, 3]])).shape == (1, 3)
    np.testing.assert_array_equal(sigmoid(np.array([-1000, 0, 1000])), [0.0, 0.5, 1.0])


@fast
@given(finite)
def test_sigmoid_symmetry_without_warnings(r):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s, s_neg = sigmoid(r), sigmoid(-r)
    assert 0.0 <= s <= 1.0
    assert abs(s_neg - (1.0 - s)) <= 2e-16


@fast
@given(st.floats(-30, 30))
def test_sigmoid_strictly_inside_where_not_saturated(r):
    assert 0.0 < sigmoid(r) < 1.0


@fast
@given(hnp.arrays(np.float64, st.integers(2, 20), elements=finite))
def test_sigmoid_is_monotone(r):
    r = np.sort(r)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        s = sigmoid(r)
    assert s.shape == r.shape
    assert np.all(s[:-1] <= np.nextafter(s[1:], np.inf))  # up to one rounding step


# ------------------------------------------------------------------------ logistic regression
@pytest.mark.parametrize("shape", SHAPES)
def test_logistic_nll_and_grad_match_torch(shape):
    X, y, theta = _data(*shape)
    loss, grad = _bce(X, y, theta)
    assert logistic_nll(X, y, theta) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(logistic_nll_grad(X, y, theta), grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_logistic_nll_grad_against_central_differences(shape):
    X, y, theta = _data(*shape, seed=1)
    check_gradient(
        lambda t: logistic_nll(X, y, t), [theta], [logistic_nll_grad(X, y, theta)], names=["theta"]
    )


def test_logistic_nll_at_responses_of_1e4():
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.5, 0.5]])
    y = np.array([1, 1, 0, 0, 1])
    theta = np.array([0.0, 1e4, -1e4])  # r = 1e4, -1e4, -1e4, 1e4, 0
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = logistic_nll(X, y, theta)
        grad = logistic_nll_grad(X, y, theta)
    assert loss == pytest.approx((2e4 + np.log(2)) / 5, rel=1e-12)
    assert loss == pytest.approx(_bce(X, y, theta)[0], rel=1e-12)
    np.testing.assert_allclose(grad, _bce(X, y, theta)[1], rtol=1e-12)
    assert logistic_nll(np.array([[1.0]]), np.array([1]), np.array([0.0, 1e4])) == 0.0


def test_logistic_nll_at_zero_is_log_two():
    X, y, _ = _data(5, 3)
    assert logistic_nll(X, y, np.zeros(4)) == pytest.approx(np.log(2), rel=1e-14)
    assert logistic_nll(X, y.astype(float), np.zeros(4)) == pytest.approx(np.log(2), rel=1e-14)


def test_fit_logistic_gd_takes_the_steps_asked_for():
    X, y, _ = _data(6, 2)
    np.testing.assert_array_equal(fit_logistic_gd(X, y, lr=0.5, n_steps=0), np.zeros(3))
    np.testing.assert_allclose(
        fit_logistic_gd(X, y, 0.5, 1), -0.5 * logistic_nll_grad(X, y, np.zeros(3))
    )
    theta = np.zeros(3)
    for _ in range(5):
        theta = theta - 0.3 * logistic_nll_grad(X, y, theta)
    np.testing.assert_allclose(fit_logistic_gd(X, y, 0.3, 5), theta, rtol=1e-14)


@pytest.mark.parametrize("shape", [(1, 2), (8, 3)])
def test_fit_logistic_gd_matches_torch_sgd(shape):
    X, y, _ = _data(*shape)
    theta = torch.zeros(shape[1] + 1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=0.7)
    for _ in range(12):
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(theta[0] + _torch(X) @ theta[1:], _torch(y)).backward()
        optimizer.step()
    np.testing.assert_allclose(
        fit_logistic_gd(X, y, 0.7, 12), theta.detach().numpy(), rtol=1e-10, atol=1e-14
    )


def test_fit_logistic_gd_lowers_the_loss_and_separates():
    rng = np.random.default_rng(273)
    X = np.vstack([rng.normal(-2, 1, (20, 2)), rng.normal(2, 1, (20, 2))])
    y = np.repeat([0, 1], 20)
    theta = fit_logistic_gd(X, y, 0.5, 200)
    assert logistic_nll(X, y, theta) < 0.2 * np.log(2)
    assert np.mean(predict_sign(X, theta) == 2 * y - 1) >= 0.95


# ------------------------------------------------------------------------- softmax regression
@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 3), (3, 3), (6, 2)])
def test_softmax_and_nll_match_torch(shape):
    R, y = _logits(*shape)
    np.testing.assert_allclose(
        softmax(R), torch.softmax(_torch(R), dim=1).numpy(), rtol=1e-12, atol=1e-300
    )
    loss, grad = _cross_entropy(R, y)
    assert softmax_nll(R, y) == pytest.approx(loss, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(softmax_nll_grad(R, y), grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 3), (3, 3), (6, 2)])
def test_softmax_nll_grad_against_central_differences(shape):
    R, y = _logits(*shape, seed=1)
    check_gradient(lambda Rp: softmax_nll(Rp, y), [R], [softmax_nll_grad(R, y)], names=["R"])


def test_softmax_at_logits_of_1e4():
    R = np.array(
        [[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4 + 2], [1e4, 1e4, 1e4], [3.0, -1e4, 1e4 - 1]]
    )
    y = np.array([1, 2, 0, 2])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        P, loss, grad = softmax(R), softmax_nll(R, y), softmax_nll_grad(R, y)
    np.testing.assert_allclose(P, torch.softmax(_torch(R), dim=1).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(P[2], 1 / 3)
    expected_loss, expected_grad = _cross_entropy(R, y)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-15)
    assert softmax_nll(np.array([[10000, -10000, 0]]), np.array([0])) == 0.0


logit_rows = hnp.arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.integers(1, 6)),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)


@fast
@given(logit_rows, st.floats(-1e3, 1e3))
def test_softmax_rows_sum_to_one_and_ignore_shifts(R, c):
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        P = softmax(R)
        P_shifted = softmax(R + c)
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(P_shifted, P, atol=1e-9)


@fast
@given(logit_rows, st.data())
def test_softmax_nll_is_finite_and_nonnegative(R, data):
    y = np.array(
        data.draw(
            st.lists(st.integers(0, R.shape[1] - 1), min_size=R.shape[0], max_size=R.shape[0])
        )
    )
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, grad = softmax_nll(R, y), softmax_nll_grad(R, y)
    assert np.isfinite(loss) and loss >= 0
    np.testing.assert_allclose(
        grad.sum(axis=1), 0.0, atol=1e-12
    )  # softmax and the one-hot both sum to one


# ------------------------------------------------------------------------------ input checks
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: add_constant_feature(np.ones(3)), r"X must be 2-D.*shape \(3,\)"),
        (
            lambda: linear_response(np.ones((4, 2)), np.ones(2)),
            r"theta must have shape \(D\+1,\) = \(3,\).*got shape \(2,\)",
        ),
        (lambda: linear_response(np.ones((4, 2)), np.ones((3, 1))), r"theta must be 1-D.*\(3, 1\)"),
        (lambda: predict_sign(np.ones((4, 2)), np.ones(4)), r"\(3,\).*got shape \(4,\)"),
        (lambda: boundary_x2(1.0, np.ones(4)), r"theta of shape \(3,\).*got shape \(4,\)"),
        (lambda: boundary_x2(1.0, np.array([1.0, 2.0, 0.0])), r"theta\[2\] is 0"),
        (
            lambda: logistic_nll(np.ones((3, 2)), np.array([0, 1, -1]), np.ones(3)),
            r"labels 0 and 1.*\[-1\.0\]",
        ),
        (
            lambda: logistic_nll(np.ones((3, 2)), np.array([0, 1]), np.ones(3)),
            r"y must have shape \(N,\) = \(3,\).*\(2,\)",
        ),
        (
            lambda: logistic_nll_grad(np.ones((3, 2)), np.array([0, 1, 1]), np.ones(2)),
            r"\(3,\).*got shape \(2,\)",
        ),
        (
            lambda: fit_logistic_gd(np.ones((3, 2)), np.array([0, 1, 1]), 0.0, 5),
            r"lr must be a positive number; got 0\.0",
        ),
        (
            lambda: fit_logistic_gd(np.ones((3, 2)), np.array([0, 1, 1]), 0.1, 2.5),
            r"n_steps must be a whole number >= 0; got 2\.5",
        ),
        (lambda: polynomial_features(np.ones((3, 1)), 2), r"x must be 1-D.*\(3, 1\)"),
        (
            lambda: polynomial_features(np.ones(3), -1),
            r"degree must be a whole number >= 0; got -1",
        ),
        (lambda: softmax(np.ones(3)), r"R must be 2-D.*\(3,\)"),
        (lambda: softmax_nll(np.ones((2, 3)), np.array([0, 3])), r"labels in 0\.\.2.*\[3\]"),
        (
            lambda: softmax_nll_grad(np.ones((2, 3)), np.array([0, 1, 2])),
            r"y must have shape \(N,\) = \(2,\).*\(3,\)",
        ),
    ],
)
def test_bad_input_says_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_fractional_class_labels_are_a_type_error():
    with pytest.raises(TypeError, match="integer class labels"):
        softmax_nll(np.ones((2, 3)), np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match=r"array-like of float64.*str"):
        linear_response("not an array", np.ones(2))
    np.testing.assert_allclose(softmax_nll(np.zeros((2, 3)), np.array([0.0, 2.0])), np.log(3))


# -------------------------------------------------------------------------- untouched inputs
X0, y0, theta0 = _data(5, 2)
R0, k0 = _logits(5, 3)


@pytest.mark.parametrize(
    "fn, args",
    [
        (add_constant_feature, (X0,)),
        (linear_response, (X0, theta0)),
        (predict_sign, (X0, theta0)),
        (boundary_x2, (X0[:, 0], theta0)),
        (sigmoid, (X0,)),
        (logistic_nll, (X0, y0, theta0)),
        (logistic_nll_grad, (X0, y0, theta0)),
        (fit_logistic_gd, (X0, y0, 0.5, 3)),
        (polynomial_features, (X0[:, 0], 3)),
        (softmax, (R0,)),
        (softmax_nll, (R0, k0)),
        (softmax_nll_grad, (R0, k0)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_inputs_are_left_unchanged(fn, args):
    copies = [np.copy(a) for a in args]
    out = fn(*args)
    for before, after in zip(copies, args):
        np.testing.assert_array_equal(before, after)
    for a in args:  # nor may the result be a view that would let a caller change the input
        if isinstance(a, np.ndarray) and isinstance(out, np.ndarray):
            assert not np.shares_memory(out, a)
