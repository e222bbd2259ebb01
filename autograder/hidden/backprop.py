"""Hidden tests of 03_backprop, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>(<function>)` draws seeded inputs (a batch of one, square weight matrices where a
forgotten transpose keeps the shapes right, integer and non-contiguous arrays), calls the student's
function through the harness, and compares with oracles written here independently of nn273: `math`
closed forms for the dense layer and the squared error, and a torch float64 network differentiated by
`torch.autograd.grad` for the whole MLP. Every gradient is also checked against central differences.
`mlp_loss_and_grads` must do its backward pass by hand: a call into torch.autograd fails the test.
"""

import itertools
import math

import numpy as np
import torch
import torch.autograd

import nn273.backprop
import nn273.gradcheck

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_answer_backward_cost",
    "test_answer_cache_size",
    "test_linear_backward",
    "test_linear_forward",
    "test_mlp_loss_and_grads",
    "test_mse_loss",
    "test_numerical_gradient",
    "test_torch_loss_and_grads",
]

H = Harness(nn273.backprop, nn273.gradcheck)

ACTIVATIONS = ("logistic", "tanh", "gaussian", "relu", "linear")
# The (output, loss) pairs of the contract; nll with a linear output is an error.
PAIRS = (
    ("linear", "mse"),
    ("logistic", "mse"),
    ("softmax", "mse"),
    ("logistic", "nll"),
    ("softmax", "nll"),
)

_INTS = "(the inputs here are integer arrays: convert them to float before computing)"
_SQUARE = "(W is square here, so a transpose keeps the shapes right but not the values)"


# --------------------------------------------------------------------------------------- tests
def test_numerical_gradient(numerical_gradient):
    rng = H.rng("numerical_gradient")
    # Each answer is compared with central differences computed here, which a correct answer matches
    # to rounding. On these curved functions a forward difference errs by about c h / 2 = 1.5e-4
    # (relative) and a central one taken with the wrong h by much more, so a tolerance of 1e-6 tells
    # them apart. (The exact gradient is no yardstick: central differences differ from it by
    # (c h)**2 / 6 per term, which cancellation between terms can make larger than 1e-6.)
    c = 30.0
    a = rng.standard_normal(5)
    x = rng.uniform(-0.1, 0.1, 5)

    def exp_plus_square(x):
        return float(np.sum(np.exp(c * x)) + np.dot(a, x) ** 2)

    _check_numerical(numerical_gradient, exp_plus_square, x, None, "f(x) = sum(exp(30 x)) + (a . x)**2", 1e-6)

    # Not a sum of separate terms: every partial derivative of x @ A @ x depends on the other
    # coordinates, so an x[i] not put back after its step spoils the partials that follow. Central
    # differences of a quadratic are exact for any h, so a large h makes a leftover step plain.
    A = rng.standard_normal((4, 4)) + 2 * np.eye(4, k=1)  # non-diagonal, not symmetric
    x = rng.standard_normal(4)

    def quadratic(x):
        return float(x @ A @ x)

    note = (
        "f(x) = x @ A @ x with a non-diagonal A, whose partial derivatives depend on the other coordinates "
        "(is each x[i] put back before the next one is moved?)"
    )
    _check_numerical(numerical_gradient, quadratic, x, 1e-2, note, 1e-9)
    _check_numerical(numerical_gradient, quadratic, x, None, note, 1e-6)

    A = rng.standard_normal((3, 4))

    def exp_matrix(X):
        return float(np.sum(np.exp(20.0 * X @ A)))

    for X, note in [
        (rng.uniform(-0.05, 0.05, (2, 3)), "X of shape (2, 3)"),
        (
            rng.uniform(-0.05, 0.05, (4, 6))[::2, 1::2],
            "X a non-contiguous view, X[::2, 1::2] of a (4, 6) array",
        ),
        (rng.uniform(-0.05, 0.05, (3, 2)).T, "X a transposed array (Fortran order)"),
    ]:
        _check_numerical(numerical_gradient, exp_matrix, X, None, f"f(X) = sum(exp(20 X @ A)), {note}", 1e-6)

    # A given h: a central difference of x**3 is exactly 3 x**2 + h**2, so h must be used as given.
    w = rng.standard_normal((3, 2)) + np.where(rng.random((3, 2)) < 0.5, -1.0, 1.0)
    X = rng.standard_normal((3, 2))

    def cubic(X):
        return float(np.sum(w * X**3) + X[0, 0] * X[-1, -1])

    for h in (0.1, 1e-3):
        note = "f(X) = sum(w * X**3) + X[0, 0] * X[-1, -1], whose central difference is exactly 3 w X**2 + w h**2 (+ the product's part)"
        _check_numerical(numerical_gradient, cubic, X, h, note, 1e-9)

    v = rng.standard_normal(4)
    x_int = np.array([2, -1, 0, 3])

    def cubic_1d(x):
        return float(np.sum(v * x**3))

    note = f"f(x) = sum(v * x**3) {_INTS}"
    _check_numerical(numerical_gradient, cubic_1d, x_int, 1e-3, note, 1e-7, positional=True)
    _check_numerical(numerical_gradient, cubic_1d, x_int, None, note, 1e-6)


