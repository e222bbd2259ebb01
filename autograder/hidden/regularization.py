"""Hidden tests of 08_regularization, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Dropout: masks drawn on large arrays from seeded generators, the keep rate within 8 standard errors
of 1 - p (a correct mask fails that less than once in 10^14 runs) and every kept unit scaled by
exactly 1/(1 - p); the mask drawn from the generator passed (the same seed gives the same mask,
another seed another one); p = 0 and p near 1; evaluation as the identity; p outside [0, 1) a
ValueError; the gradient only through the kept units, scaled as in the forward pass.

Batch normalization: against torch.nn.BatchNorm1d in float64 over 6 training steps of batches of
various sizes (2 among them), with the momentum and eps drawn and with torch's defaults, then in
evaluation on a batch of one and a larger one: outputs and the running statistics, which the
caller's dict must hold after each training call and which evaluation must leave alone; eps on a
constant feature. Every gradient against torch's autograd and central differences of the oracle.
The NumPy exercises must not call torch. The oracles are written here, independently of nn273.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import numpy as np
import torch

import nn273.regularization

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_answer_batchnorm_parameters",
    "test_answer_eval_dependence",
    "test_answer_test_time_factor",
    "test_batchnorm_backward",
    "test_batchnorm_forward",
    "test_dropout_backward",
    "test_dropout_forward",
]

H = Harness(nn273.regularization)

_SIGMAS = 8  # standard errors allowed between a measured keep rate and 1 - p
_DROPOUT = (
    "(inverted dropout: each unit is kept with probability 1 - p and then multiplied by 1/(1 - p), "
    "dropped units are 0; p is the probability to DROP, as torch.nn.Dropout(p))"
)
_MASK = (
    "(the mask is the factor each unit was multiplied by, out = x * mask: 1/(1 - p) where a unit "
    "is kept, 0 where it is dropped)"
)
_BN = (
    "(training: xhat = (x - mu) / sqrt(var + eps) with the batch's mean mu and its biased variance "
    "var, the mean of (x - mu)**2, over axis 0; out = gamma * xhat + beta)"
)
_RUNNING = (
    "(as torch.nn.BatchNorm1d: running = (1 - momentum) * running + momentum * batch statistic, the "
    "batch's variance unbiased in the running estimate, var * N / (N - 1); the dict passed in must "
    'hold the new running["mean"] and running["var"] after the call)'
)
_EVAL = (
    "(evaluation normalizes with the running statistics, running['mean'] and running['var'], not "
    "with the batch's, and changes nothing in running)"
)
_GRADS = {
    "dx": "(in training mu and var depend on x: dx = gamma / sqrt(var + eps) * (dout - mean(dout) "
    "- xhat * mean(dout * xhat)), means over the batch; in evaluation dx = gamma / sqrt(var + eps) "
    "* dout)",
    "dgamma": "(dgamma sums dout * xhat over the examples, axis 0)",
    "dbeta": "(dbeta sums dout over the examples, axis 0)",
}


# ------------------------------------------------------------------------------------ dropout
def test_dropout_forward(dropout_forward):
    rng = H.rng("dropout_forward")
    shape = (int(rng.integers(180, 220)), int(rng.integers(240, 260)))  # about 50,000 units
    x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)  # no unit exactly 0
    for p in [float(rng.uniform(0.15, 0.4)), float(rng.uniform(0.6, 0.8)), 0.95]:
        seed = int(rng.integers(2**31))
        what = f"dropout_forward(x, p={p:.4g}, train=True, rng=np.random.default_rng({seed})) for x of shape {shape}"
        out, mask = _dropout(dropout_forward, x, p, True, seed, what)
        _check_mask(out, mask, x, p, what)
        with H.hint(_DROPOUT):
            _check_keep_rate(mask, p, what)
        again, _ = _dropout(dropout_forward, x, p, True, seed, what)
        if not np.array_equal(again, out):
            raise HiddenTestFailure(
                f"{what} twice gave two different outputs: draw the mask from the generator rng that "
                f"is passed (e.g. rng.random(x.shape)), not from np.random's global state"
            )
    other, _ = _dropout(dropout_forward, x, p, True, seed + 1, what)
    if np.array_equal(other, out):
        raise HiddenTestFailure(
            f"{what} gave the same mask with another generator: the mask must be drawn at random "
            f"from rng"
        )
    small = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(2, 6))))
    what = f"dropout_forward(x, p=0, train=True, rng) for x of shape {small.shape}"
    out, mask = _dropout(dropout_forward, small, 0.0, True, int(rng.integers(2**31)), what)
    H.assert_close(
        out, small, f"out of {what}", rtol=0, atol=0, hint="(p = 0 drops nothing: out = x)"
    )
    p = float(rng.uniform(0.2, 0.9))
    what = f"dropout_forward(x, p={p:.4g}, train=False, rng) for x of shape {small.shape}"
    out, _ = _dropout(dropout_forward, small, p, False, int(rng.integers(2**31)), what)
    H.assert_close(
        out,
        small,
        f"out of {what}",
        rtol=0,
        atol=0,
        hint="(in evaluation dropout is the identity: inverted dropout already scaled in training)",
    )
    for bad in [1.0, -0.1, 1.5]:
        _expect_value_error(
            dropout_forward,
            (small, bad, True, np.random.default_rng(0)),
            f"dropout_forward(x, p={bad}, train=True, rng)",
            "p, the probability to drop a unit, must be in [0, 1)",
        )


def test_dropout_backward(dropout_backward, dropout_forward):
    rng = H.rng("dropout_backward")
    cases = [
        (float(rng.uniform(0.2, 0.8)), True),
        (0.99, True),
        (0.0, True),
        (float(rng.uniform(0.2, 0.8)), False),
    ]
    for p, train in cases:
        shape = (int(rng.integers(1, 8)), int(rng.integers(40, 60)))
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        seed = int(rng.integers(2**31))
        forward = (
            f"dropout_forward(x, p={p:.4g}, train={train}, rng=np.random.default_rng({seed})) "
            f"for x of shape {shape}"
        )
        try:
            out, mask = _dropout(dropout_forward, x, p, train, seed, forward)
            if train:
                _check_mask(out, mask, x, p, forward)
            else:
                H.assert_close(out, x, f"out of {forward}", rtol=0, atol=0)
        except HiddenTestFailure as exc:
            raise HiddenTestFailure(
                f"dropout_backward is tested with the mask of your dropout_forward, which is wrong: {exc}. "
                f"Fix dropout_forward first."
            ) from None
        factor = np.where(out != 0, out / x, 0.0)  # what the forward pass multiplied each unit by
        dout = rng.standard_normal(shape)
        what = f"dropout_backward(dout, mask) for dout of shape {shape}, mask from {forward}"
        dx = H.call(dropout_backward, dout, mask, forbid=[torch], case=what)
        dx = H.as_float(dx, f"dx of {what}", shape, hint="(dx is shaped like x)")
        hint = (
            "(the gradient flows only through the kept units, multiplied by the same 1/(1 - p) as "
            "in the forward pass: dx = dout * mask)"
            if train
            else "(in evaluation dropout is the identity, so dx = dout)"
        )
        H.assert_close(dx, dout * factor, f"dx of {what}", rtol=1e-12, atol=0, hint=hint)
        if shape[0] == 1 or not train:

            def f(value, factor=factor, dout=dout):
                return float(np.sum(value * factor * dout))

            H.assert_gradient(f, x, dx, f"dx of {what}, against central differences,")


# -------------------------------------------------------------------------------- batch norm
def test_batchnorm_forward(batchnorm_forward):
    rng = H.rng("batchnorm_forward")
    for momentum, eps in [
        (None, None),
        (float(rng.uniform(0.2, 0.45)), float(rng.uniform(1e-3, 0.1))),
    ]:
        D = int(rng.integers(2, 6))
        gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
        bn = _torch_bn(gamma, beta, momentum, eps)
        running = {"mean": np.zeros(D), "var": np.ones(D)}
        options = {} if momentum is None else {"momentum": momentum, "eps": eps}
        told = "" if momentum is None else f", momentum={momentum:.4g}, eps={eps:.4g}"
        sizes = [2, *(int(n) for n in rng.integers(3, 9, 4)), 2]
        for step, N in enumerate(sizes, 1):
            x = _batch(rng, N, D)
            what = (
                f"training step {step} of 6: batchnorm_forward(x, gamma, beta, running, True{told}) for "
                f"x of shape {x.shape}"
                + (", torch's defaults momentum=0.1, eps=1e-5" if not told else "")
            )
            out = _bn_call(batchnorm_forward, x, gamma, beta, running, True, options, what)
            expected = _torch_train(bn, x)
            H.assert_close(out, expected, f"out of {what}", rtol=1e-8, atol=1e-9, hint=_BN)
            _check_running(running, bn, D, what)
        bn.eval()
        for M in (1, int(rng.integers(3, 7))):
            x = _batch(rng, M, D) * 2.0 + 1.0
            what = (
                f"evaluation after 6 training steps: batchnorm_forward(x, gamma, beta, running, False{told}) "
                f"for x of shape {x.shape}"
            )
            out = _bn_call(batchnorm_forward, x, gamma, beta, running, False, options, what)
            with torch.no_grad():
                expected = bn(torch.tensor(x)).numpy()
            H.assert_close(out, expected, f"out of {what}", rtol=1e-8, atol=1e-9, hint=_EVAL)
    _check_constant_feature(batchnorm_forward, rng)


def test_batchnorm_backward(batchnorm_backward, batchnorm_forward):
    rng = H.rng("batchnorm_backward")
    D = int(rng.integers(2, 5))
    cases = [
        (2, D, True, "a batch of 2"),
        (int(rng.integers(3, 7)), D + 1, True, "training"),
        (D + 2, D + 2, True, "training, N = D"),
        (1, D, False, "evaluation, a batch of one"),
        (int(rng.integers(3, 6)), D, False, "evaluation"),
    ]
    for N, D_, train, note in cases:
        x = _batch(rng, N, D_)
        gamma, beta = rng.standard_normal(D_), rng.standard_normal(D_)
        running = {"mean": rng.standard_normal(D_), "var": rng.uniform(0.5, 2.0, D_)}
        stats = {k: v.copy() for k, v in running.items()}
        momentum, eps = float(rng.uniform(0.05, 0.3)), float(rng.uniform(1e-3, 0.05))
        forward = (
            f"batchnorm_forward(x, gamma, beta, running, {train}, momentum={momentum:.4g}, eps={eps:.4g}) "
            f"for x of shape {x.shape} ({note})"
        )
        options = {"momentum": momentum, "eps": eps}
        try:
            out = _bn_call(
                batchnorm_forward, x, gamma, beta, running, train, options, forward, keep_cache=True
            )
            out, cache = out
            expected = _oracle(x, gamma, beta, stats, train, eps)
            H.assert_close(out, expected, f"out of {forward}", rtol=1e-8, atol=1e-9)
        except HiddenTestFailure as exc:
            raise HiddenTestFailure(
                f"batchnorm_backward is tested with the cache of your batchnorm_forward, which is wrong: "
                f"{exc}. Fix batchnorm_forward first."
            ) from None
        dout = rng.standard_normal((N, D_))
        what = (
            f"batchnorm_backward(dout, cache) for dout of shape {dout.shape}, cache from {forward}"
        )
        result = H.call(batchnorm_backward, dout, cache, forbid=[torch], case=what)
        try:
            grads = tuple(result)
        except TypeError:
            grads = ()
        if len(grads) != 3:
            raise HiddenTestFailure(
                f"{what} must return three gradients (dx, dgamma, dbeta); received {_kind(result)}"
            )
        names = ("dx", "dgamma", "dbeta")
        args = (x, gamma, beta)
        grads = [
            H.as_float(g, f"{name} of {what}", a.shape, hint=f"({name} is shaped like {name[1:]})")
            for name, g, a in zip(names, grads, args)
        ]
        for name, got, want in zip(
            names, grads, _oracle_gradients(x, gamma, beta, stats, train, eps, dout)
        ):
            H.assert_close(got, want, f"{name} of {what}", rtol=1e-7, atol=1e-9, hint=_GRADS[name])
        for i, (name, got) in enumerate(zip(names, grads)):

            def f(value, i=i):
                values = list(args)
                values[i] = value
                return float(np.sum(_oracle(*values, stats, train, eps) * dout))

            H.assert_gradient(f, args[i], got, f"{name} of {what}, against central differences,")


def test_answer_test_time_factor(answer):
    H.number(
        answer, 0.8, "the factor that scales a unit's output at test time when p = 0.2", rtol=1e-9
    )


def test_answer_batchnorm_parameters(answer):
    H.number(answer, 512, "how many learnable parameters batch normalization of 256 features has")


def test_answer_eval_dependence(answer):
    H.choice(
        answer,
        "a",
        "abcd",
        "what an example's output of batch normalization depends on in evaluation",
    )


# ------------------------------------------------------------------------------- dropout parts
def _dropout(fn, x, p, train, seed, what):
    result = H.call(fn, x, p, train, np.random.default_rng(seed), forbid=[torch], case=what)
    out, mask = _pair(result, what, "(out, mask)")
    out = H.as_float(out, f"out of {what}", x.shape, hint="(out is shaped like x)")
    if (
        train
    ):  # in evaluation the mask is the student's to choose (ones, or None): only backward reads it
        mask = H.as_float(mask, f"mask of {what}", x.shape, hint="(the mask is shaped like x)")
    return out, mask


def _check_mask(out, mask, x, p, what):
    kept = out != 0
    scale = 1.0 / (1.0 - p)
    H.assert_close(
        out[kept] / x[kept],
        np.full(int(kept.sum()), scale),
        f"the factor out / x of the kept units of {what}",
        rtol=1e-12,
        atol=0,
        hint=_DROPOUT,
    )
    H.assert_close(
        mask, np.where(kept, scale, 0.0), f"mask of {what}", rtol=1e-12, atol=0, hint=_MASK
    )


def _check_keep_rate(mask, p, what):
    n = mask.size
    rate = float(np.mean(mask != 0))
    bound = _SIGMAS * np.sqrt(p * (1 - p) / n)
    if abs(rate - (1 - p)) > bound:
        raise HiddenTestFailure(
            f"{what} kept {rate:.4f} of the units; with p = {p:.4g} about {1 - p:.4f} should be kept "
            f"(within {bound:.4f} for {n} units)"
        )


def _expect_value_error(fn, args, what, expected):
    try:
        result = H.call(fn, *args, forbid=[torch], case=what)
    except HiddenTestFailure as exc:
        if isinstance(exc.__cause__, ValueError):
            return
        raise HiddenTestFailure(f"{exc} (expected a ValueError: {expected})") from None
    raise HiddenTestFailure(f"{what} returned {_kind(result)}; expected a ValueError: {expected}")


# ---------------------------------------------------------------------------- batch norm parts
def _batch(rng, N, D):
    """x (N, D) whose features each vary (a standard deviation of 0.3 at least over the batch), so
    that central differences are accurate; a batch of 2 with its rows far apart."""
    x = rng.standard_normal((N, D)) * 2.0 + rng.standard_normal(D)
    if N == 2:
        x[1] = x[0] + rng.uniform(1.0, 3.0, D) * rng.choice([-1.0, 1.0], D)
    elif N > 2:
        while np.min(x.std(axis=0)) < 0.3:
            x = rng.standard_normal((N, D)) * 2.0
    return x


def _bn_call(fn, x, gamma, beta, running, train, options, what, keep_cache=False):
    """The student's batchnorm_forward on a copy of the arguments; running is the caller's dict and
    is updated from the kernel in training. Returns out as floats (and the cache if asked)."""
    with H.hint("" if train else _EVAL):
        result = H.call(
            fn,
            x.copy(),
            gamma.copy(),
            beta.copy(),
            running,
            train,
            forbid=[torch],
            updates=[3] if train else [],
            case=what,
            **options,
        )
    out, cache = _pair(result, what, "(out, cache)")
    out = H.as_float(out, f"out of {what}", x.shape, hint="(out has x's shape (N, D))")
    return (out, cache) if keep_cache else out


def _check_running(running, bn, D, what):
    with H.hint(_RUNNING):
        if not isinstance(running, dict) or not {"mean", "var"} <= set(running):
            raise HiddenTestFailure(f'after {what}, running must still hold "mean" and "var"')
        for key, buffer in [("mean", bn.running_mean), ("var", bn.running_var)]:
            got = H.as_float(running[key], f'running["{key}"] after {what}', (D,))
            H.assert_close(
                got, buffer.numpy(), f'running["{key}"] after {what}', rtol=1e-9, atol=1e-12
            )


def _check_constant_feature(fn, rng):
    """A feature equal in every example has variance 0: eps alone keeps xhat finite (0 there)."""
    N, eps = int(rng.integers(3, 7)), float(rng.uniform(0.2, 0.5))
    x = np.column_stack([rng.standard_normal(N), np.full(N, float(rng.integers(-3, 4)))])
    x[:, 0] *= 0.7 / x[:, 0].std()  # var + eps: eps is a large part of it
    gamma, beta = rng.uniform(0.5, 2.0, 2), rng.standard_normal(2)
    running = {"mean": np.zeros(2), "var": np.ones(2)}
    what = (
        f"batchnorm_forward(x, gamma, beta, running, True, eps={eps:.4g}) for x of shape {x.shape} "
        f"whose second feature is constant ({x[0, 1]:g})"
    )
    out = _bn_call(fn, x, gamma, beta, running, True, {"eps": eps}, what)
    bn = _torch_bn(gamma, beta, None, eps)
    H.assert_close(
        out,
        _torch_train(bn, x),
        f"out of {what}",
        rtol=1e-9,
        atol=1e-12,
        hint="(eps is added to the variance inside the square root, xhat = (x - mu) / sqrt(var + eps): "
        "a constant feature gives xhat = 0, out = beta)",
    )
    _check_running(running, bn, 2, what)


def _torch_bn(gamma, beta, momentum, eps):
    options = {} if momentum is None else {"momentum": momentum}
    if eps is not None:
        options["eps"] = eps
    bn = torch.nn.BatchNorm1d(len(gamma), **options).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    return bn.train()


def _torch_train(bn, x):
    with torch.no_grad():
        return bn(torch.tensor(x)).numpy()


def _torch_oracle(x, gamma, beta, stats, train, eps):
    mean, var = (
        torch.tensor(stats["mean"]),
        torch.tensor(stats["var"]),
    )  # copies: training updates them
    return torch.nn.functional.batch_norm(
        x, mean, var, gamma, beta, training=train, momentum=0.0, eps=eps
    )


def _oracle(x, gamma, beta, stats, train, eps):
    x, gamma, beta = (torch.tensor(np.asarray(v, dtype=np.float64)) for v in (x, gamma, beta))
    with torch.no_grad():
        return _torch_oracle(x, gamma, beta, stats, train, eps).numpy()


def _oracle_gradients(x, gamma, beta, stats, train, eps, dout):
    leaves = [
        torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in (x, gamma, beta)
    ]
    out = _torch_oracle(*leaves, stats, train, eps)
    return [g.numpy() for g in torch.autograd.grad(out, leaves, torch.tensor(dout))]


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
