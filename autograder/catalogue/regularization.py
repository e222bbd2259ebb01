"""Known wrong and alternative right implementations of 08_regularization's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy, `torch` is
torch, and the other graded functions are the solution's: dropout's mask is the factor each unit
was multiplied by (ones in evaluation), and batch normalization's cache is that of
nn273.regularization, (x, gamma, beta, mu, var, eps, train), mu and var the statistics the forward
pass normalized with. The entries of an `answer_<name>` are values assigned to it, the answers to a
question of the notebook.
"""

from . import Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]


def _variant(source, old, new):
    """`source` with one change; the change must apply, or the entry would silently be the right one."""
    if old not in source:
        raise ValueError(f"catalogue variant: {old!r} is not in the source")
    return source.replace(old, new)


_DROPOUT_FORWARD = """\
def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1); got {p}")
    x = np.asarray(x, dtype=float)
    if not train:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask
"""

_DROPOUT_BACKWARD = """\
def dropout_backward(dout, mask):
    return dout * mask
"""

_BN_FORWARD = """\
def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    if train:
        N = x.shape[0]
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running["mean"] = (1 - momentum) * running["mean"] + momentum * mu
        running["var"] = (1 - momentum) * running["var"] + momentum * var * N / (N - 1)
    else:
        mu, var = running["mean"], running["var"]
    out = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return out, (x, gamma, beta, mu, var, eps, train)
"""

_BN_BACKWARD = """\
def batchnorm_backward(dout, cache):
    x, gamma, beta, mu, var, eps, train = cache[:7]
    N = x.shape[0]
    inv = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    if not train:
        return gamma * inv * dout, dgamma, dbeta
    dxhat = dout * gamma
    dx = inv / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta
"""

