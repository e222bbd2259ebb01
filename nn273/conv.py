"""04_conv: convolution and max pooling by hand in NumPy, as fast as torch, and the lecture's LeNet.

The reference implementation of every graded function of 04_conv (contract in CURRICULUM.md). Images
are (N, C, H, W), filters (F, C, KH, KW). A convolution layer slides each filter over the zero-padded
image with a stride and takes dot products: cross-correlation, as `torch.nn.functional.conv2d`

    out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * xpad[n, c, stride*i + p, stride*j + q]

and along each axis the output has `conv_output_size(n, k, stride, pad) = (n + 2 pad - k) // stride + 1`
entries (a last window that does not fit is dropped). Max pooling keeps the largest value of each
size x size window; its backward pass sends each output's gradient to the position that won (the first
largest in row-major order, as torch does) and adds where overlapping windows share a winner.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4); w = np.ones((2, 1, 3, 3)); b = np.zeros(2)
    >>> out, cache = conv2d_forward(x, w, b, stride=1, pad=1)
    >>> out.shape
    (1, 2, 4, 4)
    >>> dx, dw, db = conv2d_backward(np.ones(out.shape), cache)
    >>> dx.shape, dw.shape, db.shape
    ((1, 1, 4, 4), (2, 1, 3, 3), (2,))

Both layers are vectorized: the convolution gathers the windows (im2col, through a strided view) and
takes one matrix product per image; its backward pass gathers them again, takes two more products and
scatters the window gradients back with one strided addition per kernel offset (col2im). `benchmarks/conv.py` compares them with torch.

Caches: `conv2d_forward` keeps its arguments (x, w, b, stride, pad), as a loop-based solution would;
`maxpool2d_forward` keeps (x, size, stride, argmax), argmax the flat index into x of each window's
winner. Both passes of the convolution work through the batch a few images at a time, so that the
windows of one batch stay in the CPU's cache.
"""

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from .validation import as_array, check_int

__all__ = [
    "build_lenet",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_size",
    "maxpool2d_backward",
    "maxpool2d_forward",
]


# ------------------------------------------------------------------------------- output size
def conv_output_size(n, k, stride=1, pad=0):
    """Output entries along one axis of length n, for a window k, a stride and zero padding pad on
    each side: (n + 2 pad - k) // stride + 1. A last window that does not fit is dropped (floor)."""
    n = check_int(n, "n", 1, fix="n is the input's length along the axis.")
    k = check_int(k, "k", 1, fix="k is the window's (kernel's) length along the axis.")
    stride = check_int(stride, "stride", 1)
    pad = check_int(pad, "pad", 0)
    if k > n + 2 * pad:
        raise ValueError(
            f"the window (k = {k}) must fit in the padded input (n + 2 pad = {n} + 2*{pad} = {n + 2 * pad}); "
            f"use a smaller window or more padding"
        )
    return (n + 2 * pad - k) // stride + 1


# ---------------------------------------------------------------------------- convolution
def conv2d_forward(x, w, b, stride=1, pad=0):
    """A convolution layer (cross-correlation with zero padding, as torch.nn.functional.conv2d).

    x: (N, C, H, W); w: (F, C, KH, KW); b: (F,); stride, pad: ints, the same along both axes.
    Returns out: (N, F, OH, OW) with OH = conv_output_size(H, KH, stride, pad) (OW likewise), and
    cache = (x, w, b, stride, pad) for conv2d_backward.
    """
    x, w, b, stride, pad = _conv_args(x, w, b, stride, pad)
    N, F = x.shape[0], w.shape[0]
    OH, OW = _output_shape(x, w, stride, pad)
    w_rows = w.reshape(F, -1)
    out = np.empty((N, F, OH * OW))
    for batch in _batches(x, w, OH * OW):
        cols = _im2col(x[batch], w.shape[2:], stride, pad, OH, OW)  # (C*KH*KW, n, OH*OW)
        # one (F, C*KH*KW) @ (C*KH*KW, OH*OW) product per image, straight into out's layout
        np.matmul(w_rows, cols.transpose(1, 0, 2), out=out[batch])
    out += b[:, None]
    return out.reshape(N, F, OH, OW), (x, w, b, stride, pad)