def test_linear_forward(linear_forward):
    rng = H.rng("linear_forward")
    for X, W, b, hint in _dense_cases(rng):
        what = _what("linear_forward", X=X, W=W, b=b)
        out, _ = _pair(H.call(linear_forward, X, W, b), what, "(out, cache)")
        got = H.as_float(out, f"out of {what}", shape=(X.shape[0], W.shape[1]))
        H.assert_close(
            got,
            _dense(X, W, b),
            f"out of {what}",
            hint=hint or "(out = X @ W + b: row i is X[i] @ W + b)",
        )


def test_linear_backward(linear_backward, linear_forward):
    rng = H.rng("linear_backward")
    for X, W, b, hint in _dense_cases(rng):
        N, M = X.shape[0], W.shape[1]
        dout = rng.standard_normal((N, M))
        forward = _what("linear_forward", X=X, W=W, b=b)
        out, cache = _pair(
            H.call(linear_forward, X.copy(), W.copy(), b.copy(), case=forward),
            forward,
            "(out, cache)",
        )
        try:
            H.assert_close(out, _dense(X, W, b), f"out of {forward}")
        except HiddenTestFailure as exc:
            raise HiddenTestFailure(
                f"linear_backward is tested with the cache of your linear_forward, which is wrong: {exc}. "
                f"Make linear_forward right first."
            ) from None
        what = _what("linear_backward", dout=dout) + f", cache from {forward}"
        result = H.call(linear_backward, dout, cache, case=what)
        try:
            dX, dW, db = result
        except (TypeError, ValueError):
            raise HiddenTestFailure(
                f"{what} must return three gradients (dX, dW, db); received {_kind(result)}"
            ) from None
        dX = H.as_float(dX, f"dX of {what}", X.shape, hint="(dX = dout @ W.T is shaped like X)")
        dW = H.as_float(dW, f"dW of {what}", W.shape, hint="(dW = X.T @ dout is shaped like W)")
        db = H.as_float(
            db,
            f"db of {what}",
            b.shape,
            hint="(db = dout summed over the examples, axis 0, is shaped like b)",
        )
        Xf, Wf, bf = (np.asarray(v, dtype=float) for v in (X, W, b))
        H.assert_close(dX, _matmul(dout, Wf.T), f"dX of {what}", hint=hint or "(dX = dout @ W.T)")
        H.assert_close(
            dW,
            _matmul(Xf.T, dout),
            f"dW of {what}",
            hint=hint or "(dW = X.T @ dout, shaped like W)",
        )
        H.assert_close(
            db,
            [math.fsum(col) for col in dout.T],
            f"db of {what}",
            hint="(db sums dout over the examples, axis 0)",
        )
        _dense_central_differences(Xf, Wf, bf, dout, (dX, dW, db), what)


def test_mse_loss(mse_loss):
    rng = H.rng("mse_loss")
    cases = [
        (rng.standard_normal((N, K)), rng.standard_normal((N, K)), "")
        for N, K in [(1, 1), (1, 3), (4, 3), (3, 3), (5, 1), (2, 4)]
    ]
    cases.append((rng.integers(-3, 4, (3, 2)), rng.integers(-3, 4, (3, 2)), _INTS))
    for F, Y, hint in cases:
        what = _what("mse_loss", F=F, Y=Y)
        J, dF = _pair(H.call(mse_loss, F, Y), what, "(J, dF)")
        J = H.as_float(J, f"J of {what}", shape=())
        dF = H.as_float(dF, f"dF of {what}", shape=F.shape)
        N = F.shape[0]
        H.assert_close(
            J,
            _mse(F, Y),
            f"J of {what}",
            hint=hint or "(J sums (Y - F)**2 over the outputs k and averages over the N examples)",
        )
        expected = [
            [2.0 * (float(f) - float(y)) / N for f, y in zip(fr, yr)] for fr, yr in zip(F, Y)
        ]
        H.assert_close(dF, expected, f"dF of {what}", hint=hint or "(dF = 2 (F - Y) / N)")
        H.assert_gradient(
            lambda F_, Y=Y: _mse(F_, Y), F, dF, f"dF of {what}, against central differences,"
        )


