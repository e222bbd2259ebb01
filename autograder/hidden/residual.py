"""Hidden tests of 05_residual, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>` draws seeded shapes and inputs (a batch of one, a hidden width equal to the
block's width and different from it both ways, hidden responses exactly at 0, integer arrays), calls
the student's function through the harness and compares with oracles written here independently of
nn273: torch float64 and its autograd gradients. Every backward pass is also checked against central
differences of the oracle where no hidden response lies near ReLU's kink. The NumPy exercises must
not call torch. The ResidualBlock test knows the block only through calls and public attributes, as
a kernel object while grading.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import numpy as np
import torch

import nn273.residual

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_ResidualBlock",
    "test_answer_block_parameters",
    "test_answer_zero_block_gradient",
    "test_residual_backward",
    "test_residual_forward",
]

H = Harness(nn273.residual)

_FORMULA = (
    "(out = X + relu(X @ W1 + b1) @ W2 + b2: the input added to what the two layers make of it, "
    "the ReLU on the hidden layer only, before W2)"
)
_HINTS = {
    "dX": "(dX = dout, the identity path, plus dR @ W1.T, the path through the block, with "
    "dR = (dout @ W2.T) * 1[R > 0], R = X @ W1 + b1)",
    "dW1": "(dW1 = X.T @ dR, dR = (dout @ W2.T) * 1[R > 0]: ReLU's derivative is 0 where R <= 0, "
    "also at R = 0 exactly, as torch's relu)",
    "db1": "(db1 sums dR = (dout @ W2.T) * 1[R > 0] over the examples: ReLU's derivative is 0 where R <= 0, "
    "also at R = 0 exactly)",
    "dW2": "(dW2 = relu(R).T @ dout, with R = X @ W1 + b1)",
    "db2": "(db2 sums dout over the examples, axis 0)",
}
_INTS = "(the inputs here are integer arrays: convert them to float before computing)"
_ZERO = "(here some hidden responses R = X @ W1 + b1 are exactly 0: relu'(0) = 0, as torch's relu)"


# --------------------------------------------------------------------------------------- tests
def test_residual_forward(residual_forward):
    rng = H.rng("residual_forward")
    for args, note, hint in _cases(rng):
        what = _what("residual_forward", args, note)
        out, _ = _pair(H.call(residual_forward, *args, forbid=[torch], case=what), what)
        expected = _oracle(*args)
        out = H.as_float(
            out,
            f"out of {what}",
            expected.shape,
            hint="(out has X's shape (N, D): the block keeps the width)",
        )
        H.assert_close(
            out, expected, f"out of {what}", rtol=1e-9, atol=1e-10, hint=hint or _FORMULA
        )


def test_residual_backward(residual_backward, residual_forward):
    rng = H.rng("residual_backward")
    for args, note, hint in _cases(rng):
        forward = _what("residual_forward", args, note)
        out, cache = _pair(H.call(residual_forward, *args, forbid=[torch], case=forward), forward)
        expected = _oracle(*args)
        _forward_first(out, expected, forward)
        dout = rng.standard_normal(expected.shape)
        what = (
            f"residual_backward(dout, cache) for dout of shape {dout.shape}, cache from {forward}"
        )
        result = H.call(residual_backward, dout, cache, forbid=[torch], case=what)
        try:
            grads = tuple(result)
        except TypeError:
            grads = ()
        if len(grads) != 5:
            raise HiddenTestFailure(
                f"{what} must return five gradients (dX, dW1, db1, dW2, db2); received {_kind(result)}"
            )
        names = ("dX", "dW1", "db1", "dW2", "db2")
        floats = [np.asarray(a, dtype=float) for a in args]
        grads = [
            H.as_float(g, f"{name} of {what}", a.shape, hint=f"({name} is shaped like {name[1:]})")
            for name, g, a in zip(names, grads, floats)
        ]
        for name, got, want in zip(names, grads, _gradients(floats, dout)):
            H.assert_close(
                got, want, f"{name} of {what}", rtol=1e-9, atol=1e-10, hint=hint or _HINTS[name]
            )
        R = floats[0] @ floats[1] + floats[2]
        if (
            np.min(np.abs(R)) > 1e-3
        ):  # away from ReLU's kink: central differences of the oracle agree
            for i, (name, got) in enumerate(zip(names, grads)):

                def f(value, i=i):
                    return float(np.sum(_oracle(*floats[:i], value, *floats[i + 1 :]) * dout))

                H.assert_gradient(
                    f, floats[i], got, f"{name} of {what}, against central differences,"
                )


def test_ResidualBlock(ResidualBlock):
    rng = H.rng("ResidualBlock")
    D = int(rng.integers(2, 7))
    for width, hidden in [
        (D, D),
        (D, D + int(rng.integers(1, 5))),
        (D + 3, int(rng.integers(1, D + 2))),
    ]:
        what = f"ResidualBlock({width}, {hidden})"
        block = H.call(ResidualBlock, width, hidden, case=what)
        with H.hint(
            "(ResidualBlock(width, hidden) holds linear1 = torch.nn.Linear(width, hidden) and "
            "linear2 = torch.nn.Linear(hidden, width), and forward(x) = x + linear2(relu(linear1(x))))"
        ):
            _check_block(block, width, hidden, what, rng)


def test_answer_block_parameters(answer):
    H.number(answer, 33088, "how many parameters ResidualBlock(64, 256) has")


def test_answer_zero_block_gradient(answer):
    H.choice(
        answer, "c", "abcd", "which parameters of a block whose weights and biases are all zero get a gradient"
    )


# ------------------------------------------------------------------------------------- cases
def _cases(rng):
    """(args, note, hint): a batch of one with H = D, a batch with H = D, H > D, H < D, hidden
    responses exactly at 0, integer arrays."""

    def draw(N, D, H_):
        return (
            rng.standard_normal((N, D)),
            rng.standard_normal((D, H_)),
            rng.standard_normal(H_),
            rng.standard_normal((H_, D)),
            rng.standard_normal(D),
        )

    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    D = r(2, 5)
    cases = [
        (draw(1, D, D), ", a batch of one, H = D", ""),
        (draw(r(3, 6), D, D), ", H = D", ""),
        (draw(r(2, 5), D, D + r(2, 4)), ", H > D", ""),
        (draw(r(2, 5), D + r(2, 3), r(1, 2)), ", H < D", ""),
    ]
    # hidden responses exactly at 0: small integers and halves, b1 cancelling X[0] @ W1 in some columns
    N, D, H_ = r(3, 5), r(2, 4), r(4, 6)
    X = rng.integers(-4, 5, (N, D)) / 2.0
    W1 = rng.integers(-3, 4, (D, H_)).astype(float)
    b1 = rng.integers(-2, 3, H_).astype(float)
    zero = rng.permutation(H_)[: H_ // 2 + 1]
    b1[zero] = -(X[0] @ W1[:, zero])
    b1[zero[0]] = -(X[1] @ W1[:, zero[0]])  # another example's response at 0 too
    cases.append(
        (
            (X, W1, b1, rng.standard_normal((H_, D)), rng.standard_normal(D)),
            ", with R = 0 in places",
            _ZERO,
        )
    )
    N, D, H_ = r(2, 4), r(2, 4), r(2, 5)
    ints = (
        rng.integers(-3, 4, (N, D)),
        rng.integers(-2, 3, (D, H_)),
        rng.integers(-2, 3, H_),
        rng.integers(-2, 3, (H_, D)),
        rng.integers(-2, 3, D),
    )
    cases.append((ints, ", integer arrays", _INTS))
    return cases


def _what(name, args, note):
    X, W1, b1, W2, b2 = (np.shape(a) for a in args)
    return f"{name}(X, W1, b1, W2, b2) for X {X}, W1 {W1}, b1 {b1}, W2 {W2}, b2 {b2}{note}"


def _tensor(value):
    return torch.tensor(np.asarray(value, dtype=np.float64))


def _oracle(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (_tensor(v) for v in (X, W1, b1, W2, b2))
    return (X + torch.relu(X @ W1 + b1) @ W2 + b2).numpy()


def _gradients(args, dout):
    leaves = [_tensor(v).requires_grad_(True) for v in args]
    X, W1, b1, W2, b2 = leaves
    out = X + torch.relu(X @ W1 + b1) @ W2 + b2
    return [g.numpy() for g in torch.autograd.grad(out, leaves, torch.tensor(dout))]


def _forward_first(out, expected, forward):
    try:
        out = H.as_float(out, f"out of {forward}", expected.shape)
        H.assert_close(out, expected, f"out of {forward}", rtol=1e-9, atol=1e-10)
    except HiddenTestFailure as exc:
        raise HiddenTestFailure(
            f"residual_backward is tested with the cache of your residual_forward, which is wrong: {exc}. "
            f"Fix residual_forward first."
        ) from None


# ----------------------------------------------------------------------------- ResidualBlock
def _check_block(block, width, hidden, what, rng):
    """The block's two layers by their public attributes, its parameters as torch sees them, and
    its output on a batch of one and a batch of several against the formula in float64."""
    linear1, linear2 = _attribute(block, "linear1", what), _attribute(block, "linear2", what)
    _features(linear1, "linear1", what, width, hidden)
    _features(linear2, "linear2", what, hidden, width)
    W1, b1 = _tensor_of(linear1, "weight", what), _tensor_of(linear1, "bias", what)
    W2, b2 = _tensor_of(linear2, "weight", what), _tensor_of(linear2, "bias", what)
    for name, value, shape in [
        ("linear1.weight", W1, (hidden, width)),
        ("linear1.bias", b1, (hidden,)),
        ("linear2.weight", W2, (width, hidden)),
        ("linear2.bias", b2, (width,)),
    ]:
        if tuple(value.shape) != shape:
            raise HiddenTestFailure(
                f"{name} of {what} must have shape {shape} (torch keeps a Linear's weight as (out, in)); "
                f"it has {tuple(value.shape)}"
            )
    shapes = sorted(tuple(p.shape) for p in _parameters(block, what))
    wanted = sorted([(hidden, width), (hidden,), (width, hidden), (width,)])
    if shapes != wanted:
        raise HiddenTestFailure(
            f"{what}.parameters() must be the weights and biases of linear1 and linear2, of shapes {wanted} "
            f"(what an optimizer trains); it gives {shapes}"
        )
    dtype = W1.dtype
    N = int(rng.integers(2, 6))
    x = torch.tensor(rng.standard_normal((N, width)) * 2, dtype=dtype)
    for batch in (x[:1], x):
        got = _output(block, batch, what)
        xd = batch.double()
        expected = xd + torch.relu(xd @ W1.double().T + b1.double()) @ W2.double().T + b2.double()
        if tuple(got.shape) != tuple(expected.shape):
            raise HiddenTestFailure(
                f"{what} must map a batch of shape {tuple(batch.shape)} to one of the same shape; "
                f"it returned shape {tuple(got.shape)}"
            )
        H.assert_close(
            got.numpy(),
            expected.numpy(),
            f"the output of {what} on a batch of shape {tuple(batch.shape)}",
            rtol=1e-4,
            atol=1e-4,
        )


def _attribute(block, name, what):
    try:
        return getattr(block, name)
    except HiddenTestFailure:
        raise
    except Exception:  # noqa: BLE001 (anything without the attribute is a wrong answer)
        raise HiddenTestFailure(
            f"{what} must have an attribute {name}, a torch.nn.Linear; received {_kind(block)} without it"
        ) from None


def _features(layer, name, what, n_in, n_out):
    for attribute, value in [("in_features", n_in), ("out_features", n_out)]:
        try:
            got = getattr(layer, attribute)
        except Exception:  # noqa: BLE001
            raise HiddenTestFailure(
                f"{name} of {what} has no {attribute}; is it a torch.nn.Linear?"
            ) from None
        if got != value:
            raise HiddenTestFailure(
                f"{name} of {what} must be Linear({n_in}, {n_out}): {attribute} = {value}; it has {got!r}"
            )


def _tensor_of(layer, name, what):
    try:
        value = getattr(layer, name)
    except Exception:  # noqa: BLE001
        raise HiddenTestFailure(
            f"the layer of {what} has no {name}; is it a torch.nn.Linear?"
        ) from None
    if not isinstance(value, torch.Tensor):
        raise HiddenTestFailure(
            f"linear1 and linear2 of {what} must each have a tensor as {name} (torch.nn.Linear's default "
            f"bias=True); one has {_kind(value)}"
        )
    return value.detach()


def _parameters(block, what):
    try:
        parameters = list(block.parameters())
    except Exception as exc:  # noqa: BLE001
        raise HiddenTestFailure(
            f"{what} must be a torch.nn.Module, whose parameters() torch trains; received {_kind(block)} "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not all(isinstance(p, torch.Tensor) for p in parameters):
        raise HiddenTestFailure(f"{what}.parameters() must give tensors")
    return parameters


def _output(block, x, what):
    got = H.call(
        block, x.clone(), case=f"the block {what} called on a batch of shape {tuple(x.shape)}"
    )
    if not isinstance(got, torch.Tensor):
        raise HiddenTestFailure(
            f"{what} called on a batch must return a tensor; it returned {_kind(got)}"
        )
    return got.detach().double()


# ------------------------------------------------------------------------------------ helpers
def _pair(value, what):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise HiddenTestFailure(
            f"{what} must return a pair (out, cache); received {_kind(value)}"
        ) from None
    return first, second


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a value of type {getattr(value, '_type', None) or type(value).__name__}"