def conv2d_backward(dout, cache):
    """Backward pass of conv2d_forward.

    dout: (N, F, OH, OW), dJ/dout; cache from conv2d_forward.
    Returns dx: (N, C, H, W), dw: (F, C, KH, KW) and db: (F,), dout summed over N, OH and OW.
    """
    x, w, _, stride, pad = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH, OW = _output_shape(x, w, stride, pad)
    dout = as_array(dout, "dout", ndim=4)
    if dout.shape != (N, F, OH, OW):
        raise ValueError(
            f"dout must have the shape of the layer's output (N, F, OH, OW) = {(N, F, OH, OW)}; got {dout.shape}"
        )
    w_rows = w.reshape(F, -1)
    dw = np.zeros((F, C * KH * KW))
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for batch in _batches(x, w, OH * OW):
        cols = _im2col(x[batch], (KH, KW), stride, pad, OH, OW)  # recomputed: cheaper than kept
        n = cols.shape[1]
        d = dout[batch].transpose(1, 0, 2, 3).reshape(F, n * OH * OW)
        dw += d @ cols.reshape(-1, n * OH * OW).T
        dcols = (w_rows.T @ d).reshape(C, KH, KW, n, OH, OW)
        # col2im: column (c, p, q) was read from xpad[:, c, stride*i + p, stride*j + q]; its gradient
        # goes back there, and adds up where windows overlap.
        target = dxp[batch].transpose(1, 0, 2, 3)  # (C, n, H + 2 pad, W + 2 pad), a view
        for p in range(KH):
            for q in range(KW):
                target[:, :, p : p + stride * OH : stride, q : q + stride * OW : stride] += dcols[
                    :, p, q
                ]
    dx = dxp[:, :, pad : pad + H, pad : pad + W].copy() if pad else dxp
    return dx, dw.reshape(w.shape), dout.sum(axis=(0, 2, 3))


# Images per batch of the two passes: a batch's windows (about 1 MB) stay in the CPU's cache, and
# no temporary is large enough for the allocator to map fresh pages on every call.
_BATCH_VALUES = 2**17


def _batches(x, w, positions):
    """Slices of the batch axis holding about _BATCH_VALUES window values each."""
    N, per_image = x.shape[0], w[0].size * positions
    step = max(1, _BATCH_VALUES // per_image)
    return [slice(start, min(start + step, N)) for start in range(0, N, step)]


def _output_shape(x, w, stride, pad):
    return (
        conv_output_size(x.shape[2], w.shape[2], stride, pad),
        conv_output_size(x.shape[3], w.shape[3], stride, pad),
    )


def _im2col(x, kernel, stride, pad, OH, OW):
    """Every window of the zero-padded x as a column: (C*KH*KW, N, OH*OW).

    Row (c, p, q) holds xpad[n, c, stride*i + p, stride*j + q] for every (n, i, j): so laid out, each
    row is copied from the image in long inner loops.
    """
    N, C = x.shape[:2]
    KH, KW = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    windows = sliding_window_view(xp, (KH, KW), axis=(2, 3))  # (N, C, H', W', KH, KW), a view
    windows = windows[:, :, : stride * (OH - 1) + 1 : stride, : stride * (OW - 1) + 1 : stride]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, N, OH * OW)  # one copy


