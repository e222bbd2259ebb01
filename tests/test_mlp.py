"""nn273.mlp, the reference of 02_mlp: values against torch, derivatives against central
differences and autograd, the elementwise maths with hypothesis, parameter counts, and errors that
say what to fix."""

import doctest
import itertools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn273.mlp
from nn273.gradcheck import check_gradient
from nn273.mlp import (
    ACTIVATIONS,
    OUTPUTS,
    activation,
    activation_grad,
    count_parameters,
    mlp_forward,
)

TORCH_ACTIVATIONS = {
    "logistic": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "linear": torch.nn.Identity,
}
TORCH_OUTPUTS = {
    "softmax": lambda: torch.nn.Softmax(dim=1),
    "logistic": torch.nn.Sigmoid,
    "linear": torch.nn.Identity,
}


class Gaussian(torch.nn.Module):
    def forward(self, r):
        return torch.exp(-(r**2) / 2)


def torch_activation(name):
    return Gaussian() if name == "gaussian" else TORCH_ACTIVATIONS[name]()


def torch_model(params, hidden, output):
    """torch.nn.Sequential of Linear layers holding the same weights (torch stores W.T), float64."""
    layers = []
    for i, (W, b) in enumerate(params):
        linear = torch.nn.Linear(*W.shape, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        layers.append(torch_activation(hidden) if i < len(params) - 1 else TORCH_OUTPUTS[output]())
    return torch.nn.Sequential(*layers)


def random_params(rng, widths, scale=1.0):
    return [
        (scale * rng.standard_normal((D, M)), rng.standard_normal(M))
        for D, M in itertools.pairwise(widths)
    ]


# Shared strategies: finite responses, from moderate to the curriculum's 1e4.
moderate = st.floats(-6, 6, allow_nan=False, allow_subnormal=False)
large = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)
responses = hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5), elements=large)
names = st.sampled_from(ACTIVATIONS)


def test_docstring_examples():
    result = doctest.testmod(nn273.mlp, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------- activation
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name):
    r = np.concatenate(
        [np.random.default_rng(0).normal(0, 3, 50), [-1e4, -800, -40, -0.0, 0.0, 40, 800, 1e4]]
    )
    expected = torch_activation(name)(torch.from_numpy(r)).numpy()
    with np.errstate(all="raise", under="ignore"):
        got = activation(name, r)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-300)
    assert got.shape == r.shape and got.dtype == np.float64


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_keeps_shapes_numbers_and_inputs(name):
    r = np.arange(-6, 6).reshape(2, 3, 2)
    before = r.copy()
    assert activation(name, r).shape == (2, 3, 2)
    assert activation_grad(name, r).shape == (2, 3, 2)
    np.testing.assert_array_equal(r, before)
    assert np.ndim(activation(name, 0.5)) == 0 and isinstance(
        float(activation_grad(name, 0.5)), float
    )
    out = activation(name, r.astype(float))
    out[...] = 99.0  # the result is a new array, even for "linear"
    np.testing.assert_array_equal(r, before)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_grad_matches_autograd_and_central_differences(name):
    rng = np.random.default_rng(1)
    r = rng.normal(0, 2, (4, 5))
    r = np.where(np.abs(r) < 1e-3, 0.5, r)  # the ReLU has no derivative at 0 itself
    got = activation_grad(name, r)
    check_gradient(lambda x: np.sum(activation(name, x)), [r], [got], names=["r"])
    t = torch.from_numpy(r).requires_grad_(True)
    torch_activation(name)(t).sum().backward()
    np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_relu_derivative_at_zero_is_zero_like_torch():
    r = np.array([-0.0, 0.0, -1.0, 1.0])
    t = torch.from_numpy(r).requires_grad_(True)
    torch.relu(t).sum().backward()
    np.testing.assert_array_equal(activation_grad("relu", r), [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, 0.0, 0.0, 1.0])


@given(name=names, r=responses)
@settings(max_examples=60, deadline=None)
def test_no_warning_and_finite_for_responses_up_to_1e4(name, r):
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        out, grad = activation(name, r), activation_grad(name, r)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(grad))
    assert out.shape == grad.shape == r.shape