def test_mlp_loss_and_grads(mlp_loss_and_grads):
    rng = H.rng("mlp_loss_and_grads")
    for case in _network_cases(rng):
        output, loss, large = case[4:]
        what = _network_what("mlp_loss_and_grads", case)
        J, grads = _network_result(mlp_loss_and_grads, what, case, forbid=[torch.autograd])
        J_o, grads_o = _oracle(*case[:6])
        H.assert_close(J, J_o, f"J of {what}", rtol=1e-9, atol=1e-12, hint=_loss_hint(output, loss))
        if not large:  # at logits of 1e3 central differences drown in rounding
            _own_central_differences(mlp_loss_and_grads, case, J, grads, what)
        for layer, ((dW, db), (dW_o, db_o)) in enumerate(zip(grads, grads_o)):
            H.assert_close(dW, dW_o, f"dW of layer {layer} of {what}", rtol=1e-8, atol=1e-11)
            H.assert_close(db, db_o, f"db of layer {layer} of {what}", rtol=1e-8, atol=1e-11)
    _check_nll_linear_raises(mlp_loss_and_grads, H.rng("mlp_loss_and_grads, nll with a linear output"))


def test_torch_loss_and_grads(torch_loss_and_grads):
    rng = H.rng("torch_loss_and_grads")
    for i, case in enumerate(_network_cases(rng)):
        output, loss, large = case[4:]
        what = _network_what("torch_loss_and_grads", case)
        J, grads = _network_result(torch_loss_and_grads, what, case, require=[torch.autograd])
        J_o, grads_o = _oracle(*case[:6])
        hint = "(compute in float64: torch.tensor(W, dtype=torch.float64, requires_grad=True))"
        H.assert_close(
            J,
            J_o,
            f"J of {what}",
            rtol=1e-10,
            atol=1e-12,
            hint=f"{_loss_hint(output, loss)} {hint}",
        )
        for layer, ((dW, db), (dW_o, db_o)) in enumerate(zip(grads, grads_o)):
            H.assert_close(
                dW, dW_o, f"dW of layer {layer} of {what}", rtol=1e-9, atol=1e-12, hint=hint
            )
            H.assert_close(
                db, db_o, f"db of layer {layer} of {what}", rtol=1e-9, atol=1e-12, hint=hint
            )
        if i % 4 == 0 and not large:
            _own_central_differences(torch_loss_and_grads, case, J, grads, what)


def test_answer_backward_cost(answer):
    H.choice(answer, "c", "abcd", "what a dense layer's backward pass costs compared with its forward pass")


def test_answer_cache_size(answer):
    H.number(answer, 3750, "how many numbers mlp_forward's cache holds for a [2, 10, 3] network and N = 150")


# ------------------------------------------------------------------------ numerical gradient
def _check_numerical(numerical_gradient, f, x, h, note, rtol, positional=False):
    what = f"numerical_gradient(f, x{'' if h is None else (', ' + repr(h)) if positional else f', h={h!r}'}) for {note}, x = {_array(x)}"
    if h is None:
        got = H.call(numerical_gradient, f, x, case=what)
    elif positional:
        got = H.call(numerical_gradient, f, x, h, case=what)
    else:
        got = H.call(numerical_gradient, f, x, h=h, case=what)
    got = H.as_float(got, what, shape=np.shape(x))
    hint = (
        "(use central differences (f(x + h e_i) - f(x - h e_i)) / (2 h), one coordinate at a time, "
        "with the h given (default 1e-5), on a float copy of x shaped like x)"
    )
    expected = _central_differences(f, x, 1e-5 if h is None else h)
    H.assert_close(got, expected, what, rtol=rtol, atol=1e-10, hint=hint)


def _central_differences(f, x, h):
    """The oracle: (f(x + h e_i) - f(x - h e_i)) / (2 h) for every i, on a float64 copy of x."""
    x = np.array(x, dtype=np.float64)
    gradient = np.empty_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        gradient[i] = (f(x + step) - f(x - step)) / (2 * h)
    return gradient


