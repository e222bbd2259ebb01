"""nn273's NumPy self-attention against torch's autograd, forward + backward, float64.

    python benchmarks/attention.py [--threads 1] [--repeats 15]

On the issue's shape, a batch of 32 sequences of 64 positions of 64 features (X of (32, 64, 64), and
Wq, Wk, Wv of (64, 64)), once causal and once not, it times nn273.attention's forward and backward pass
and torch's, two ways (its scaled_dot_product_attention, and the same products and softmax as
nn273 written out in torch; each then `autograd.grad` of the output against the same random dout), in
one process, NumPy and torch in alternation, and prints the median of `--repeats` runs after a
warm-up, and the ratio NumPy / torch. Both libraries run with the same number of threads: torch through `torch.set_num_threads`, NumPy's BLAS through
threadpoolctl's `threadpool_limits`. The issue's target: at most 1.3x torch.
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from nn273.attention import self_attention_backward, self_attention_forward

SHAPE, D_K, D_V = (32, 64, 64), 64, 64
TARGET = 1.3


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


def attention_pair(causal, rng):
    X = rng.standard_normal(SHAPE)
    D = SHAPE[-1]
    Wq, Wk, Wv = (rng.standard_normal((D, d)) / np.sqrt(D) for d in (D_K, D_K, D_V))
    out, _ = self_attention_forward(X, Wq, Wk, Wv, causal=causal)
    dout = rng.standard_normal(out.shape)

    def numpy_pass():
        _, cache = self_attention_forward(X, Wq, Wk, Wv, causal=causal)
        self_attention_backward(dout, cache)

    leaves = [torch.tensor(v, requires_grad=True) for v in (X, Wq, Wk, Wv)]
    dt = torch.tensor(dout)
    mask = torch.ones(SHAPE[1], SHAPE[1], dtype=torch.bool).tril()

    def torch_sdpa():
        Xt, Wqt, Wkt, Wvt = leaves
        out = torch.nn.functional.scaled_dot_product_attention(Xt @ Wqt, Xt @ Wkt, Xt @ Wvt, is_causal=causal)
        torch.autograd.grad(out, leaves, dt)

    def torch_products():  # the same products and softmax as nn273, written out in torch
        Xt, Wqt, Wkt, Wvt = leaves
        Q, K, V = Xt @ Wqt, Xt @ Wkt, Xt @ Wvt
        S = Q @ K.transpose(-1, -2) / D_K**0.5
        if causal:
            S = S.masked_fill(~mask, float("-inf"))
        out = torch.softmax(S, dim=-1) @ V
        torch.autograd.grad(out, leaves, dt)

    return numpy_pass, {"scaled_dot_product_attention": torch_sdpa, "products and softmax": torch_products}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for torch and NumPy's BLAS (default 1)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per measurement (default 15)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(273)
    worst = 0.0
    with threadpool_limits(limits=args.threads):
        blas = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()) or "none found"
        print(
            f"float64, forward + backward, median of {args.repeats} after a warm-up; threads: torch "
            f"{torch.get_num_threads()}, NumPy's BLAS ({blas}); torch {torch.__version__}, numpy {np.__version__}"
        )
        for causal in (False, True):
            numpy_pass, torch_passes = attention_pair(causal, rng)
            for how, torch_pass in torch_passes.items():
                t_np, t_torch = median_seconds(numpy_pass, torch_pass, args.repeats)
                ratio = t_np / t_torch
                worst = max(worst, ratio)
                what = f"X {SHAPE}, causal={causal}, torch by {how}"
                flag = "ok" if ratio <= TARGET else "ABOVE TARGET"
                print(
                    f"  {what:70} numpy {1e3 * t_np:7.2f} ms  torch {1e3 * t_torch:7.2f} ms  "
                    f"ratio {ratio:4.2f} (target <= {TARGET}) {flag}"
                )
    print(f"worst ratio: {worst:.2f} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