ENTRIES = [
    # -------------------------------------------------------------------------- dropout_forward
    Wrong("dropout_forward", "p taken as the keep probability", _variant(
        _DROPOUT_FORWARD, "(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) < p) / p"), explain="you take p as the probability to keep a unit; p is the probability to drop it."),
    Wrong("dropout_forward", "no scaling: the kept units are not multiplied by 1/(1 - p)", _variant(
        _DROPOUT_FORWARD, "(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) >= p) * 1.0"), explain="you do not scale the kept units; inverted dropout multiplies them by 1/(1 - p), so the expected activation is unchanged."),
    Wrong("dropout_forward", "the lecture's original dropout: no scaling in training, x * (1 - p) in evaluation",
          _variant(_variant(_DROPOUT_FORWARD, "(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) >= p) * 1.0"),
                   "return x.copy(), np.ones_like(x)", "return x * (1 - p), np.full(x.shape, 1 - p)"), explain="you implement the original dropout (scaling at test time); this exercise is inverted dropout: scale by 1/(1 - p) in training, identity in evaluation."),
    Wrong("dropout_forward", "units dropped in evaluation too", _variant(_DROPOUT_FORWARD, "if not train:", "if False:"), explain="you drop units in evaluation too; in evaluation dropout is the identity."),
    Wrong("dropout_forward", "scaled by 1/p instead of 1/(1 - p)", _variant(
        _DROPOUT_FORWARD, "(rng.random(x.shape) >= p) / (1 - p)", "(rng.random(x.shape) >= p) / max(p, 1e-12)"), explain="you scale by 1/p; the kept units are scaled by 1/(1 - p)."),
    Wrong("dropout_forward", "drawn from np.random's global state, not from rng", _variant(
        _DROPOUT_FORWARD, "rng.random(x.shape)", "np.random.random(x.shape)"), explain="you draw the mask from np.random's global state; draw it from the rng you are given."),
    Wrong("dropout_forward", "p outside [0, 1) not refused", _variant(
        _DROPOUT_FORWARD, '    if not 0 <= p < 1:\n        raise ValueError(f"p must be in [0, 1); got {p}")\n', ""), explain="a p outside [0, 1) must raise a ValueError."),
    Right("dropout_forward", "a binomial draw per unit, torch's way", """\
def dropout_forward(x, p, train, rng):
    if p < 0 or p >= 1:
        raise ValueError("p, the drop probability, must be in [0, 1)")
    x = np.array(x, dtype=float)
    if not train:
        return x, np.ones(x.shape)
    keep = rng.binomial(1, 1.0 - p, size=x.shape)
    mask = keep / (1.0 - p)
    return x * mask, mask
"""),
    Right("dropout_forward", "np.where on a uniform draw", """\
def dropout_forward(x, p, train, rng):
    if not (0.0 <= p < 1.0):
        raise ValueError(f"expected a drop probability p in [0, 1), got {p}")
    x = np.asarray(x, dtype=float)
    if train:
        mask = np.where(rng.uniform(size=x.shape) < 1.0 - p, 1.0 / (1.0 - p), 0.0)
    else:
        mask = None
    return (x * mask if train else x + 0.0), mask
"""),
    # ------------------------------------------------------------------------- dropout_backward
    Wrong("dropout_backward", "no scaling: the gradient passes kept units unscaled", _variant(
        _DROPOUT_BACKWARD, "dout * mask", "dout * (mask != 0)"), explain="your gradient is not scaled: it passes the kept units scaled as in the forward pass (the mask holds 1/(1 - p))."),
    Wrong("dropout_backward", "the mask ignored: dx = dout", _variant(_DROPOUT_BACKWARD, "dout * mask", "dout + 0.0 * mask"), explain="you ignore the mask: dropped units get no gradient."),
    Wrong("dropout_backward", "divided by the mask where kept", _variant(
        _DROPOUT_BACKWARD, "dout * mask", "np.where(mask != 0, dout / np.where(mask != 0, mask, 1.0), 0.0)"), explain="you divide by the mask; the gradient is multiplied by it, as the forward pass was."),
    Right("dropout_backward", "np.where on the kept units", """\
def dropout_backward(dout, mask):
    mask = np.asarray(mask, dtype=float)
    return np.where(mask > 0, np.asarray(dout, dtype=float) * mask, 0.0)
"""),
    Right("dropout_backward", "one unit at a time", """\
def dropout_backward(dout, mask):
    dout = np.asarray(dout, dtype=float)
    dx = np.zeros(dout.shape)
    if mask is None:
        return dout.copy()
    for index in np.ndindex(dout.shape):
        dx[index] = dout[index] * mask[index]
    return dx
"""),
    # ------------------------------------------------------------------------ batchnorm_forward
    Wrong("batchnorm_forward", "a biased running variance", _variant(
        _BN_FORWARD, "momentum * var * N / (N - 1)", "momentum * var"), explain="your running variance uses the biased batch variance; torch keeps the unbiased one (divided by N - 1) in the running statistics."),
    Wrong("batchnorm_forward", "the momentum convention reversed: momentum weighs the old statistic",
          _variant(_variant(_BN_FORWARD, '(1 - momentum) * running["mean"] + momentum * mu',
                            'momentum * running["mean"] + (1 - momentum) * mu'),
                   '(1 - momentum) * running["var"] + momentum * var * N / (N - 1)',
                   'momentum * running["var"] + (1 - momentum) * var * N / (N - 1)'), explain="you weigh the old statistic by momentum; in torch's convention momentum weighs the new batch statistic: (1 - momentum) old + momentum new."),
    Wrong("batchnorm_forward", "evaluation normalizes with the batch's statistics", _variant(
        _BN_FORWARD, 'mu, var = running["mean"], running["var"]', "mu, var = x.mean(axis=0), x.var(axis=0)"), explain="in evaluation you normalize with the batch's statistics; use the running mean and variance."),
    Wrong("batchnorm_forward", "evaluation updates the running statistics too", _variant(
        _BN_FORWARD, "    if train:\n        N", "    if True:\n        N"), explain="you update the running statistics in evaluation too; only training updates them."),
    Wrong("batchnorm_forward", "the running statistics not updated in the caller's dict (a copy updated)",
          _variant(_BN_FORWARD, "    if train:\n        N", "    if train:\n        running = dict(running)\n        N")),
    Wrong("batchnorm_forward", "the unbiased variance used to normalize too", _variant(_variant(
        _BN_FORWARD, "var = x.var(axis=0)", "var = x.var(axis=0, ddof=1)"), "momentum * var * N / (N - 1)", "momentum * var"), explain="you normalize with the unbiased variance; the batch is normalized with the biased one (divided by N), and only the running variance is unbiased."),
    Wrong("batchnorm_forward", "eps outside the square root", _variant(
        _BN_FORWARD, "np.sqrt(var + eps)", "(np.sqrt(var) + eps)"), explain="you add eps outside the square root; it goes inside: sqrt(var + eps)."),
    Right("batchnorm_forward", "the running statistics updated in place on their arrays, as torch's buffers", """\
def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    N = x.shape[0]
    if train:
        mu = np.mean(x, axis=0)
        var = np.mean((x - mu) ** 2, axis=0)
        running["mean"] *= 1 - momentum
        running["mean"] += momentum * mu
        running["var"] *= 1 - momentum
        running["var"] += momentum * np.var(x, axis=0, ddof=1)
    else:
        mu, var = running["mean"].copy(), running["var"].copy()
    xhat = (x - mu) / np.sqrt(var + eps)
    return xhat * gamma + beta, (x, gamma, beta, mu, var, eps, train)
"""),
    Right("batchnorm_forward", "one feature at a time", """\
def batchnorm_forward(x, gamma, beta, running, train, momentum=0.1, eps=1e-5):
    x = np.asarray(x, dtype=float)
    N, D = x.shape
    mu, var, out = np.zeros(D), np.zeros(D), np.zeros((N, D))
    new_mean, new_var = np.array(running["mean"], dtype=float), np.array(running["var"], dtype=float)
    for j in range(D):
        column = x[:, j]
        if train:
            mu[j] = sum(column) / N
            var[j] = sum((column - mu[j]) ** 2) / N
            new_mean[j] = (1 - momentum) * new_mean[j] + momentum * mu[j]
            new_var[j] = (1 - momentum) * new_var[j] + momentum * sum((column - mu[j]) ** 2) / (N - 1)
        else:
            mu[j], var[j] = running["mean"][j], running["var"][j]
        out[:, j] = gamma[j] * (column - mu[j]) / (var[j] + eps) ** 0.5 + beta[j]
    if train:
        running.update(mean=new_mean, var=new_var)
    return out, (x, gamma, beta, mu, var, eps, train)
"""),
    # ----------------------------------------------------------------------- batchnorm_backward
    Wrong("batchnorm_backward", "the mean and variance terms missing: mu and var taken as constants", _variant(
        _BN_BACKWARD, "    if not train:\n", "    if True:\n"), explain="you treat the batch mean and variance as constants; they depend on x, and their gradients must be added."),
    Wrong("batchnorm_backward", "the variance term missing", _variant(
        _BN_BACKWARD, " - xhat * (dxhat * xhat).sum(axis=0))", ")"), explain="your dx lacks the term through the batch variance."),
    Wrong("batchnorm_backward", "the mean term missing", _variant(
        _BN_BACKWARD, "N * dxhat - dxhat.sum(axis=0) - ", "N * dxhat - "), explain="your dx lacks the term through the batch mean."),
    Wrong("batchnorm_backward", "dgamma and dbeta summed over the features (axis 1)", _variant(_variant(
        _BN_BACKWARD, "dgamma = (dout * xhat).sum(axis=0)", "dgamma = (dout * xhat).sum(axis=1)"),
        "dbeta = dout.sum(axis=0)", "dbeta = dout.sum(axis=1)"), explain="you sum dgamma and dbeta over the features; each feature's parameter sums over the examples (axis 0)."),
    Wrong("batchnorm_backward", "dgamma from x instead of xhat", _variant(
        _BN_BACKWARD, "dgamma = (dout * xhat).sum(axis=0)", "dgamma = (dout * x).sum(axis=0)"), explain="your dgamma uses x; gamma multiplies the normalized xhat."),
    Wrong("batchnorm_backward", "the training formula in evaluation too", _variant(
        _BN_BACKWARD, "    if not train:\n", "    if False:\n"), explain="in evaluation the statistics are constants, so dx = dout * gamma / sqrt(running_var + eps); you used the training formula."),
    Wrong("batchnorm_backward", "gamma forgotten in dx", _variant(_variant(
        _BN_BACKWARD, "dxhat = dout * gamma", "dxhat = dout"), "return gamma * inv * dout", "return inv * dout"), explain="your dx forgets the factor gamma."),
    Right("batchnorm_backward", "the long way: the computational graph step by step", """\
def batchnorm_backward(dout, cache):
    x, gamma, beta, mu, var, eps, train = cache[:7]
    N = x.shape[0]
    xmu = x - mu
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    if not train:
        return dxhat * ivar, dgamma, dbeta
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / sqrtvar**2 * divar
    dvar = 0.5 * ivar * dsqrtvar
    dsq = np.ones_like(x) / N * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=0)
    dx2 = np.ones_like(x) / N * dmu
    return dx1 + dx2, dgamma, dbeta
"""),
    Right("batchnorm_backward", "one feature at a time, through its Jacobian", """\
def batchnorm_backward(dout, cache):
    x, gamma, beta, mu, var, eps, train = cache[:7]
    N, D = x.shape
    dx, dgamma, dbeta = np.zeros((N, D)), np.zeros(D), np.zeros(D)
    for j in range(D):
        s = 1.0 / np.sqrt(var[j] + eps)
        xhat = (x[:, j] - mu[j]) * s
        J = np.eye(N) - 1.0 / N - np.outer(xhat, xhat) / N if train else np.eye(N)
        dx[:, j] = gamma[j] * s * (J.T @ dout[:, j])
        dgamma[j] = dout[:, j] @ xhat
        dbeta[j] = dout[:, j].sum()
    return dx, dgamma, dbeta
"""),
    # ------------------------------------------------------------------------------- questions
    Wrong("answer_test_time_factor", "1.25: inverted dropout's factor in training, 1/(1 - p)", "answer_test_time_factor = 1.25\n"),
    Wrong("answer_test_time_factor", "0.2: p itself", "answer_test_time_factor = 0.2\n"),
    Wrong("answer_test_time_factor", "1: no change at test time (that is inverted dropout)", "answer_test_time_factor = 1\n"),
    Wrong("answer_test_time_factor", "the number as a string", 'answer_test_time_factor = "0.8"\n'),
    Right("answer_test_time_factor", "as an expression", "answer_test_time_factor = 1 - 0.2\n"),
    Right("answer_test_time_factor", "as a fraction", "answer_test_time_factor = 4 / 5\n"),
    Wrong("answer_batchnorm_parameters", "the running statistics counted too", "answer_batchnorm_parameters = 1024\n"),
    Wrong("answer_batchnorm_parameters", "gamma only", "answer_batchnorm_parameters = 256\n"),
    Wrong("answer_batchnorm_parameters", "a 256 x 256 matrix", "answer_batchnorm_parameters = 256 * 256\n"),
    Right("answer_batchnorm_parameters", "gamma and beta, as an expression", "answer_batchnorm_parameters = 2 * 256\n"),
    Right("answer_batchnorm_parameters", "as a float", "answer_batchnorm_parameters = 512.0\n"),
    Wrong("answer_eval_dependence", "b: the other examples of its batch", 'answer_eval_dependence = "b"\n'),
    Wrong("answer_eval_dependence", "c: the batch size", 'answer_eval_dependence = "c"\n'),
    Wrong("answer_eval_dependence", "d: the last training batch only", 'answer_eval_dependence = "d"\n'),
    Wrong("answer_eval_dependence", "the letter's place in the list", "answer_eval_dependence = 0\n"),
    Right("answer_eval_dependence", "the letter in capitals, with spaces", 'answer_eval_dependence = " A "\n'),
]  # fmt: skip
# The six attacks on the grading, on one function as in every assignment (each costs a kernel of its
# own in `check`).
ENTRIES += cheats(
    "dropout_forward", "x, p, train, rng", "    return np.zeros(1), None\n", "regularization"
)
