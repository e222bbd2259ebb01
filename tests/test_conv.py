"""nn273.conv, the reference of 04_conv: convolution and max pooling against torch in float64 (values
and autograd) and central differences, on non-square images and kernels, several channels and
filters, a batch of one, stride and padding together and last windows that do not fit; ties and
overlapping windows of max pooling as torch routes them; output sizes; the lecture's LeNet; inputs
left alone; and errors that say what to fix."""

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import nn273.conv
from nn273.conv import (
    build_lenet,
    conv2d_backward,
    conv2d_forward,
    conv_output_size,
    maxpool2d_backward,
    maxpool2d_forward,
)
from nn273.gradcheck import check_gradient

# (N, C, H, W, F, KH, KW, stride, pad)
CONV_CASES = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0),  # a batch of one
    (2, 3, 7, 9, 4, 3, 2, 2, 1),  # non-square image and kernel, stride and padding together
    (3, 2, 8, 6, 2, 3, 3, 3, 2),  # last window does not fit: (8 + 4 - 3) / 3 is not whole
    (1, 2, 6, 7, 3, 2, 4, 2, 0),  # (7 - 4) / 2 is not whole
    (2, 1, 4, 4, 2, 4, 4, 1, 0),  # the kernel covers the whole image
    (20, 3, 9, 8, 5, 2, 3, 1, 1),  # a batch longer than one pass of the batched loop
    (2, 2, 3, 3, 2, 5, 5, 1, 1),  # a kernel larger than the image, which padding makes fit
]


def _conv_case(case, seed):
    N, C, H, W, F, KH, KW, stride, pad = case
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((N, C, H, W)),
        rng.standard_normal((F, C, KH, KW)),
        rng.standard_normal(F),
        stride,
        pad,
        rng,
    )


def _torch_conv(x, w, b, stride, pad, dout):
    leaves = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    out = torch.nn.functional.conv2d(*leaves, stride=stride, padding=pad)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in leaves]


# ------------------------------------------------------------------------------- output size
@pytest.mark.parametrize(
    "n, k, stride, pad, expected",
    [(28, 5, 1, 0, 24), (28, 5, 2, 0, 12), (12, 3, 2, 0, 5), (5, 5, 1, 0, 1), (7, 3, 2, 1, 4), (8, 3, 3, 2, 4),
     (1, 3, 1, 1, 1), (6, 4, 5, 0, 1)],
)  # fmt: skip
def test_conv_output_size(n, k, stride, pad, expected):
    assert conv_output_size(n, k, stride, pad) == expected
    assert type(conv_output_size(n, k, stride, pad)) is int


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 5), st.integers(0, 4))
def test_conv_output_size_counts_the_windows_that_fit(n, k, stride, pad):
    if k > n + 2 * pad:
        with pytest.raises(ValueError, match="must fit"):
            conv_output_size(n, k, stride, pad)
        return
    starts = range(0, n + 2 * pad - k + 1, stride)  # every window start inside the padded input
    assert conv_output_size(n, k, stride, pad) == len(starts)


@pytest.mark.parametrize(
    "args, error, match",
    [((0, 1), ValueError, "n must be"), ((5, 0), ValueError, "k must be"), ((5, 3, 0), ValueError, "stride"),
     ((5, 3, 1, -1), ValueError, "pad"), ((3, 5), ValueError, "must fit"), ((5.5, 3), TypeError, "integer"),
     ((5, True), TypeError, "integer")],
)  # fmt: skip
def test_conv_output_size_errors(args, error, match):
    with pytest.raises(error, match=match):
        conv_output_size(*args)