# ------------------------------------------------------------------------------ dense layers
def _dense_central_differences(X, W, b, dout, grads, what):
    """dX, dW, db against central differences of sum((X @ W + b) * dout)."""

    def scalar(X_, W_, b_):
        return float(np.sum((X_ @ W_ + b_) * dout))

    functions = (
        lambda X_: scalar(X_, W, b),
        lambda W_: scalar(X, W_, b),
        lambda b_: scalar(X, W, b_),
    )
    for name, f, x, grad in zip(("dX", "dW", "db"), functions, (X, W, b), grads):
        H.assert_gradient(f, x, grad, f"{name} of {what}, against central differences,")


def _dense_cases(rng):
    """(X, W, b, hint): a batch of one, square W, a fully square case, integer arrays."""
    cases = []
    for N, D, M in [(1, 1, 1), (1, 3, 2), (4, 2, 3), (2, 3, 3), (3, 3, 3), (5, 4, 2)]:
        hint = _SQUARE if D == M else ""
        cases.append(
            (rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M), hint)
        )
    cases.append(
        (rng.integers(-3, 4, (3, 2)), rng.integers(-3, 4, (2, 2)), rng.integers(-3, 4, 2), _INTS)
    )
    return cases


def _dense(X, W, b):
    return [
        [
            math.fsum([float(b[m])] + [float(x) * float(W[d, m]) for d, x in enumerate(row)])
            for m in range(W.shape[1])
        ]
        for row in X
    ]


def _matmul(A, B):
    return [
        [math.fsum(float(a) * float(B[k, j]) for k, a in enumerate(row)) for j in range(B.shape[1])]
        for row in A
    ]


def _mse(F, Y):
    return (
        math.fsum((float(f) - float(y)) ** 2 for f, y in zip(np.ravel(F), np.ravel(Y)))
        / np.shape(F)[0]
    )


# ------------------------------------------------------------------------------ whole network
def _network_cases(rng):
    """(X, Y, params, hidden, output, loss, large): every hidden activation with every (output, loss),
    1 to 3 hidden layers of random widths, batches of one, square weights, no hidden layer, and logits
    of about 1e3 (large = True) for the outputs that squash them."""
    cases = []
    i = 0
    for hidden in ACTIVATIONS:
        for output, loss in PAIRS:
            depth = 1 + i % 3
            N = 1 if i % 4 == 0 else int(rng.integers(2, 6))
            if i % 6 == 1:
                sizes = [3] * (depth + 2)
            else:
                K = int(rng.integers(2, 4)) if output == "softmax" else int(rng.integers(1, 4))
                sizes = (
                    [int(rng.integers(1, 4))]
                    + [int(rng.integers(1, 5)) for _ in range(depth)]
                    + [K]
                )
            cases.append(_network(rng, N, sizes, hidden, output, loss))
            i += 1
    for output, loss in PAIRS:  # no hidden layer: linear, logistic or softmax regression
        cases.append(_network(rng, 3, [2, 3], "tanh", output, loss))
    for output, loss in PAIRS[1:]:
        cases.append(_network(rng, 4, [2, 3, 3], "tanh", output, loss, scale=1e3))
    return cases


def _network(rng, N, sizes, hidden, output, loss, scale=1.0):
    large = scale != 1.0
    for _ in range(200):
        X = rng.standard_normal((N, sizes[0]))
        params = [
            (rng.standard_normal((a, b)) / math.sqrt(a) * 1.5, 0.5 * rng.standard_normal(b))
            for a, b in itertools.pairwise(sizes)
        ]
        params[-1] = (params[-1][0] * scale, params[-1][1] * scale)
        responses = _responses(X, params, hidden)
        # ReLU: every hidden response away from the kink at 0, where central differences fail.
        kinks = hidden == "relu" and any(np.min(np.abs(R)) < 1e-3 for R in responses[:-1])
        # Logits either moderate, or all saturated: a loss computed through torch's softplus (exact
        # only beyond 20 to e**-20) must not decide the grade.
        logits = np.abs(responses[-1])
        if not kinks and (np.min(logits) > 50 if large else np.max(logits) < 15):
            break
    else:
        raise RuntimeError(
            "no suitable network drawn; change the seed"
        )  # a bug in this test, not the student's
    K = sizes[-1]
    if loss == "nll" and output == "softmax":
        Y = rng.integers(0, K, N)
    elif loss == "nll":
        Y = rng.integers(0, 2, (N, K)).astype(float)
    elif output == "linear":
        Y = rng.standard_normal((N, K))
    else:
        Y = rng.random((N, K))
    return X, Y, params, hidden, output, loss, large