@given(r=responses)
@settings(max_examples=40, deadline=None)
def test_elementwise_identities(r):
    s = activation("logistic", r)
    assert np.all((0 <= s) & (s <= 1))
    np.testing.assert_allclose(activation("logistic", -r), 1 - s, atol=1e-15)
    np.testing.assert_allclose(activation_grad("logistic", r), s * (1 - s), atol=1e-300)
    assert np.all(activation_grad("logistic", r) <= 0.25)
    np.testing.assert_array_equal(activation("tanh", -r), -activation("tanh", r))
    np.testing.assert_allclose(
        activation("tanh", r), 2 * activation("logistic", 2 * r) - 1, atol=1e-15
    )
    np.testing.assert_array_equal(activation("gaussian", -r), activation("gaussian", r))
    np.testing.assert_allclose(
        activation_grad("gaussian", r), -r * activation("gaussian", r), atol=1e-300
    )
    np.testing.assert_array_equal(activation("relu", r) - activation("relu", -r), r)
    np.testing.assert_array_equal(activation_grad("relu", r), (r > 0).astype(float))
    np.testing.assert_array_equal(activation("linear", r), r)
    np.testing.assert_array_equal(activation_grad("linear", r), np.ones_like(r))


@given(name=names, r=moderate)
@settings(max_examples=100, deadline=None)
def test_derivative_is_the_slope(name, r):
    if name == "relu" and abs(r) < 1e-4:
        r = 0.5
    h = 1e-6
    slope = (activation(name, r + h) - activation(name, r - h)) / (2 * h)
    assert abs(activation_grad(name, r) - slope) < 1e-7


@pytest.mark.parametrize("bad", ["sigmoid", "softmax", "ReLU", None, 3])
def test_unknown_activation_lists_the_names(bad):
    for fn in (activation, activation_grad):
        with pytest.raises(ValueError) as info:
            fn(bad, 1.0)
        message = str(info.value)
        assert repr(bad) in message and all(name in message for name in ACTIVATIONS)
    with pytest.raises(ValueError, match='calls the sigmoid "logistic"'):
        activation("sigmoid", 1.0)


# ---------------------------------------------------------------------------- count_parameters
@pytest.mark.parametrize(
    "sizes", [[2, 3, 1], [784, 200, 200, 10], [1, 1], [5, 5, 5, 5], [3, 7, 2, 9, 4]]
)
def test_count_parameters_matches_torch(sizes):
    params = random_params(np.random.default_rng(0), sizes)
    model = torch_model(params, "tanh", "linear")
    assert count_parameters(sizes) == sum(p.numel() for p in model.parameters())


@given(n=st.integers(1, 1000), H=st.integers(1, 1000))
def test_count_parameters_is_the_lectures_formula(n, H):
    count = count_parameters([n, H, 1])
    assert count == H * (n + 1) + (H + 1)
    assert isinstance(count, int)


@given(st.lists(st.integers(1, 500), min_size=2, max_size=8))
def test_count_parameters_of_any_sizes(sizes):
    assert count_parameters(sizes) == sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    assert count_parameters(tuple(sizes)) == count_parameters(np.array(sizes))


def test_count_parameters_of_the_mnist_network():
    assert count_parameters([784, 200, 200, 10]) == 199_210


@pytest.mark.parametrize("bad", [[3], [], 5, "784", [2, 0, 1], [2, -3], [2.0, 3], [True, 2]])
def test_count_parameters_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="layer_sizes|layer size"):
        count_parameters(bad)


