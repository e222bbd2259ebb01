"""Known wrong and alternative right implementations of 04_conv's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy, `torch` is
torch, and the other graded functions (conv_output_size, conv2d_forward, ...) are the solution's,
whose caches are those of nn273.conv: (x, w, b, stride, pad) for the convolution and
(x, size, stride, argmax) for max pooling; the entries read only their first entries, the layer's
arguments. The entries of an `answer_<name>` are values assigned to it, the answers to a question of
the notebook.
"""

from . import Evasion, Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]


def _variant(source, old, new):
    """`source` with one change; the change must apply, or the entry would silently be the right one."""
    if old not in source:
        raise ValueError(f"catalogue variant: {old!r} is not in the source")
    return source.replace(old, new)


# Loop-based layers, as a student might write them; most wrong entries change one line of them.
_CONV_FORWARD = """\
def conv2d_forward(x, w, b, stride=1, pad=0):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    b = np.asarray(b, dtype=float)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * pad - KH) // stride + 1
    OW = (W + 2 * pad - KW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, OH, OW))
    for i in range(OH):
        for j in range(OW):
            window = xp[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, stride, pad)
"""

_CONV_BACKWARD = """\
def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache[:5]
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    _, _, OH, OW = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    for i in range(OH):
        for j in range(OW):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
            dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
    db = dout.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
"""

_POOL_FORWARD = """\
def maxpool2d_forward(x, size, stride):
    x = np.asarray(x, dtype=float)
    N, C, H, W = x.shape
    OH = (H - size) // stride + 1
    OW = (W - size) // stride + 1
    out = np.zeros((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, size, stride)
"""

_POOL_BACKWARD = """\
def maxpool2d_backward(dout, cache):
    x, size, stride = cache[:3]
    dx = np.zeros(x.shape)
    N, C, OH, OW = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = x[n, c, i * stride:i * stride + size, j * stride:j * stride + size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
    return dx
"""

_LENET = """\
def build_lenet(num_classes=10):
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, (5, 5), stride=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(3, stride=2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, num_classes),
    )
"""