_NUMPY_HIDDEN = {
    "logistic": lambda r: 0.5 * (1.0 + np.tanh(r / 2)),
    "tanh": np.tanh,
    "gaussian": lambda r: np.exp(-r * r / 2),
    "relu": lambda r: np.maximum(r, 0.0),
    "linear": lambda r: r,
}


def _responses(X, params, hidden):
    """Every layer's response R, the hidden layers' through `hidden` (for drawing cases only)."""
    A, out = X, []
    for W, b in params:
        R = A @ W + b
        out.append(R)
        A = _NUMPY_HIDDEN[hidden](R)
    return out


_TORCH_HIDDEN = {
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "gaussian": lambda r: torch.exp(-r * r / 2),
    "relu": lambda r: torch.clamp(r, min=0.0),
    "linear": lambda r: r,
}


def _oracle(X, Y, params, hidden, output, loss):
    """J and its gradients by torch autograd in float64, written independently of nn273."""
    leaves = [
        torch.tensor(v, dtype=torch.float64, requires_grad=True) for pair in params for v in pair
    ]
    A = torch.tensor(X, dtype=torch.float64)
    for layer in range(len(params)):
        R = A @ leaves[2 * layer] + leaves[2 * layer + 1]
        A = _TORCH_HIDDEN[hidden](R)
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        J = (
            -torch.log_softmax(R, dim=1)[
                torch.arange(N), torch.as_tensor(Y, dtype=torch.long)
            ].sum()
            / N
        )
    elif loss == "nll":
        T = torch.tensor(Y, dtype=torch.float64)
        J = (torch.logaddexp(torch.zeros_like(R), R) - T * R).sum() / N
    else:
        F = {"linear": R, "logistic": torch.sigmoid(R), "softmax": torch.softmax(R, dim=1)}[output]
        J = ((F - torch.tensor(Y, dtype=torch.float64)) ** 2).sum(dim=1).mean()
    grads = torch.autograd.grad(J, leaves)
    grads = [g.numpy() for g in grads]
    return float(J.item()), list(zip(grads[0::2], grads[1::2]))


def _check_nll_linear_raises(fn, rng):
    """loss "nll" with a linear output has no probabilities to take the log of: a ValueError."""
    N, sizes = int(rng.integers(1, 5)), [2, int(rng.integers(1, 5)), int(rng.integers(1, 4))]
    X = rng.standard_normal((N, sizes[0]))
    params = [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in itertools.pairwise(sizes)]
    Y = rng.integers(0, 2, (N, sizes[-1])).astype(float)
    what = (
        f"mlp_loss_and_grads(X, Y, params, 'tanh', 'linear', 'nll') with X {X.shape}, Y {Y.shape} of 0s and 1s, "
        f"layer sizes {sizes}"
    )
    expected = (
        "expected a ValueError: loss 'nll' needs an output that gives probabilities (logistic or softmax), "
        "and a linear output gives none"
    )
    try:
        result = H.call(fn, X, Y, params, "tanh", "linear", "nll", case=what, forbid=[torch.autograd])
    except HiddenTestFailure as exc:
        if isinstance(exc.__cause__, ValueError):
            return
        raise HiddenTestFailure(f"{exc} ({expected})") from None
    raise HiddenTestFailure(f"{what} returned {_kind(result)}; {expected}")


def _network_result(fn, what, case, forbid=(), require=()):
    """Call fn on a case through the harness; J as a float and grads as float arrays shaped like params."""
    X, Y, params, hidden, output, loss, _ = case
    try:
        result = H.call(
            fn, X, Y, params, hidden, output, loss, case=what, forbid=forbid, require=require
        )
    except HiddenTestFailure as exc:
        if "floating-point" not in str(exc):
            raise
        raise HiddenTestFailure(f"{exc} {_loss_hint(output, loss)}") from None
    J, grads = _pair(result, what, "(J, grads)")
    J = _number_array(J, f"J of {what}", shape=())
    try:
        grads = list(grads)
    except TypeError:
        raise HiddenTestFailure(
            f"grads of {what} must be a list of (dW, db), one per layer; received {_kind(grads)}"
        ) from None
    if len(grads) != len(params):
        raise HiddenTestFailure(
            f"grads of {what} must hold one (dW, db) per layer, {len(params)} in all, in the order of params; "
            f"received {len(grads)}"
        )
    checked = []
    for layer, (pair, (W, b)) in enumerate(zip(grads, params)):
        dW, db = _pair(pair, f"grads[{layer}] of {what}", "(dW, db)")
        try:
            checked.append(
                (
                    _number_array(dW, f"dW of layer {layer} of {what}", W.shape),
                    _number_array(db, f"db of layer {layer} of {what}", b.shape),
                )
            )
        except HiddenTestFailure as exc:
            raise HiddenTestFailure(
                f"{exc} (grads[l] = (dW, db) of params[l], the first layer first)"
            ) from None
    return J, checked