# --------------------------------------------------------------------------------- mlp_forward
@pytest.mark.parametrize("hidden", ACTIVATIONS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_mlp_forward_matches_torch_sequential(hidden, output):
    rng = np.random.default_rng(2)
    for widths, N in [([3, 5, 4, 2], 6), ([2, 3], 1), ([4, 4, 4], 4), ([1, 6, 3], 2)]:
        params = random_params(rng, widths)
        X = rng.standard_normal((N, widths[0]))
        F, _ = mlp_forward(X, params, hidden=hidden, output=output)
        expected = torch_model(params, hidden, output)(torch.from_numpy(X)).detach().numpy()
        assert F.shape == (N, widths[-1])
        np.testing.assert_allclose(F, expected, rtol=1e-12, atol=1e-14)


def test_mlp_forward_defaults_are_tanh_and_softmax():
    rng = np.random.default_rng(3)
    params = random_params(rng, [2, 4, 3])
    X = rng.standard_normal((5, 2))
    np.testing.assert_array_equal(
        mlp_forward(X, params)[0], mlp_forward(X, params, "tanh", "softmax")[0]
    )
    np.testing.assert_allclose(mlp_forward(X, params)[0].sum(axis=1), 1.0)


def test_mlp_forward_is_stable_for_responses_of_1e4():
    rng = np.random.default_rng(4)
    params = random_params(rng, [2, 4, 3], scale=5e3)
    X = rng.standard_normal((5, 2))
    for hidden in ACTIVATIONS:
        for output in OUTPUTS:
            with (
                warnings.catch_warnings(),
                np.errstate(over="raise", divide="raise", invalid="raise"),
            ):
                warnings.simplefilter("error")
                F, cache = mlp_forward(X, params, hidden=hidden, output=output)
            expected = torch_model(params, hidden, output)(torch.from_numpy(X)).detach().numpy()
            np.testing.assert_allclose(F, expected, rtol=1e-9, atol=1e-12)
    assert np.abs(cache[0][1]).max() > 1e3


def test_mlp_forward_cache_holds_each_layers_input_and_response():
    rng = np.random.default_rng(5)
    params = random_params(rng, [3, 4, 2, 5])
    X = rng.standard_normal((6, 3))
    snapshot = [(W.copy(), b.copy()) for W, b in params], X.copy()
    F, cache = mlp_forward(X, params, hidden="relu", output="logistic")
    assert isinstance(cache, list) and len(cache) == len(params)
    A = X
    for i, ((A_l, R_l), (W, b)) in enumerate(zip(cache, params, strict=True)):
        np.testing.assert_array_equal(A_l, A)
        np.testing.assert_allclose(R_l, A_l @ W + b, rtol=1e-15)
        A = activation("relu" if i < len(params) - 1 else "logistic", R_l)
    np.testing.assert_array_equal(F, A)
    for (W0, b0), (W, b) in zip(snapshot[0], params, strict=True):
        np.testing.assert_array_equal(W0, W)
        np.testing.assert_array_equal(b0, b)
    np.testing.assert_array_equal(snapshot[1], X)


def test_mlp_forward_accepts_integer_inputs_and_lists():
    params = [([[1, 0], [0, 1]], [0, 0]), (np.eye(2, dtype=int), np.zeros(2, dtype=int))]
    F, _ = mlp_forward([[1, 2]], params, hidden="linear", output="linear")
    np.testing.assert_array_equal(F, [[1.0, 2.0]])
    assert F.dtype == np.float64


def test_mlp_forward_says_which_layer_does_not_chain():
    params = [(np.ones((2, 3)), np.zeros(3)), (np.ones((4, 1)), np.zeros(1))]
    with pytest.raises(
        ValueError, match=r"params\[1\] has shape \(4, 1\).*params\[0\] has 3 outputs.*\(3, M\)"
    ):
        mlp_forward(np.ones((5, 2)), params)
    with pytest.raises(ValueError, match=r"params\[0\] has shape \(2, 3\).*X has shape \(5, 3\)"):
        mlp_forward(np.ones((5, 3)), params)
    with pytest.raises(
        ValueError, match=r"b of params\[0\] must have shape \(3,\).*got shape \(1, 3\)"
    ):
        mlp_forward(np.ones((5, 2)), [(np.ones((2, 3)), np.zeros((1, 3)))])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden": "sigmoid"}, "hidden must be one of"),
        ({"hidden": "softmax"}, "hidden must be one of"),
        ({"output": "relu"}, "output must be one of 'softmax', 'logistic', 'linear'"),
        ({"params": []}, "non-empty list"),
        ({"params": [np.ones((2, 3))]}, r"params\[0\] must be a pair"),
        ({"X": np.ones(2)}, "X must be 2-D"),
    ],
)
def test_mlp_forward_rejects_bad_arguments(kwargs, match):
    args = {"X": np.ones((3, 2)), "params": [(np.ones((2, 2)), np.zeros(2))], **kwargs}
    with pytest.raises(ValueError, match=match):
        mlp_forward(**args)