# ------------------------------------------------------------------------------- convolution
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_against_torch(case):
    x, w, b, stride, pad, rng = _conv_case(case, sum(case))
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = _torch_conv(x, w, b, stride, pad, dout)
    assert (
        out.shape
        == out_t.shape
        == (
            x.shape[0],
            w.shape[0],
            conv_output_size(x.shape[2], w.shape[2], stride, pad),
            conv_output_size(x.shape[3], w.shape[3], stride, pad),
        )
    )
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(conv2d_backward(dout, cache), grads_t):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES[:5])
def test_conv_backward_against_central_differences(case):
    x, w, b, stride, pad, rng = _conv_case(case, 7 * sum(case))
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)

    def J(x_, w_, b_):
        return float(np.sum(conv2d_forward(x_, w_, b_, stride, pad)[0] * dout))

    check_gradient(J, [x, w, b], list(conv2d_backward(dout, cache)), names=["x", "w", "b"])


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3),
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_conv_against_torch_on_drawn_shapes(N, C, H, W, F, KH, KW, stride, pad, seed):
    if KH > H + 2 * pad or KW > W + 2 * pad:
        with pytest.raises(ValueError, match="must fit"):
            conv2d_forward(
                np.zeros((N, C, H, W)), np.zeros((F, C, KH, KW)), np.zeros(F), stride, pad
            )
        return
    x, w, b, stride, pad, rng = _conv_case((N, C, H, W, F, KH, KW, stride, pad), seed)
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    out_t, grads_t = _torch_conv(x, w, b, stride, pad, dout)
    np.testing.assert_allclose(out, out_t, rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(conv2d_backward(dout, cache), grads_t):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


def test_conv_is_cross_correlation():
    # One filter, one window: the output is the plain elementwise product, not the flipped one.
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    w = np.array([[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    out, _ = conv2d_forward(x, w, np.zeros(1))
    assert out.shape == (1, 1, 1, 1) and out[0, 0, 0, 0] == x[0, 0, 0, 0]


def test_conv_of_integers_and_views():
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (2, 2, 10, 12))[:, :, ::2, 1::2]  # a non-contiguous integer view
    w = rng.integers(-2, 3, (3, 2, 2, 3))
    b = rng.integers(-1, 2, 3)
    out, cache = conv2d_forward(x, w, b, stride=2, pad=1)
    assert out.dtype == np.float64
    out_t, grads_t = _torch_conv(
        x.astype(float), w.astype(float), b.astype(float), 2, 1, np.ones(out.shape)
    )
    np.testing.assert_array_equal(out, out_t)
    for mine, theirs in zip(conv2d_backward(np.ones(out.shape), cache), grads_t):
        np.testing.assert_array_equal(mine, theirs)


def test_conv_leaves_its_inputs_alone():
    x, w, b, stride, pad, rng = _conv_case(CONV_CASES[1], 1)
    copies = [v.copy() for v in (x, w, b)]
    out, cache = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    conv2d_backward(dout, cache)
    for v, c in zip((x, w, b, dout), (*copies, dout_copy)):
        np.testing.assert_array_equal(v, c)


@pytest.mark.parametrize(
    "x, w, b, kwargs, match",
    [
        (np.zeros((2, 3, 5)), np.zeros((1, 3, 2, 2)), np.zeros(1), {}, "x must be 4-D"),
        (np.zeros((1, 3, 5, 5)), np.zeros((1, 2, 2, 2)), np.zeros(1), {}, r"w must have one channel per channel of x"),
        (np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 2, 2)), np.zeros(3), {}, r"b must have shape \(F,\) = \(2,\)"),
        (np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 2)), np.zeros(1), {}, "must fit in the padded image"),
        (np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1), {"stride": 0}, "stride must be"),
        (np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1), {"pad": -1}, "pad must be"),
    ],
)  # fmt: skip
def test_conv_errors_say_what_was_expected(x, w, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d_forward(x, w, b, **kwargs)


def test_conv_backward_checks_dout():
    _, cache = conv2d_forward(np.zeros((2, 1, 5, 5)), np.zeros((3, 1, 2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"\(N, F, OH, OW\) = \(2, 3, 4, 4\)"):
        conv2d_backward(np.zeros((2, 3, 5, 5)), cache)


# ------------------------------------------------------------------------------ max pooling
POOL_CASES = [
    (1, 1, 5, 5, 3, 2),
    (2, 3, 7, 9, 3, 2),
    (2, 2, 6, 5, 2, 2),
    (1, 2, 8, 7, 3, 3),
    (3, 1, 4, 6, 2, 1),
]


def _torch_pool(x, size, stride, dout):
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.max_pool2d(xt, size, stride)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_maxpool_against_torch(case, ties):
    N, C, H, W, size, stride = case
    rng = np.random.default_rng(sum(case) + ties)
    x = (
        rng.integers(0, 3, (N, C, H, W)).astype(float)
        if ties
        else rng.standard_normal((N, C, H, W))
    )
    out, cache = maxpool2d_forward(x, size, stride)
    dout = rng.standard_normal(out.shape)
    out_t, dx_t = _torch_pool(x, size, stride, dout)
    np.testing.assert_array_equal(out, out_t)
    np.testing.assert_allclose(maxpool2d_backward(dout, cache), dx_t, rtol=1e-14, atol=1e-15)


def test_maxpool_ties_go_to_the_first_maximum_in_row_major_order():
    # Every entry ties: each 3x3 window sends its gradient to its top-left entry, as torch does.
    x = np.zeros((1, 1, 5, 5))
    out, cache = maxpool2d_forward(x, 3, 2)
    dx = maxpool2d_backward(np.ones(out.shape), cache)
    expected = np.zeros((5, 5))
    expected[::2, ::2][:2, :2] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)
    np.testing.assert_array_equal(dx, _torch_pool(x, 3, 2, np.ones(out.shape))[1])
    # Ties within one window: the first in row-major order wins, (0, 2) before (1, 0).
    x = np.array([[[[1.0, 0.0, 2.0], [2.0, 0.0, 1.0], [2.0, 1.0, 0.0]]]])
    dx = maxpool2d_backward(np.ones((1, 1, 1, 1)), maxpool2d_forward(x, 3, 1)[1])
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 1], [0, 0, 0], [0, 0, 0]])