def _own_central_differences(fn, case, J, grads, what):
    """Every gradient against central differences of the student's own J."""
    params = case[2]
    hint = "against central differences of your own J (the backward pass disagrees with the forward pass)"
    # Rounding in J(W +- h) limits central differences to about 1e-11 |J| absolute: allow 100 times that.
    atol = 1e-9 * max(1.0, abs(float(J)))
    for layer in range(len(params)):
        for which, name in enumerate(("dW", "db")):
            try:
                H.assert_gradient(
                    None,
                    params[layer][which],
                    grads[layer][which],
                    f"{name} of layer {layer} of {what}, {hint},",
                    atol=atol,
                    f_many=_J_varying(fn, case, layer, which, what),
                )
            except HiddenTestFailure:
                raise
            except Exception as exc:  # noqa: BLE001 (any crash of the student's code is a failure)
                raise HiddenTestFailure(
                    f"{what} raised {type(exc).__name__} when called again at nearby weights: {exc}"
                ) from None


def _J_varying(fn, case, layer, which, what):
    """The student's J as a function of params[layer][which] (0 for W, 1 for b) alone, at a list of
    values at once (one request to the kernel while grading)."""
    X, Y, params, hidden, output, loss, _ = case

    def changed(value):
        changed = list(params)
        pair = list(params[layer])
        pair[which] = value
        changed[layer] = tuple(pair)
        return changed

    def J_at(values):
        calls = [((X, Y, changed(value), hidden, output, loss), {}) for value in values]
        results = H.call_many(fn, calls, case=f"{what} at nearby weights")
        return [float(_number_array(_first(result, what), f"J of {what}", shape=())) for result in results]

    return J_at


def _first(result, what):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise HiddenTestFailure(f"{what} must return (J, grads); at nearby weights it returned {type(result).__name__}")
    return result[0]


def _loss_hint(output, loss):
    if loss == "mse":
        F = {"linear": "F = R", "logistic": "F = sigmoid(R)", "softmax": "F = softmax(R)"}[output]
        return f"(J = mean over examples of sum over outputs of (Y - F)**2, with {F} for R the last layer's response)"
    if output == "softmax":
        return "(J = mean over examples of logsumexp(R_i) - R_i[y_i], computed from the logits R without log(0))"
    return "(J = sum over outputs, mean over examples of log(1 + exp(R)) - Y R, computed from R with np.logaddexp(0, R))"


def _network_what(name, case):
    X, _, params, hidden, output, loss, large = case
    sizes = [X.shape[1]] + [W.shape[1] for W, _ in params]
    extra = ", logits of about 1e3" if large else ""
    return (
        f"{name}(X, Y, params, hidden={hidden!r}, output={output!r}, loss={loss!r}) for layer sizes {sizes} "
        f"and N = {X.shape[0]} examples{extra}"
    )


# ------------------------------------------------------------------------------------ helpers
def _pair(value, what, names):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise HiddenTestFailure(
            f"{what} must return a pair {names}; received {_kind(value)}"
        ) from None
    return first, second


def _number_array(value, what, shape):
    """H.as_float, also for torch tensors, with a hint when one still requires grad."""
    if isinstance(value, torch.Tensor):
        if value.requires_grad:
            raise HiddenTestFailure(
                f"{what} is a tensor that requires grad; return plain numbers: J.item() for the loss and "
                f"W.grad.numpy() for the gradients"
            )
        value = value.detach().cpu().numpy()
    return H.as_float(value, what, shape=shape)


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__


def _what(name, **inputs):
    """`name(a, b)` for a = ..., b = ...: small inputs in full, larger ones by shape."""
    return f"{name}({', '.join(inputs)}) for " + ", ".join(
        f"{k} = {_array(v)}" for k, v in inputs.items()
    )


def _array(value):
    a = np.asarray(value)
    kind = "" if a.dtype == np.float64 else f" (dtype {a.dtype})"
    if a.size > 12:
        return f"an array of shape {a.shape}{kind}"
    return (
        " ".join(np.array2string(a, precision=6, separator=", ", max_line_width=10**6).split())
        + kind
    )
