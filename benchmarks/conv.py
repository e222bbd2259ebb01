"""nn273's NumPy convolution and max pooling against torch's CPU kernels, forward + backward, float64.

    python benchmarks/conv.py [--threads 1] [--repeats 15]

For each of the issue's shapes it times nn273.conv's forward and backward pass and torch's
(`conv2d` or `max_pool2d`, then `autograd.grad` of the output against the same random dout), in one
process, the two in alternation, and prints the median of `--repeats` runs after a warm-up, and the ratio
NumPy / torch. Both libraries run with the same number of threads: torch through
`torch.set_num_threads`, NumPy's BLAS through threadpoolctl's `threadpool_limits` (OpenBLAS or MKL,
whichever NumPy loaded). The issue's targets: convolution at most 1.5x torch, max pooling at most 2x.
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from nn273.conv import conv2d_backward, conv2d_forward, maxpool2d_backward, maxpool2d_forward

# (what, x shape, filters F, kernel, stride, pad) and (what, x shape, size, stride)
CONV = [
    ("(64,1,28,28), 16 filters 5x5, stride 2", (64, 1, 28, 28), 16, 5, 2, 0),
    ("(64,1,28,28), 16 filters 5x5, stride 1", (64, 1, 28, 28), 16, 5, 1, 0),
    ("(32,16,12,12), 32 filters 3x3, pad 1", (32, 16, 12, 12), 32, 3, 1, 1),
]
POOL = [
    ("(64,16,12,12), 3x3 windows, stride 2 (LeNet)", (64, 16, 12, 12), 3, 2),
    ("(64,16,24,24), 3x3 windows, stride 2", (64, 16, 24, 24), 3, 2),
    ("(32,32,12,12), 2x2 windows, stride 2", (32, 32, 12, 12), 2, 2),
]
CONV_TARGET, POOL_TARGET = 1.5, 2.0


def median_seconds(numpy_pass, torch_pass, repeats):
    """Median seconds of each, timed in alternation so that both see the same load on the machine."""
    numpy_pass(), torch_pass()  # warm-up: first-call allocations and dispatch
    times = {numpy_pass: [], torch_pass: []}
    for _ in range(repeats):
        for fn in times:
            start = time.perf_counter()
            fn()
            times[fn].append(time.perf_counter() - start)
    return statistics.median(times[numpy_pass]), statistics.median(times[torch_pass])


def conv_pair(shape, F, k, stride, pad, rng):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((F, shape[1], k, k))
    b = rng.standard_normal(F)
    out, _ = conv2d_forward(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)

    def numpy_pass():
        _, cache = conv2d_forward(x, w, b, stride, pad)
        conv2d_backward(dout, cache)

    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    dt = torch.tensor(dout)

    def torch_pass():
        out = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
        torch.autograd.grad(out, (xt, wt, bt), dt)

    return numpy_pass, torch_pass


def pool_pair(shape, size, stride, rng):
    x = rng.standard_normal(shape)
    out, _ = maxpool2d_forward(x, size, stride)
    dout = rng.standard_normal(out.shape)

    def numpy_pass():
        _, cache = maxpool2d_forward(x, size, stride)
        maxpool2d_backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    dt = torch.tensor(dout)

    def torch_pass():
        out = torch.nn.functional.max_pool2d(xt, size, stride)
        torch.autograd.grad(out, (xt,), dt)

    return numpy_pass, torch_pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--threads", type=int, default=1, help="threads for torch and NumPy's BLAS (default 1)"
    )
    parser.add_argument(
        "--repeats", type=int, default=15, help="timed runs per measurement (default 15)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(273)
    rows = []
    with threadpool_limits(limits=args.threads):
        blas = (
            ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
            or "none found"
        )
        print(
            f"float64, forward + backward, median of {args.repeats} after a warm-up; threads: torch "
            f"{torch.get_num_threads()}, NumPy's BLAS ({blas}); torch {torch.__version__}, numpy {np.__version__}"
        )
        for what, *shape in CONV:
            rows.append(("conv2d", what, CONV_TARGET, *conv_pair(*shape, rng)))
        for what, *shape in POOL:
            rows.append(("maxpool2d", what, POOL_TARGET, *pool_pair(*shape, rng)))
        worst = {}
        for layer, what, target, numpy_pass, torch_pass in rows:
            t_np, t_torch = median_seconds(numpy_pass, torch_pass, args.repeats)
            ratio = t_np / t_torch
            worst[layer] = max(worst.get(layer, 0.0), ratio)
            flag = "ok" if ratio <= target else "ABOVE TARGET"
            print(
                f"  {layer:9} {what:46} numpy {1e3 * t_np:7.2f} ms  torch {1e3 * t_torch:7.2f} ms  "
                f"ratio {ratio:4.2f} (target <= {target}) {flag}"
            )
    print(
        f"worst ratio: conv2d {worst['conv2d']:.2f} (target <= {CONV_TARGET}), "
        f"maxpool2d {worst['maxpool2d']:.2f} (target <= {POOL_TARGET})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
