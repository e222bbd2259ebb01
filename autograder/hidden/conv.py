"""Hidden tests of 04_conv, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>` draws seeded shapes and inputs (a batch of one, non-square images and kernels,
several channels and filters, stride and padding together, last windows that do not fit, ties and
overlapping pooling windows), calls the student's function through the harness and compares with
oracles written here independently of nn273: window counting for the output size, and torch float64
(`conv2d`, `max_pool2d` and their autograd gradients) for the layers. Every backward pass is also
checked against central differences of the oracle. The NumPy exercises must not call torch. The
LeNet test knows the model only through calls and public attributes, as a kernel object while grading.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import numpy as np
import torch

import nn273.conv

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_answer_lenet_parameters",
    "test_answer_shifted_map",
    "test_build_lenet",
    "test_conv2d_backward",
    "test_conv2d_forward",
    "test_conv_output_size",
    "test_maxpool2d_backward",
    "test_maxpool2d_forward",
]

H = Harness(nn273.conv)

_CONV_HINT = (
    "(out[n, f, i, j] = b[f] + sum over c, p, q of w[f, c, p, q] * xpad[n, c, stride*i + p, stride*j + q]: "
    "cross-correlation, the kernel not flipped, x zero-padded by pad on every side)"
)
_INTS = "(the inputs here are integer arrays: convert them to float before computing)"


# --------------------------------------------------------------------------------------- tests
def test_conv_output_size(conv_output_size):
    rng = H.rng("conv_output_size")
    cases = [(28, 5, 1, 0), (28, 5, 2, 0), (12, 3, 2, 0), (5, 5, 1, 0), (1, 3, 1, 1)]
    for _ in range(12):
        k = int(rng.integers(1, 8))
        pad = int(rng.integers(0, 4))
        n = int(rng.integers(max(1, k - 2 * pad), 40))
        cases.append((n, k, int(rng.integers(1, 6)), pad))
    for n, k, stride, pad in cases:
        expected = len(range(0, n + 2 * pad - k + 1, stride))  # every window start that fits
        if (stride, pad) == (1, 0):  # the defaults
            what = f"conv_output_size({n}, {k})"
            result = H.call(conv_output_size, n, k, forbid=[torch], case=what)
        else:
            what = f"conv_output_size({n}, {k}, stride={stride}, pad={pad})"
            result = H.call(
                conv_output_size, n, k, stride=stride, pad=pad, forbid=[torch], case=what
            )
        got = H.as_float(result, what, shape=())
        if isinstance(result, (bool, np.bool_)) or not isinstance(result, (int, np.integer)):
            raise HiddenTestFailure(
                f"{what} must return an integer, a count of windows (use // for the division); received "
                f"{_kind(result)} {got}"
            )
        H.assert_close(
            got,
            expected,
            what,
            rtol=0,
            atol=0,
            hint=(
                "(the padded input has n + 2 pad entries; windows start every stride entries and a last "
                "window that does not fit is dropped: (n + 2 pad - k) // stride + 1)"
            ),
        )


def test_conv2d_forward(conv2d_forward):
    rng = H.rng("conv2d_forward")
    for x, w, b, stride, pad, hint in _conv_cases(rng):
        what = _conv_what("conv2d_forward", x, w, b, stride, pad)
        out, _ = _pair(_call_conv(conv2d_forward, x, w, b, stride, pad, what), what, "(out, cache)")
        expected = _conv_oracle(x, w, b, stride, pad)
        out = H.as_float(out, f"out of {what}", expected.shape, hint=_shape_hint(x, w, stride, pad))
        H.assert_close(
            out, expected, f"out of {what}", rtol=1e-9, atol=1e-10, hint=hint or _CONV_HINT
        )


def test_conv2d_backward(conv2d_backward, conv2d_forward):
    rng = H.rng("conv2d_backward")
    for i, (x, w, b, stride, pad, hint) in enumerate(_conv_cases(rng)):
        forward = _conv_what("conv2d_forward", x, w, b, stride, pad)
        out, cache = _pair(
            _call_conv(conv2d_forward, x, w, b, stride, pad, forward), forward, "(out, cache)"
        )
        expected = _conv_oracle(x, w, b, stride, pad)
        _forward_first("conv2d", out, expected, forward)
        dout = rng.standard_normal(expected.shape)
        what = f"conv2d_backward(dout, cache) for dout of shape {dout.shape}, cache from {forward}"
        result = H.call(conv2d_backward, dout, cache, forbid=[torch], case=what)
        try:
            dx, dw, db = result
        except (TypeError, ValueError):
            raise HiddenTestFailure(
                f"{what} must return three gradients (dx, dw, db); received {_kind(result)}"
            ) from None
        dx = H.as_float(
            dx, f"dx of {what}", x.shape, hint="(dx is shaped like x, without the padding)"
        )
        dw = H.as_float(dw, f"dw of {what}", w.shape, hint="(dw is shaped like w)")
        db = H.as_float(db, f"db of {what}", b.shape, hint="(db has one entry per filter, like b)")
        oracle = _conv_gradients(x, w, b, stride, pad, dout)
        hints = {
            "dx": "(every window sends w * dout back to the entries it read: added where windows overlap, "
            "at stride apart, and the padding cut off)",
            "dw": "(dw[f, c, p, q] sums dout[n, f, i, j] * xpad[n, c, stride*i + p, stride*j + q] over n, i, j)",
            "db": "(db[f] sums dout over the examples and the output positions: axes 0, 2 and 3)",
        }
        for name, got, want in zip(("dx", "dw", "db"), (dx, dw, db), oracle):
            H.assert_close(
                got, want, f"{name} of {what}", rtol=1e-9, atol=1e-10, hint=hint or hints[name]
            )
        if i % 2 == 0:  # central differences of the oracle: the same verdict, by another route
            xf, wf, bf = (np.asarray(v, dtype=float) for v in (x, w, b))
            functions = (
                lambda x_: _conv_sum(x_, wf, bf, stride, pad, dout),
                lambda w_: _conv_sum(xf, w_, bf, stride, pad, dout),
                lambda b_: _conv_sum(xf, wf, b_, stride, pad, dout),
            )
            for name, f, at, got in zip(("dx", "dw", "db"), functions, (xf, wf, bf), (dx, dw, db)):
                H.assert_gradient(f, at, got, f"{name} of {what}, against central differences,")


def test_maxpool2d_forward(maxpool2d_forward):
    rng = H.rng("maxpool2d_forward")
    for x, size, stride, note in _pool_cases(rng):
        what = f"maxpool2d_forward(x, {size}, {stride}) for x of shape {x.shape}{note}"
        out, _ = _pair(
            H.call(maxpool2d_forward, x, size, stride, forbid=[torch], case=what),
            what,
            "(out, cache)",
        )
        expected = _pool_oracle(x, size, stride)
        out = H.as_float(
            out,
            f"out of {what}",
            expected.shape,
            hint=f"(OH = (H - size) // stride + 1: windows every stride = {stride} entries, a last window that "
            f"does not fit dropped)",
        )
        H.assert_close(
            out,
            expected,
            f"out of {what}",
            rtol=0,
            atol=0,
            hint="(out[n, c, i, j] is the largest x[n, c, stride*i + p, stride*j + q] for p, q in range(size))",
        )


def test_maxpool2d_backward(maxpool2d_backward, maxpool2d_forward):
    rng = H.rng("maxpool2d_backward")
    for x, size, stride, note in _pool_cases(rng):
        forward = f"maxpool2d_forward(x, {size}, {stride}) for x of shape {x.shape}{note}"
        out, cache = _pair(
            H.call(maxpool2d_forward, x, size, stride, forbid=[torch], case=forward),
            forward,
            "(out, cache)",
        )
        expected = _pool_oracle(x, size, stride)
        _forward_first("maxpool2d", out, expected, forward, exact=True)
        dout = rng.standard_normal(expected.shape)
        what = (
            f"maxpool2d_backward(dout, cache) for dout of shape {dout.shape}, cache from {forward}"
        )
        dx = H.call(maxpool2d_backward, dout, cache, forbid=[torch], case=what)
        dx = H.as_float(dx, f"dx of {what}", x.shape, hint="(dx is shaped like x)")
        H.assert_close(
            dx,
            _pool_gradient(x, size, stride, dout),
            f"dx of {what}",
            rtol=1e-12,
            atol=1e-12,
            hint=(
                "(each dout entry goes to its window's largest entry, the first one in row-major order on ties, "
                "as torch; where overlapping windows share that entry their gradients add up)"
            ),
        )
        if "ties" not in note:  # central differences are defined away from ties
            H.assert_gradient(
                lambda x_: float(np.sum(_pool_oracle(x_, size, stride) * dout)),
                x,
                dx,
                f"dx of {what}, against central differences,",
            )


def test_build_lenet(build_lenet):
    rng = H.rng("build_lenet")
    K = int(rng.integers(2, 10))
    for args, kwargs, classes in [((), {}, 10), ((), {"num_classes": K}, K)]:
        what = f"build_lenet({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        model = H.call(build_lenet, *args, case=what, **kwargs)
        with H.hint(
            "(the lecture's model: Conv2d(1, 16, (5, 5), stride=2), ReLU, MaxPool2d(3, stride=2), Flatten, "
            "Linear(400, num_classes), in a torch.nn.Sequential)"
        ):
            _check_lenet(model, classes, what, rng)


def test_answer_lenet_parameters(answer):
    H.number(answer, 10842, "how many parameters build_lenet(num_classes=26) has")


def test_answer_shifted_map(answer):
    H.choice(
        answer,
        "b",
        "abcd",
        "what a digit shifted 3 pixels to the right does to the convolution layer's maps",
    )


# ------------------------------------------------------------------------------ convolution
def _conv_cases(rng):
    """(x, w, b, stride, pad, hint): a batch of one, non-square images and kernels, C > 1 and F > 1,
    stride and padding together with a last window that does not fit, a 1x1 kernel, C = F with square
    kernels (a swapped filter axis keeps the shapes), the defaults (stride None: not passed), integers."""

    def draw(N, C, H, W, F, KH, KW):
        return (
            rng.standard_normal((N, C, H, W)),
            rng.standard_normal((F, C, KH, KW)),
            rng.standard_normal(F),
        )

    def misfit(n, k, stride, pad):  # n nudged so that the last window does not fit
        return n + 1 if (n + 2 * pad - k) % stride == 0 else n

    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    cases = []
    H_, KH = r(4, 6), r(2, 3)
    cases.append((*draw(1, 1, H_, H_ + r(1, 2), 1, KH, KH), 1, 0, ""))
    H_, KH = r(5, 7), r(2, 3)
    cases.append((*draw(r(2, 3), r(2, 3), H_, H_ + r(1, 3), r(2, 3), KH, KH + 1), 1, 0, ""))
    KH, KW = r(2, 3), r(3, 4)
    H_, W_ = misfit(r(6, 8), KH, 2, 1), misfit(r(5, 9), KW, 2, 1)
    cases.append((*draw(r(1, 3), r(2, 3), H_, W_, r(2, 4), KH, KW), 2, 1, ""))
    KH, KW = r(2, 4), r(2, 3)
    H_, W_ = misfit(r(6, 9), KH, 3, 2), misfit(r(5, 8), KW, 3, 2)
    cases.append((*draw(1, r(1, 2), H_, W_, r(2, 3), KH, KW), 3, 2, ""))
    cases.append((*draw(r(2, 3), r(2, 4), r(3, 5), r(3, 6), r(2, 4), 1, 1), 1, 0, ""))
    C = r(2, 3)
    cases.append(
        (*draw(2, C, 5, 5, C, 3, 3), 2, 1, "(C = F here: w is (F, C, KH, KW), filters first)")
    )
    cases.append((*draw(2, 2, r(5, 7), r(4, 6), 3, 3, 2), None, None, ""))
    x = rng.integers(-3, 4, (2, 2, 6, 5))
    cases.append((x, rng.integers(-2, 3, (2, 2, 3, 2)), rng.integers(-2, 3, 2), 2, 1, _INTS))
    return cases


def _call_conv(conv2d_forward, x, w, b, stride, pad, what):
    if stride is None:
        return H.call(conv2d_forward, x, w, b, forbid=[torch], case=what)
    return H.call(conv2d_forward, x, w, b, stride=stride, pad=pad, forbid=[torch], case=what)


def _conv_what(name, x, w, b, stride, pad):
    shapes = f"x of shape {x.shape}, w of shape {w.shape}, b of shape {b.shape}"
    if stride is None:
        return f"{name}(x, w, b) for {shapes} (stride and pad left at their defaults 1 and 0)"
    return f"{name}(x, w, b, stride={stride}, pad={pad}) for {shapes}"


def _shape_hint(x, w, stride, pad):
    stride, pad = (1, 0) if stride is None else (stride, pad)
    return (
        f"(out is (N, F, OH, OW) with OH = (H + 2 pad - KH) // stride + 1 = ({x.shape[2]} + 2*{pad} - {w.shape[2]}) "
        f"// {stride} + 1, OW likewise)"
    )


def _tensor(value):
    return torch.tensor(np.asarray(value, dtype=np.float64))


def _conv_oracle(x, w, b, stride, pad):
    stride, pad = (1, 0) if stride is None else (stride, pad)
    out = torch.nn.functional.conv2d(_tensor(x), _tensor(w), _tensor(b), stride=stride, padding=pad)
    return out.numpy()


def _conv_sum(x, w, b, stride, pad, dout):
    return float(np.sum(_conv_oracle(x, w, b, stride, pad) * dout))


def _conv_gradients(x, w, b, stride, pad, dout):
    stride, pad = (1, 0) if stride is None else (stride, pad)
    leaves = [_tensor(v).requires_grad_(True) for v in (x, w, b)]
    out = torch.nn.functional.conv2d(*leaves, stride=stride, padding=pad)
    return [g.numpy() for g in torch.autograd.grad(out, leaves, torch.tensor(dout))]


# ------------------------------------------------------------------------------ max pooling
def _pool_cases(rng):
    """(x, size, stride, note): overlapping windows (3, stride 2) whose shared entry is a maximum,
    non-square images, last windows that do not fit, a batch of one, stride 1, windows apart, ties."""
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731

    def distinct(
        shape,
    ):  # values at least 0.01 apart: no ties, and no kink within central differences' h
        return rng.permutation(int(np.prod(shape))).reshape(shape) / 100.0 - 1.0

    cases = []
    x = distinct((1, 1, 5, 5))
    x[0, 0, 2, 2] = x.max() + 1.0  # the entry shared by all four windows wins in each
    cases.append(
        (x, 3, 2, ", a batch of one, its centre the maximum of all four overlapping windows")
    )
    H_, W_ = 2 * r(3, 4) + 1, 2 * r(3, 4) + 2  # the last column of windows does not fit
    x = distinct((r(2, 3), r(2, 3), H_, W_))
    x[:, :, 2, 2] = x.max() + 1.0
    cases.append((x, 3, 2, ", overlapping windows, a last window that does not fit"))
    cases.append((distinct((2, r(1, 3), r(5, 7), r(4, 7))), 2, 2, ""))
    cases.append((distinct((1, 2, r(4, 6), r(5, 7))), 2, 1, ", every entry in up to four windows"))
    cases.append((distinct((r(1, 2), 2, r(7, 9), r(6, 8))), 3, 3, ""))
    ties = rng.integers(0, 3, (2, 2, r(5, 7), r(6, 8))).astype(float)
    cases.append((ties, 3, 2, ", many ties (values 0, 1, 2)"))
    cases.append((np.zeros((1, 2, 5, 6)), 2, 1, ", all zero: ties everywhere"))
    return cases


def _pool_oracle(x, size, stride):
    return torch.nn.functional.max_pool2d(_tensor(x), size, stride).numpy()


def _pool_gradient(x, size, stride, dout):
    leaf = _tensor(x).requires_grad_(True)
    out = torch.nn.functional.max_pool2d(leaf, size, stride)
    (grad,) = torch.autograd.grad(out, [leaf], torch.tensor(dout))
    return grad.numpy()


def _forward_first(layer, out, expected, forward, exact=False):
    try:
        out = H.as_float(out, f"out of {forward}", expected.shape)
        H.assert_close(
            out,
            expected,
            f"out of {forward}",
            rtol=0 if exact else 1e-9,
            atol=0 if exact else 1e-10,
        )
    except HiddenTestFailure as exc:
        raise HiddenTestFailure(
            f"{layer}_backward is tested with the cache of your {layer}_forward, which is wrong: {exc}. "
            f"Fix {layer}_forward first."
        ) from None


# ---------------------------------------------------------------------------------- LeNet
def _check_lenet(model, classes, what, rng):
    """The model's five layers, each by what it computes on drawn inputs and by its public attributes,
    then the whole model on a batch of one and a batch of several."""
    layers = _children(model, what)
    if len(layers) != 5:
        raise HiddenTestFailure(
            f"the model of {what} must have five layers (its children(), in order); it has {len(layers)}"
        )
    conv, relu, pool, flatten, linear = layers
    weight = _weight(conv, f"the first layer of {what}")
    dtype = weight.dtype
    _attributes(
        conv,
        "the first layer (Conv2d)",
        what,
        in_channels=1,
        out_channels=16,
        kernel_size=(5, 5),
        stride=(2, 2),
    )
    _attributes(pool, "the third layer (MaxPool2d)", what, kernel_size=(3, 3), stride=(2, 2))
    _attributes(linear, "the last layer (Linear)", what, in_features=400, out_features=classes)
    N = int(rng.integers(2, 5))
    x = torch.tensor(rng.standard_normal((N, 1, 28, 28)), dtype=dtype)
    bias = _weight(conv, f"the first layer of {what}", "bias")
    h = _layer(conv, x, "the first layer, Conv2d(1, 16, (5, 5), stride=2),", what)
    _close(
        h,
        torch.nn.functional.conv2d(x.double(), weight.double(), bias.double(), stride=2),
        "the first layer",
        what,
    )
    h_in = torch.tensor(rng.standard_normal((N, 16, 12, 12)), dtype=dtype)
    _close(
        _layer(relu, h_in, "the second layer, ReLU,", what),
        torch.relu(h_in.double()),
        "the second layer",
        what,
    )
    _close(
        _layer(pool, h_in, "the third layer, MaxPool2d(3, stride=2),", what),
        torch.nn.functional.max_pool2d(h_in.double(), 3, 2),
        "the third layer",
        what,
    )
    p_in = torch.tensor(rng.standard_normal((N, 16, 5, 5)), dtype=dtype)
    _close(
        _layer(flatten, p_in, "the fourth layer, Flatten,", what),
        p_in.double().reshape(N, 400),
        "the fourth layer",
        what,
    )
    W, b = (
        _weight(linear, f"the last layer of {what}"),
        _weight(linear, f"the last layer of {what}", "bias"),
    )
    f_in = torch.tensor(rng.standard_normal((N, 400)), dtype=dtype)
    _close(
        _layer(linear, f_in, "the last layer, Linear(400, num_classes),", what),
        f_in.double() @ W.double().T + b.double(),
        "the last layer",
        what,
    )
    for batch in (x[:1], x):
        got = _layer(model, batch, "the model", what)
        if tuple(got.shape) != (batch.shape[0], classes):
            raise HiddenTestFailure(
                f"the model of {what} must map a batch of shape {tuple(batch.shape)} to logits of shape "
                f"{(batch.shape[0], classes)}; it returned shape {tuple(got.shape)}"
            )
    h = torch.nn.functional.max_pool2d(
        torch.relu(
            torch.nn.functional.conv2d(x.double(), weight.double(), bias.double(), stride=2)
        ),
        3,
        2,
    )
    _close(got, h.reshape(N, 400) @ W.double().T + b.double(), "the whole model", what)


def _children(model, what):
    try:
        return list(model.children())
    except HiddenTestFailure:
        raise
    except Exception as exc:  # noqa: BLE001 (anything but a torch module is a wrong answer)
        raise HiddenTestFailure(
            f"{what} must return a torch.nn.Module whose children() are its layers; received a value of type "
            f"{getattr(model, '_type', None) or type(model).__name__} ({type(exc).__name__}: {exc})"
        ) from None


def _attributes(layer, which, what, **expected):
    for name, value in expected.items():
        try:
            got = getattr(layer, name)
        except Exception:  # noqa: BLE001
            raise HiddenTestFailure(
                f"{which} of {what} has no attribute {name}; is it the right kind of layer?"
            ) from None
        if isinstance(value, tuple) and isinstance(got, int) and not isinstance(got, bool):
            got = (got, got)  # MaxPool2d(3) keeps kernel_size 3, meaning (3, 3)
        if isinstance(got, list):
            got = tuple(got)
        if got != value:
            raise HiddenTestFailure(f"{which} of {what} must have {name} = {value}; it has {got!r}")


def _weight(layer, which, name="weight"):
    try:
        value = getattr(layer, name)
    except Exception:  # noqa: BLE001
        raise HiddenTestFailure(f"{which} has no {name}; is it the right kind of layer?") from None
    if not isinstance(value, torch.Tensor):
        raise HiddenTestFailure(
            f"{which} must have a tensor as {name}; it has a value of type {type(value).__name__}"
        )
    return value.detach()


def _layer(layer, value, which, what):
    """`layer(value)` through the harness, as a float64 tensor."""
    got = H.call(
        layer, value.clone(), case=f"{which} of {what}, on a batch of shape {tuple(value.shape)}"
    )
    if not isinstance(got, torch.Tensor):
        raise HiddenTestFailure(f"{which} of {what} must return a tensor; it returned {_kind(got)}")
    return got.detach().double()


def _close(got, expected, which, what):
    if tuple(got.shape) != tuple(expected.shape):
        raise HiddenTestFailure(
            f"{which} of {what} must give shape {tuple(expected.shape)}; it gave {tuple(got.shape)}"
        )
    H.assert_close(
        got.numpy(), expected.numpy(), f"the output of {which} of {what}", rtol=1e-4, atol=1e-4
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


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a value of type {getattr(value, '_type', None) or type(value).__name__}"