# ------------------------------------------------------------------------------ max pooling
def maxpool2d_forward(x, size, stride):
    """Max pooling over size x size windows taken every `stride` entries (no padding).

    x: (N, C, H, W). Returns out: (N, C, OH, OW), OH = conv_output_size(H, size, stride), and cache =
    (x, size, stride, argmax) for maxpool2d_backward, argmax (N, C, OH, OW) the flat index into x of
    each window's maximum (its first in row-major order on ties, as torch).
    """
    x = as_array(x, "x", ndim=4)
    size = check_int(size, "size", 1, fix="size is the pooling window's side.")
    stride = check_int(stride, "stride", 1)
    N, C, H, W = x.shape
    if size > min(H, W):
        raise ValueError(
            f"the pooling window (size = {size}) must fit in the image (H, W) = ({H}, {W}); use a smaller size"
        )
    OH, OW = conv_output_size(H, size, stride), conv_output_size(W, size, stride)
    windows = sliding_window_view(x, (size, size), axis=(2, 3))
    windows = windows[:, :, : stride * (OH - 1) + 1 : stride, : stride * (OW - 1) + 1 : stride]
    # (size*size, N, C, OH, OW), a copy: one plane per position in the window, in row-major order,
    # so that the reductions below run over whole planes.
    planes = windows.transpose(4, 5, 0, 1, 2, 3).reshape(size * size, N, C, OH, OW)
    out = planes.max(axis=0)
    # The first position holding the maximum, as torch picks on ties: the largest of the weights
    # K, K-1, ..., 1 among the planes equal to it.
    K = size * size
    weights = np.arange(K, 0, -1, dtype=np.intp if K > 255 else np.uint8)[:, None, None, None, None]
    first = K - np.multiply(planes == out, weights, dtype=weights.dtype).max(axis=0).astype(np.intp)
    offset = (
        np.arange(size)[:, None] * W + np.arange(size)
    ).ravel()  # of each position in x's image
    corner = (
        (np.arange(N)[:, None] * C + np.arange(C))[:, :, None, None] * (H * W)
        + stride * W * np.arange(OH)[:, None]
        + stride * np.arange(OW)
    )  # flat index in x of each window's top-left entry
    return out, (x, size, stride, corner + offset[first])


def maxpool2d_backward(dout, cache):
    """Backward pass of maxpool2d_forward.

    dout: (N, C, OH, OW); cache from maxpool2d_forward. Returns dx: (N, C, H, W): each dout entry added
    at its window's maximum (sums where overlapping windows share it), zero elsewhere.
    """
    x, _, _, argmax = cache
    dout = as_array(dout, "dout", ndim=4)
    if dout.shape != argmax.shape:
        raise ValueError(
            f"dout must have the shape of the layer's output (N, C, OH, OW) = {argmax.shape}; got {dout.shape}"
        )
    dx = np.bincount(argmax.ravel(), weights=dout.ravel(), minlength=x.size)
    return dx.reshape(x.shape)


# -------------------------------------------------------------------------------- the model
def build_lenet(num_classes=10):
    """The lecture's convolutional network for 28x28 grey images, in torch:

    Conv2d(1, 16, (5, 5), stride=2) -> ReLU -> MaxPool2d(3, stride=2) -> Flatten -> Linear(400, num_classes)

    28x28 becomes 16 maps of 12x12 after the convolution and 16 of 5x5 after pooling: 400 features.
    Takes (N, 1, 28, 28) float32 tensors and returns (N, num_classes) logits.
    """
    num_classes = check_int(num_classes, "num_classes", 1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, (5, 5), stride=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(3, stride=2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, num_classes),
    )


# ---------------------------------------------------------------------------- input checking
def _conv_args(x, w, b, stride, pad):
    x = as_array(x, "x", ndim=4)
    w = as_array(w, "w", ndim=4)
    b = as_array(b, "b", ndim=1)
    stride = check_int(stride, "stride", 1)
    pad = check_int(pad, "pad", 0)
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have one channel per channel of x: x is (N, C, H, W) = {x.shape}, so w must be "
            f"(F, C, KH, KW) = (F, {x.shape[1]}, KH, KW); got w {w.shape}"
        )
    if b.shape != (w.shape[0],):
        raise ValueError(
            f"b must have shape (F,) = ({w.shape[0]},), one bias per filter; got {b.shape}"
        )
    H, W = x.shape[2:]
    KH, KW = w.shape[2:]
    if KH > H + 2 * pad or KW > W + 2 * pad:
        raise ValueError(
            f"the filters ({KH}x{KW}) must fit in the padded image ({H + 2 * pad}x{W + 2 * pad}: {H}x{W} "
            f"with pad = {pad}); use smaller filters or more padding"
        )
    if min(x.shape[0], x.shape[1], w.shape[0], KH, KW, H, W) == 0:
        raise ValueError(f"x and w must not be empty; got x {x.shape} and w {w.shape}")
    return x, w, b, stride, pad