ENTRIES = [
    # ---------------------------------------------------------------------- conv_output_size
    Wrong("conv_output_size", "without the + 1: counts the steps between windows, not the windows", """\
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) // stride
""", explain="you count the steps between windows, not the windows: add 1 (the first window)."),
    Wrong("conv_output_size", "rounds up: counts a last window that does not fit", """\
def conv_output_size(n, k, stride=1, pad=0):
    return -(-(n + 2 * pad - k) // stride) + 1
""", explain="you round up, counting a last window that does not fit; round down."),
    Wrong("conv_output_size", "padding on one side only", """\
def conv_output_size(n, k, stride=1, pad=0):
    return (n + pad - k) // stride + 1
""", explain="you pad one side only; pad adds zeros on both sides, 2 pad in all."),
    Wrong("conv_output_size", "divides the whole padded length by the stride: (n + 2 pad - k + 1) / stride", """\
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k + 1) // stride
""", explain="you divide the whole length by the stride; only the room left after the first window, n + 2 pad - k, is divided, then 1 is added."),
    Right("conv_output_size", "counts the window starts that fit", """\
def conv_output_size(n, k, stride=1, pad=0):
    count = 0
    start = 0
    while start + k <= n + 2 * pad:
        count += 1
        start += stride
    return count
"""),
    Wrong("conv_output_size", "true division: a float, and a fraction where the last window does not fit", """\
def conv_output_size(n, k, stride=1, pad=0):
    return (n + 2 * pad - k) / stride + 1
""", explain="you use true division (/): the result is a float, with a fraction where the last window does not fit; use integer division (//)."),
    Wrong("conv_output_size", "the right count as a float", """\
def conv_output_size(n, k, stride=1, pad=0):
    return float((n + 2 * pad - k) // stride + 1)
""", explain="your count is right but a float; return an int."),
    Right("conv_output_size", "np.floor of the true quotient, as a NumPy integer", """\
def conv_output_size(n, k, stride=1, pad=0):
    return np.int64(np.floor((n + 2 * pad - k) / stride)) + 1
"""),
    # ------------------------------------------------------------------------ conv2d_forward
    # torch out of sight of a check made in the student's own kernel (a profile hook sees the calling
    # thread only, and the student can switch it off): graded in a kernel without torch.
    Evasion("conv2d_forward", "torch's conv2d in a thread of its own", """\
def conv2d_forward(x, w, b, stride=1, pad=0):
    import threading
    box = {}
    def work():
        t = [torch.from_numpy(np.asarray(a, dtype=float)) for a in (x, w, b)]
        box["out"] = torch.nn.functional.conv2d(*t, stride=stride, padding=pad).numpy()
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    return box["out"], (np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float), stride, pad)
"""),
    Evasion("conv2d_forward", "torch's conv2d after switching the profile hook off (sys.setprofile(None))", """\
def conv2d_forward(x, w, b, stride=1, pad=0):
    import sys
    sys.setprofile(None)
    t = [torch.from_numpy(np.asarray(a, dtype=float)) for a in (x, w, b)]
    out = torch.nn.functional.conv2d(*t, stride=stride, padding=pad).numpy()
    return out, (np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float), stride, pad)
"""),
    Wrong("conv2d_forward", "the kernel flipped: a true convolution, not torch's cross-correlation",
          _variant(_CONV_FORWARD, "np.tensordot(window, w,", "np.tensordot(window, w[:, :, ::-1, ::-1],"), explain="you flip the kernel (a true convolution); torch's conv2d, like this exercise, is a cross-correlation: no flip."),
    Wrong("conv2d_forward", "all the padding after the image (bottom and right), none before",
          _variant(_CONV_FORWARD, "xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))",
                   "xp = np.pad(x, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))"), explain="you put all the padding after the image (bottom and right); pad adds zeros on every side."),
    Wrong("conv2d_forward", "stride ignored: windows at every position",
          _variant(_variant(_CONV_FORWARD, "OH = (H + 2 * pad - KH) // stride + 1", "OH = H + 2 * pad - KH + 1"),
                   "OW = (W + 2 * pad - KW) // stride + 1", "OW = W + 2 * pad - KW + 1").replace("* stride", ""), explain="you ignore the stride: windows at every position instead of every stride-th."),
    Wrong("conv2d_forward", "the output size rounded up: a last window that does not fit, zero-padded",
          _variant(_variant(_variant(_CONV_FORWARD, "OH = (H + 2 * pad - KH) // stride + 1",
                                     "OH = -(-(H + 2 * pad - KH) // stride) + 1"),
                            "OW = (W + 2 * pad - KW) // stride + 1", "OW = -(-(W + 2 * pad - KW) // stride) + 1"),
                   "(pad, pad), (pad, pad)))", "(pad, pad + stride), (pad, pad + stride)))"), explain="your output has one more window that does not fit in the image; the output size rounds down."),
    Wrong("conv2d_forward", "one bias for all filters: b.sum()",
          _variant(_CONV_FORWARD, "axes=([1, 2, 3], [1, 2, 3])) + b", "axes=([1, 2, 3], [1, 2, 3])) + b.sum()"), explain="you add the sum of all biases to every filter's map; each filter has its own bias b[f]."),
    Wrong("conv2d_forward", "channels not summed: each filter sees only the first channel",
          _variant(_CONV_FORWARD, "np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))",
                   "np.tensordot(window[:, 0], w[:, 0], axes=([1, 2], [1, 2]))"), explain="your filters see only one channel; each sums over all the input channels."),
    Right("conv2d_forward", "loops", _CONV_FORWARD),
    Right("conv2d_forward", "one loop per output entry, padding by hand", """\
def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = np.shape(x)
    F, _, KH, KW = np.shape(w)
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    xp[:, :, pad:pad + H, pad:pad + W] = x
    OH = 1 + (H + 2 * pad - KH) // stride
    OW = 1 + (W + 2 * pad - KW) // stride
    out = np.empty((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    patch = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out, (x, w, b, stride, pad)
"""),
    # ----------------------------------------------------------------------- conv2d_backward
    Wrong("conv2d_backward", "padding forgotten: dx of the padded image returned",
          _variant(_CONV_BACKWARD, "dx = dxp[:, :, pad:pad + H, pad:pad + W]", "dx = dxp"), explain="you return the gradient of the padded image; cut the padding off so dx has x's shape."),
    Wrong("conv2d_backward", "padding forgotten: dw from the unpadded image, shifted by pad", _variant(
        _variant(_CONV_BACKWARD, "dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))",
                 "dw += np.tensordot(dout[:, :, i, j], xq[:, :, rows, cols], axes=([0], [0]))"),
        "dxp = np.zeros(xp.shape)",
        "dxp = np.zeros(xp.shape)\n    xq = np.pad(x, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))"), explain="your dw correlates dout with the unpadded image; the forward pass saw the padded one."),
    Wrong("conv2d_backward", "stride ignored in dx: window (i, j) sent back to (i, j), not (stride i, stride j)",
          _variant(_CONV_BACKWARD, "dxp[:, :, rows, cols] +=",
                   "dxp[:, :, i:i + KH, j:j + KW] +="), explain="in dx you send window (i, j) back to (i, j); with a stride it came from (stride i, stride j)."),
    Wrong("conv2d_backward", "db summed over the wrong axes: over the filters, not the examples",
          _variant(_CONV_BACKWARD, "db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(1, 2, 3))"), explain="your db sums over the wrong axes; each filter's db sums dout over the examples and positions."),
    Wrong("conv2d_backward", "db the mean over the examples instead of the sum",
          _variant(_CONV_BACKWARD, "db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3)).mean(axis=0)"), explain="your db averages over the examples; the bias is used once per example and position, so its gradient is the sum."),
    Wrong("conv2d_backward", "dx with the kernel flipped (true convolution in the backward pass)",
          _variant(_CONV_BACKWARD, "np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))",
                   "np.tensordot(dout[:, :, i, j], w[:, :, ::-1, ::-1], axes=([1], [0]))"), explain="your dx uses the flipped kernel; send each window's gradient back through w as the forward pass used it."),
    Wrong("conv2d_backward", "overlapping windows written over instead of added in dx",
          _variant(_CONV_BACKWARD, "dxp[:, :, rows, cols] +=", "dxp[:, :, rows, cols] ="), explain="where windows overlap you overwrite dx; the gradients of overlapping windows add up (+=)."),
    Right("conv2d_backward", "loops over windows", _CONV_BACKWARD),
    Right("conv2d_backward", "one loop per kernel offset, strided slices", """\
def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache[:5]
    x = np.asarray(x, dtype=float)
    N, C, H, W = x.shape
    F, _, KH, KW = np.shape(w)
    _, _, OH, OW = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros((F, C, KH, KW))
    for p in range(KH):
        for q in range(KW):
            patch = xp[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride]
            dw[:, :, p, q] = np.einsum("nfij,ncij->fc", dout, patch)
            dxp[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride] += np.einsum(
                "nfij,fc->ncij", dout, w[:, :, p, q])
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, np.einsum("nfij->f", dout)
"""),
    # --------------------------------------------------------------------- maxpool2d_forward
    Wrong("maxpool2d_forward", "stride ignored: windows at every position",
          _variant(_variant(_POOL_FORWARD, "OH = (H - size) // stride + 1", "OH = H - size + 1"),
                   "OW = (W - size) // stride + 1", "OW = W - size + 1").replace("* stride", ""), explain="you ignore the stride: windows at every position instead of every stride-th."),
    Wrong("maxpool2d_forward", "windows apart: stride taken to be size",
          _POOL_FORWARD.replace("stride + 1", "size + 1").replace("* stride", "* size"), explain="you take the stride to be the window size; they are separate arguments."),
    Wrong("maxpool2d_forward", "the average of each window (average pooling)",
          _variant(_POOL_FORWARD, "window.max(axis=(2, 3))", "window.mean(axis=(2, 3))"), explain="you take each window's average; max pooling takes its maximum."),
    Wrong("maxpool2d_forward", "a last window that does not fit kept (ceil mode), cut short",
          _variant(_variant(_POOL_FORWARD, "OH = (H - size) // stride + 1", "OH = -(-(H - size) // stride) + 1"),
                   "OW = (W - size) // stride + 1", "OW = -(-(W - size) // stride) + 1"), explain="you keep a last window that does not fit (cut short); the output size rounds down."),
    Right("maxpool2d_forward", "loops", _POOL_FORWARD),
    Right("maxpool2d_forward", "the running maximum over the window's offsets", """\
def maxpool2d_forward(x, size, stride):
    x = np.asarray(x, dtype=float)
    N, C, H, W = x.shape
    OH = (H - size) // stride + 1
    OW = (W - size) // stride + 1
    out = np.full((N, C, OH, OW), -np.inf)
    for p in range(size):
        for q in range(size):
            out = np.maximum(out, x[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride])
    return out, (x, size, stride)
"""),
    # -------------------------------------------------------------------- maxpool2d_backward
    Wrong("maxpool2d_backward", "overlapping windows' gradients written over instead of added",
          _variant(_POOL_BACKWARD, "] += dout[n, c, i, j]", "] = dout[n, c, i, j]"), explain="where windows overlap you overwrite dx; the gradients of overlapping windows add up (+=)."),
    Wrong("maxpool2d_backward", "on ties, the gradient to the last maximum (torch: the first)",
          _variant(_POOL_BACKWARD, "p, q = np.unravel_index(np.argmax(window), window.shape)",
                   "p, q = np.unravel_index(window.size - 1 - np.argmax(window.ravel()[::-1]), window.shape)"), explain="on a tie you send the gradient to the last maximum of the window; torch sends it to the first (np.argmax's choice)."),
    Wrong("maxpool2d_backward", "on ties, the gradient to every maximum of the window", """\
def maxpool2d_backward(dout, cache):
    x, size, stride = cache[:3]
    dx = np.zeros(x.shape)
    N, C, OH, OW = dout.shape
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
""", explain="on a tie you send the gradient to every maximum of the window; only one (the first) gets it."),
    Wrong("maxpool2d_backward", "stride ignored: window (i, j) sent back from (i, j)",
          _POOL_BACKWARD.replace("i * stride", "i").replace("j * stride", "j"), explain="you send window (i, j)'s gradient back to (i, j); with a stride the window starts at (stride i, stride j)."),
    Right("maxpool2d_backward", "loops with np.argmax", _POOL_BACKWARD),
    Right("maxpool2d_backward", "one mask per window offset, the first maximum claimed in row-major order", """\
def maxpool2d_backward(dout, cache):
    x, size, stride = cache[:3]
    x = np.asarray(x, dtype=float)
    _, _, OH, OW = dout.shape
    out = np.full(dout.shape, -np.inf)
    for p in range(size):
        for q in range(size):
            out = np.maximum(out, x[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride])
    dx = np.zeros(x.shape)
    claimed = np.zeros(dout.shape, dtype=bool)
    for p in range(size):
        for q in range(size):
            view = x[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride]
            wins = (view == out) & ~claimed
            claimed |= wins
            dx[:, :, p:p + stride * (OH - 1) + 1:stride, q:q + stride * (OW - 1) + 1:stride] += np.where(wins, dout, 0.0)
    return dx
"""),
    # --------------------------------------------------------------------------- build_lenet
    Wrong("build_lenet", "the convolution at stride 1 (Linear of 16 * 11 * 11 features to fit)",
          _variant(_variant(_LENET, "(5, 5), stride=2", "(5, 5)"), "Linear(400,", "Linear(16 * 11 * 11,")),
    Wrong("build_lenet", "ReLU left out", _variant(_LENET, "        torch.nn.ReLU(),\n", "")),
    Wrong("build_lenet", "a sigmoid for the ReLU", _variant(_LENET, "torch.nn.ReLU()", "torch.nn.Sigmoid()")),
    Wrong("build_lenet", "average pooling", _variant(_LENET, "torch.nn.MaxPool2d(3, stride=2)", "torch.nn.AvgPool2d(3, stride=2)")),
    Wrong("build_lenet", "MaxPool2d(2): windows of 2 (Linear of 16 * 6 * 6 features to fit)",
          _variant(_variant(_LENET, "torch.nn.MaxPool2d(3, stride=2)", "torch.nn.MaxPool2d(2)"),
                   "Linear(400,", "Linear(16 * 6 * 6,")),
    Wrong("build_lenet", "num_classes ignored: always 10 outputs", _variant(_LENET, "Linear(400, num_classes)", "Linear(400, 10)")),
    Right("build_lenet", "the lecture's Sequential", _LENET),
    Right("build_lenet", "named layers added one by one, sizes as ints and tuples", """\
def build_lenet(num_classes=10):
    model = torch.nn.Sequential()
    model.add_module("conv", torch.nn.Conv2d(in_channels=1, out_channels=16, kernel_size=5, stride=(2, 2)))
    model.add_module("relu", torch.nn.ReLU(inplace=True))
    model.add_module("pool", torch.nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)))
    model.add_module("flatten", torch.nn.Flatten(start_dim=1))
    model.add_module("out", torch.nn.Linear(16 * 5 * 5, num_classes))
    return model
"""),
]
ENTRIES += [
    # ------------------------------------------------------------------------------ questions
    Wrong(
        "answer_lenet_parameters",
        "weights only, no biases: 16 x 25 + 400 x 26",
        "answer_lenet_parameters = 10800\n",
    ),
    Wrong(
        "answer_lenet_parameters",
        "the dense layer alone, 400 x 26 + 26",
        "answer_lenet_parameters = 10426\n",
    ),
    Wrong(
        "answer_lenet_parameters",
        "the convolution layer alone, 16 x 25 + 16",
        "answer_lenet_parameters = 416\n",
    ),
    Wrong(
        "answer_lenet_parameters",
        "the count the notebook prints for build_lenet(10), not 26 classes",
        "answer_lenet_parameters = 4426\n",
    ),
    Wrong(
        "answer_lenet_parameters",
        "filters of its own at each of the 12 x 12 positions, as a dense layer would have",
        "answer_lenet_parameters = 16 * 12 * 12 * (25 + 1) + 10426\n",
    ),
    Wrong(
        "answer_lenet_parameters", "the count as a string", 'answer_lenet_parameters = "10842"\n'
    ),
    Right(
        "answer_lenet_parameters", "the count as a float", "answer_lenet_parameters = 10842.0\n"
    ),
    Right(
        "answer_lenet_parameters",
        "the count as an expression, layer by layer",
        "answer_lenet_parameters = 16 * 5 * 5 + 16 + 400 * 26 + 26\n",
    ),
    Wrong("answer_shifted_map", "a: the maps do not change", 'answer_shifted_map = "a"\n'),
    Wrong(
        "answer_shifted_map",
        "c: the maps change everywhere, as a dense layer's would",
        'answer_shifted_map = "c"\n',
    ),
    Wrong("answer_shifted_map", "d: the maps shift the other way", 'answer_shifted_map = "d"\n'),
    Wrong(
        "answer_shifted_map",
        "the letter's place in the list instead of the letter",
        "answer_shifted_map = 2\n",
    ),
    Right(
        "answer_shifted_map", "the letter in capitals, with spaces", 'answer_shifted_map = " B "\n'
    ),
]
ENTRIES += cheats("conv2d_forward", "x, w, b, stride=1, pad=0", "    return np.zeros(1), None\n", "conv")