def test_maxpool_overlapping_windows_add_their_gradients():
    # A 5x5 image whose maximum is in the middle: all four 3x3 windows (stride 2) share it.
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 1.0
    out, cache = maxpool2d_forward(x, 3, 2)
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = maxpool2d_backward(dout, cache)
    assert dx[0, 0, 2, 2] == 10.0 and np.count_nonzero(dx) == 1
    np.testing.assert_array_equal(dx, _torch_pool(x, 3, 2, dout)[1])


def test_maxpool_backward_against_central_differences():
    rng = np.random.default_rng(11)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 10.0  # distinct: no kinks within h
    out, cache = maxpool2d_forward(x, 3, 2)
    dout = rng.standard_normal(out.shape)
    check_gradient(
        lambda x_: float(np.sum(maxpool2d_forward(x_, 3, 2)[0] * dout)),
        [x],
        [maxpool2d_backward(dout, cache)],
        names=["x"],
    )


def test_maxpool_leaves_its_inputs_alone():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 6, 6))
    x_copy = x.copy()
    out, cache = maxpool2d_forward(x, 3, 2)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    maxpool2d_backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


@pytest.mark.parametrize(
    "x, size, stride, error, match",
    [(np.zeros((2, 5, 5)), 2, 2, ValueError, "x must be 4-D"), (np.zeros((1, 1, 2, 5)), 3, 1, ValueError, "must fit"),
     (np.zeros((1, 1, 5, 5)), 0, 1, ValueError, "size must be"), (np.zeros((1, 1, 5, 5)), 2, 0, ValueError, "stride"),
     (np.zeros((1, 1, 5, 5)), 2.0, 1, TypeError, "integer")],
)  # fmt: skip
def test_maxpool_errors(x, size, stride, error, match):
    with pytest.raises(error, match=match):
        maxpool2d_forward(x, size, stride)


def test_maxpool_backward_checks_dout():
    _, cache = maxpool2d_forward(np.zeros((1, 2, 5, 5)), 3, 2)
    with pytest.raises(ValueError, match=r"\(1, 2, 2, 2\)"):
        maxpool2d_backward(np.zeros((1, 2, 3, 3)), cache)


# --------------------------------------------------------------------------------- LeNet
@pytest.mark.parametrize("num_classes", [10, 3])
def test_lenet_shapes_and_parameters(num_classes):
    model = build_lenet(num_classes)
    conv, relu, pool, flatten, linear = model.children()
    assert isinstance(conv, torch.nn.Conv2d) and (conv.in_channels, conv.out_channels) == (1, 16)
    assert conv.kernel_size == (5, 5) and conv.stride == (2, 2) and conv.padding == (0, 0)
    assert isinstance(relu, torch.nn.ReLU)
    assert isinstance(pool, torch.nn.MaxPool2d) and pool.kernel_size == 3 and pool.stride == 2
    assert isinstance(flatten, torch.nn.Flatten)
    assert isinstance(linear, torch.nn.Linear) and (linear.in_features, linear.out_features) == (
        400,
        num_classes,
    )
    for N in (1, 4):
        x = torch.zeros(N, 1, 28, 28)
        assert model(x).shape == (N, num_classes)
        assert model[:4](x).shape == (N, 16 * 5 * 5)  # what the Linear layer receives: 400 features
    assert sum(p.numel() for p in model.parameters()) == (16 * 25 + 16) + (
        400 * num_classes + num_classes
    )


def test_lenet_layers_compute_the_lecture_s_operations():
    torch.manual_seed(0)
    model = build_lenet().double()
    conv, _, _, _, linear = model.children()
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    h = torch.nn.functional.max_pool2d(
        torch.relu(torch.nn.functional.conv2d(x, conv.weight, conv.bias, stride=2)), 3, 2
    )
    expected = h.flatten(1) @ linear.weight.T + linear.bias
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("num_classes, error", [(0, ValueError), (2.5, TypeError)])
def test_lenet_errors(num_classes, error):
    with pytest.raises(error, match="num_classes"):
        build_lenet(num_classes)


def test_docstring_example_runs():
    result = doctest.testmod(nn273.conv, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0
