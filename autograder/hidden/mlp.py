"""Hidden tests of 02_mlp, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>(<function>)` draws seeded inputs of several shapes (a batch of one, numbers
and arrays of 1 to 3 dimensions, integer arrays, square weight matrices where a forgotten transpose
would keep every shape right) and the curriculum's edge cases (responses of 1e4, r exactly 0 for the
ReLU), calls the student's function through the harness, and compares with an oracle written
independently of nn273: the activations and their derivatives in plain `math`, the forward pass in
torch (float64).
Derivatives are also checked against central differences of the `math` oracle.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import copy
import itertools
import math
import numbers

import numpy as np
import torch

import nn273.mlp

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_activation",
    "test_activation_grad",
    "test_answer_mnist_parameters",
    "test_answer_widest_layer",
    "test_count_parameters",
    "test_mlp_forward",
]

H = Harness(nn273.mlp)

NAMES = ("logistic", "tanh", "gaussian", "relu", "linear")  # the lecture's table, in its order
OUTPUTS = ("softmax", "logistic", "linear")

_LARGE = (
    "(responses here are as large as 1e4 in size: never compute exp of a large positive number)"
)
_INTS = "(the inputs here are an integer array: the result must still be the float values)"
_ZERO = (
    "(r is exactly 0 for some entries here: the ReLU's derivative at 0 is 0, as 1 only where r > 0)"
)
_FORMULAS = {
    "logistic": "logistic(r) = 1 / (1 + exp(-r))",
    "tanh": "tanh(r)",
    "gaussian": "gaussian(r) = exp(-r**2 / 2)",
    "relu": "relu(r) = max(0, r)",
    "linear": "linear(r) = r",
}
_DERIVATIVES = {
    "logistic": "the derivative of the logistic is s (1 - s) with s = logistic(r)",
    "tanh": "the derivative of tanh is 1 - tanh(r)**2",
    "gaussian": "the derivative of a(r) = exp(-r**2 / 2) is -r a(r)",
    "relu": "the derivative of the ReLU is 1 where r > 0 and 0 elsewhere, at r = 0 too",
    "linear": "the derivative of linear(r) = r is 1 everywhere",
}


# --------------------------------------------------------------------------------------- tests
def test_activation(activation):
    rng = H.rng("activation")
    for name in NAMES:
        for r, hint in _activation_cases(rng):
            hint = "" if hint == _ZERO else hint  # r = 0 matters for the derivative only
            what = _what("activation", name=name, r=r)
            got = H.as_float(H.call(activation, name, r, case=what), what, shape=np.shape(r))
            expected = np.reshape([_act(name, float(v)) for v in np.ravel(r)], np.shape(r))
            H.assert_close(got, expected, what, hint=hint or f"({_FORMULAS[name]}, elementwise)")


def test_activation_grad(activation_grad):
    rng = H.rng("activation_grad")
    for name in NAMES:
        for r, hint in _activation_cases(rng):
            if name != "relu" and hint == _ZERO:
                hint = ""
            what = _what("activation_grad", name=name, r=r)
            got = H.as_float(H.call(activation_grad, name, r, case=what), what, shape=np.shape(r))
            expected = np.reshape([_act_grad(name, float(v)) for v in np.ravel(r)], np.shape(r))
            H.assert_close(got, expected, what, hint=hint or f"({_DERIVATIVES[name]})")
            # Central differences of the math oracle, away from the ReLU's kink at 0 (there: 1/2).
            x = np.asarray(r, dtype=np.float64)
            keep = np.abs(x) > 1e-3 if name == "relu" else np.ones(x.shape, dtype=bool)
            x0, g = x[keep], got[keep]

            def f(xs, name=name, x0=x0):
                # Differences from the base point: only the perturbed entry is non-zero, which keeps
                # the rounding error of the numerical derivative at that of a single value.
                return math.fsum(
                    _act(name, float(a)) - _act(name, float(b)) for a, b in zip(xs, x0, strict=True)
                )

            H.assert_gradient(f, x0, g, f"{what}, against central differences,")


def test_count_parameters(count_parameters):
    rng = H.rng("count_parameters")
    cases = [
        ([2, 3, 1], "(the lecture's [n, H, 1] network has H (n + 1) + (H + 1) parameters)"),
        (
            [784, 200, 200, 10],
            "(the lecture's MNIST network: 784 inputs, two hidden layers of 200, 10 outputs)",
        ),
        ([1, 1], "(one layer of one weight and one bias)"),
        ([5, 5, 5, 5], ""),
        ((4, 2, 6), "(layer_sizes here is a tuple)"),
        (np.array([6, 1, 4, 3]), "(layer_sizes here is a NumPy array of ints)"),
    ]
    for _ in range(3):
        n, hidden = (int(v) for v in rng.integers(1, 60, 2))
        cases.append(
            ([n, hidden, 1], "(the lecture's [n, H, 1] network has H (n + 1) + (H + 1) parameters)")
        )
    for depth in range(1, 7):
        cases.append(([int(v) for v in rng.integers(1, 40, depth + 1)], ""))
    for sizes, hint in cases:
        before = copy.deepcopy(sizes)
        what = _what("count_parameters", layer_sizes=sizes)
        got = H.call(count_parameters, sizes, case=what)
        if not np.array_equal(np.asarray(before), np.asarray(sizes)):
            raise HiddenTestFailure(
                f"{what} changed layer_sizes; functions must not change their inputs"
            )
        value = H.as_float(got, what, shape=())
        if not (isinstance(got, numbers.Integral) and not isinstance(got, bool)):
            raise HiddenTestFailure(
                f"{what} must return an int (a count); received {type(got).__name__} {value:g}. "
                f"Wrap the sum in int(...) if it is a float"
            )
        sizes_ = [int(s) for s in sizes]
        expected = sum((a + 1) * b for a, b in itertools.pairwise(sizes_))
        if int(got) != expected:
            raise HiddenTestFailure(
                f"{what} is wrong: expected {expected}, received {int(got)} "
                f"{hint or '(each consecutive pair of sizes (a, b) has a*b weights, b biases)'}"
            )


def test_mlp_forward(mlp_forward):
    rng = H.rng("mlp_forward")
    for X, params, hidden, output, hint in _forward_cases(rng):
        K = params[-1][0].shape[1]
        if hidden is None:  # the defaults: hidden="tanh", output="softmax"
            what = _what("mlp_forward", X=X, params=params)
            result = H.call(mlp_forward, X, params, case=what)
            hidden, output = "tanh", "softmax"
            hint = "(called without hidden and output: defaults hidden='tanh', output='softmax')"
        else:
            what = _what("mlp_forward", X=X, params=params, hidden=hidden, output=output)
            result = H.call(mlp_forward, X, params, hidden=hidden, output=output, case=what)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise HiddenTestFailure(
                f"{what} must return a pair (F, cache); received {type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
            )
        F, cache = result
        F = H.as_float(F, f"F from {what}", shape=(X.shape[0], K))
        H.assert_close(
            F,
            _torch_forward(X, params, hidden, output),
            f"F from {what}",
            hint=hint or _FORWARD_HINT,
        )
        if cache is None:
            raise HiddenTestFailure(
                f"{what} returned cache = None; return what the backward pass will need, "
                f"the list of (A, R) of every layer"
            )


def test_answer_mnist_parameters(answer):
    H.number(answer, 266_610, "how many parameters the [784, 300, 100, 10] MNIST network has")


def test_answer_widest_layer(answer):
    H.choice(
        answer,
        "b",
        "abc",
        "which layer of a [784, 2000, 2000, 10] network holds the most parameters",
    )


_FORWARD_HINT = (
    "(each layer computes R = A @ W + b; every layer but the last applies hidden, the last applies "
    "output, and softmax normalizes each row)"
)


# ------------------------------------------------------------------------------ input drawing
def _activation_cases(rng):
    """(r, hint): numbers, arrays of 1 to 3 dimensions, integers, exact zeros, responses of 1e4."""
    return [
        (rng.normal(0, 2, 7), ""),
        (rng.normal(0, 2, 1), ""),
        (rng.normal(0, 2, (3, 4)), "(r is 2-D here: the activation works elementwise)"),
        (rng.normal(0, 2, (2, 3, 2)), "(r is 3-D here: the activation works elementwise)"),
        (float(rng.normal(0, 2)), "(r is a number here)"),
        (0.0, _ZERO),
        (np.array([-3, -1, 0, 2, 5]), _INTS),
        (np.array([1.5, 0.0, -0.0, -2.0]), _ZERO),
        (np.array([-1e4, -800.0, -40.0, -1.0, 1.0, 40.0, 800.0, 1e4]), _LARGE),
    ]


def _forward_cases(rng):
    """(X, params, hidden, output, hint); hidden None means: call with the defaults."""
    cases = []
    # every hidden activation with every output, depth 1 to 3, random widths, some batches of one
    for i, hidden in enumerate(NAMES):
        for j, output in enumerate(OUTPUTS):
            depth = 1 + (i + j) % 3
            N = 1 if (i + j) % 4 == 0 else int(rng.integers(2, 7))
            widths = [int(w) for w in rng.integers(1, 6, depth + 1)]
            cases.append(
                (rng.normal(0, 1, (N, widths[0])), _network(rng, widths), hidden, output, "")
            )
    # square weights everywhere (D = every width = K = N), where X @ W.T keeps all the shapes
    square = "(every weight matrix here is square: W and W.T have the same shape)"
    for hidden, output, depth in [
        ("tanh", "softmax", 2),
        ("relu", "linear", 3),
        ("logistic", "logistic", 2),
        ("gaussian", "softmax", 1),
        ("linear", "linear", 2),
    ]:
        cases.append(
            (rng.normal(0, 1, (3, 3)), _network(rng, [3] * (depth + 1)), hidden, output, square)
        )
    # one example, one input
    cases.append((rng.normal(0, 1, (1, 1)), _network(rng, [1, 4, 2]), "relu", "softmax", ""))
    # integer inputs
    X = np.array([[1, -2, 0], [3, 1, -1]])
    cases.append((X, _network(rng, [3, 4, 3]), "tanh", "softmax", _INTS))
    # the defaults
    cases.append((rng.normal(0, 1, (4, 2)), _network(rng, [2, 5, 3]), None, None, ""))
    cases.append((rng.normal(0, 1, (1, 3)), _network(rng, [3, 2, 2, 4]), None, None, ""))
    # responses of 1e4 in the hidden layers and at the output
    for hidden, output in [
        ("logistic", "softmax"),
        ("tanh", "logistic"),
        ("relu", "softmax"),
        ("gaussian", "logistic"),
        ("logistic", "linear"),
    ]:
        params = _network(rng, [2, 4, 3])
        params = [(W * 5e3, b) for W, b in params[:1]] + [(W * 5e3, b * 1e3) for W, b in params[1:]]
        cases.append((rng.normal(0, 1, (5, 2)), params, hidden, output, _LARGE))
    return cases


def _network(rng, widths):
    """A list of (W, b) with W (widths[l], widths[l+1]) and b (widths[l+1],), biases clear of 0."""
    params = []
    for D, M in itertools.pairwise(widths):
        W = rng.normal(0, 1, (D, M)) / math.sqrt(D)
        b = rng.choice([-1.0, 1.0], M) * rng.uniform(0.2, 1.0, M)
        params.append((W, b))
    return params


# ------------------------------------------------------------------------ oracles, independent
def _act(name, r):
    if name == "logistic":
        e = math.exp(-abs(r))
        return 1.0 / (1.0 + e) if r >= 0 else e / (1.0 + e)
    if name == "tanh":
        return math.tanh(r)
    if name == "gaussian":
        return math.exp(-r * r / 2)
    if name == "relu":
        return r if r > 0 else 0.0
    return r


def _act_grad(name, r):
    if name == "logistic":
        e = math.exp(-abs(r))
        return e / (1.0 + e) ** 2
    if name == "tanh":
        return 1.0 - math.tanh(r) ** 2
    if name == "gaussian":
        return -r * math.exp(-r * r / 2)
    if name == "relu":
        return 1.0 if r > 0 else 0.0
    return 1.0


_TORCH = {
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "gaussian": lambda t: torch.exp(-t * t / 2),
    "relu": torch.relu,
    "linear": lambda t: t,
    "softmax": lambda t: torch.softmax(t, dim=1),
}


def _torch_forward(X, params, hidden, output):
    """The forward pass in torch, float64, in torch's own layer convention: weight (M, D) = W.T."""
    with torch.no_grad():
        A = torch.tensor(np.asarray(X, dtype=np.float64))
        for i, (W, b) in enumerate(params):
            weight = torch.tensor(np.asarray(W, dtype=np.float64).T.copy())
            R = torch.nn.functional.linear(A, weight, torch.tensor(np.asarray(b, dtype=np.float64)))
            A = _TORCH[hidden if i < len(params) - 1 else output](R)
        return A.numpy().copy()


# ------------------------------------------------------------------------------------ helpers
def _what(fn, **inputs):
    """`fn('tanh', r) for r = ...`: names in the call, small arrays in full, others by shape."""
    args = ", ".join(
        repr(v) if k == "name" else f"{k}={v!r}" if isinstance(v, str) else k
        for k, v in inputs.items()
    )
    shown = ", ".join(_show(k, v) for k, v in inputs.items() if not isinstance(v, str))
    return f"{fn}({args}) for {shown}"


def _show(name, value):
    if name == "params":
        return "params with W of shapes " + ", ".join(str(np.shape(W)) for W, _ in value)
    if name == "layer_sizes":
        return f"layer_sizes = {value!r}"
    a = np.asarray(value)
    if a.ndim == 0:
        return f"{name} = {a.item()!r}"
    kind = "" if a.dtype == np.float64 else f" (dtype {a.dtype})"
    if a.size > 12:
        return f"{name} of shape {a.shape}{kind}"
    text = np.array2string(a, precision=8, separator=", ", max_line_width=10**6)
    return f"{name}{kind} = {' '.join(text.split())}"
