"""nn273.gradcheck: the numerical gradient every other test trusts, and the messages of its checks."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nn273.gradcheck import GradientCheckError, check_gradient, check_layer, numerical_gradient, rel_error

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def test_central_differences_are_second_order():
    f = lambda x: float(np.sum(np.exp(3 * x)))  # noqa: E731
    x = np.array([0.3, -0.7])
    exact = 3 * np.exp(3 * x)
    err_big = np.max(np.abs(numerical_gradient(f, x, h=1e-2) - exact) / exact)
    err_small = np.max(np.abs(numerical_gradient(f, x, h=1e-3) - exact) / exact)
    assert err_small < err_big / 50  # ~100x smaller for 10x smaller h: O(h**2)
    assert np.max(np.abs(numerical_gradient(f, x) - exact) / exact) < 1e-9


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4)), elements=finite))
def test_matches_torch_autograd(x):
    f = lambda a: float(np.sum(np.tanh(a) * a**2))  # noqa: E731
    t = torch.tensor(x, requires_grad=True)
    (torch.tanh(t) * t**2).sum().backward()
    np.testing.assert_allclose(numerical_gradient(f, x), t.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_leaves_input_unchanged_and_accepts_integers():
    x = np.array([[1, 2], [3, 4]])
    before = x.copy()
    grad = numerical_gradient(lambda a: float(np.sum(a**2)), x)
    assert np.array_equal(x, before) and x.dtype == before.dtype
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)


def test_coupled_function_needs_each_entry_put_back():
    # Not a sum of separate terms: each partial derivative depends on the other coordinates, so a
    # step left in x[i] changes the next ones (03's visible test; a separable f cannot see it).
    def coupled(x):
        return float((x[0] * x[1] + np.sin(x[2])) ** 2)

    x = np.array([1.0, 2.0, 0.5])
    u = 2.0 + np.sin(0.5)
    exact = np.array([2 * u * 2.0, 2 * u * 1.0, 2 * u * np.cos(0.5)])
    np.testing.assert_allclose(numerical_gradient(coupled, x), exact, rtol=0, atol=1e-8)

    def not_restored(f, x, h=1e-5):
        x = np.array(x, dtype=float)
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            f_plus = f(x)
            x[i] = old - h
            grad[i] = (f_plus - f(x)) / (2 * h)
        return grad

    assert np.max(np.abs(not_restored(coupled, x) - exact)) > 1e-5


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be a function"):
        numerical_gradient(3, np.ones(2))
    with pytest.raises(ValueError, match="positive step"):
        numerical_gradient(np.sum, np.ones(2), h=0)
    with pytest.raises(ValueError, match="must return a scalar"):
        numerical_gradient(lambda a: a, np.ones(2))


def test_check_gradient_passes_right_and_names_what_is_wrong():
    x, y = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.1, -1.0])
    f = lambda a, b: float(np.sum(a**2 * b))  # noqa: E731
    assert check_gradient(f, [x, y], [2 * x * y, x**2], names=["a", "b"]) < 1e-8
    wrong = x**2
    wrong[1] += 0.5
    with pytest.raises(GradientCheckError) as failure:
        check_gradient(f, [x, y], [2 * x * y, wrong], names=["a", "b"])
    message = str(failure.value)
    assert "with respect to b" in message and "index (1,)" in message
    assert "expected 4" in message and "received 4.5" in message


def test_check_gradient_tolerates_noise_near_zero_but_not_errors():
    x = np.array([1e-3, 1.0])
    f = lambda a: float(np.sum(a**3))  # noqa: E731
    check_gradient(f, [x], [3 * x**2])  # the 1e-6 entry is exact; central differences are off by 1e-10
    with pytest.raises(GradientCheckError, match="index \\(0,\\)"):
        check_gradient(f, [x], [3 * x**2 + np.array([1e-6, 0.0])])


def test_check_gradient_shapes_and_non_finite():
    f = lambda a: float(np.sum(a))  # noqa: E731
    with pytest.raises(GradientCheckError, match="expected shape \\(2, 2\\)"):
        check_gradient(f, [np.ones((2, 2))], [np.ones(4)])
    with pytest.raises(GradientCheckError, match="received nan"):
        check_gradient(f, [np.ones(2)], [np.array([1.0, np.nan])])
    with pytest.raises(ValueError, match="one entry per argument"):
        check_gradient(f, [np.ones(2)], [])


def _affine_forward(X, W, b):
    return X @ W + b, (X, W)


def _affine_backward(dout, cache):
    X, W = cache
    return dout @ W.T, X.T @ dout, dout.sum(axis=0)


def test_check_layer_accepts_a_right_backward_and_rejects_a_transposed_one():
    rng = np.random.default_rng(1)  # not check_layer's own seed: its dout must differ from X
    X, W, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)
    assert check_layer(_affine_forward, _affine_backward, [X, W, b], names=["X", "W", "b"]) < 1e-7

    def transposed(dout, cache):
        dX, dW, db = _affine_backward(dout, cache)
        return dX, dW.T, db

    with pytest.raises(GradientCheckError, match="with respect to W"):
        check_layer(_affine_forward, transposed, [X, W, b], names=["X", "W", "b"])
    with pytest.raises(GradientCheckError, match="one gradient per input"):
        check_layer(_affine_forward, lambda d, c: _affine_backward(d, c)[:2], [X, W, b])


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.ones(2), np.ones(3))
