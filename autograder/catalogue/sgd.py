"""Known wrong and alternative right implementations of 07_sgd's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy and `torch`
is torch. The entries of an `answer_<name>` are values assigned to it, the answers to a question of
the notebook.
"""

from . import Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]


def _variant(source, old, new):
    """`source` with one change; the change must apply, or the entry would silently be the right one."""
    if old not in source:
        raise ValueError(f"catalogue variant: {old!r} is not in the source")
    return source.replace(old, new)


_COUNT = """\
def count_deep_parameters(n, H, L, K):
    return n * H + (L - 1) * H**2 + H * K
"""

_BATCHES = """\
def iterate_minibatches(X, y, batch_size, rng=None):
    X, y = np.asarray(X), np.asarray(y)
    N = len(X)
    order = np.arange(N) if rng is None else rng.permutation(N)
    for start in range(0, N, batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
"""

_SGD = """\
def sgd_step(w, dw, lr):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    return w - lr * dw
"""

_MOMENTUM = """\
def momentum_step(w, dw, velocity, lr, momentum):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    velocity = momentum * np.asarray(velocity, dtype=float) + dw
    w = w - lr * velocity
    return w, velocity
"""

_ADAM = """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    m = state.get("m", np.zeros_like(w))
    v = state.get("v", np.zeros_like(w))
    t = state.get("t", 0) + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, {"m": m, "v": v, "t": t}
"""

ENTRIES = [
    # ------------------------------------------------------------------- count_deep_parameters
    Wrong("count_deep_parameters", "biases counted too", _variant(_COUNT, "H * K", "H * K + L * H + K"), explain="you count the biases too; this question counts the weights only."),
    Wrong("count_deep_parameters", "L hidden-to-hidden layers: L * H**2", _variant(_COUNT, "(L - 1) * H**2", "L * H**2"), explain="you count L hidden-to-hidden layers; L hidden layers are joined by L - 1 of them."),
    Wrong("count_deep_parameters", "the output layer forgotten", _variant(_COUNT, " + H * K", ""), explain="you forgot the output layer's weights."),
    Wrong("count_deep_parameters", "H**L for the hidden layers", _variant(_COUNT, "(L - 1) * H**2", "H**L"), explain="you count H^L for the hidden layers; each hidden-to-hidden layer has H * H weights, and they add up."),
    Wrong("count_deep_parameters", "the count as a float (a count is an int)",
          _variant(_COUNT, "return n * H", "return 1.0 * n * H"), explain="your count is a float; a count is an int."),
    Right("count_deep_parameters", "the lecture's formula", _COUNT),
    Right("count_deep_parameters", "layer by layer, a loop over the layer sizes", """\
def count_deep_parameters(n, H, L, K):
    sizes = [n] + [H] * L + [K]
    total = 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        total += fan_in * fan_out
    return total
"""),
    Right("count_deep_parameters", "numpy integers", """\
def count_deep_parameters(n, H, L, K):
    sizes = np.array([n] + [H] * L + [K], dtype=np.int64)
    return np.int64(np.sum(sizes[:-1] * sizes[1:]))
"""),
    # --------------------------------------------------------------------- iterate_minibatches
    Wrong("iterate_minibatches", "the last, smaller batch dropped",
          _variant(_BATCHES, "range(0, N, batch_size)", "range(0, N - batch_size + 1, batch_size)")),
    Wrong("iterate_minibatches", "X shuffled but not y", _variant(_BATCHES, "yield X[rows], y[rows]", "yield X[rows], y[start:start + batch_size]")),
    Wrong("iterate_minibatches", "X and y shuffled with two different permutations", _variant(
        _BATCHES, "yield X[rows], y[rows]", "yield X[rows], y[order[::-1][start:start + batch_size]]")),
    Wrong("iterate_minibatches", "shuffled even without an rng (np.random)",
          _variant(_BATCHES, "np.arange(N) if rng is None else", "np.random.permutation(N) if rng is None else")),
    Wrong("iterate_minibatches", "the rng ignored: never shuffled", _variant(_BATCHES, "np.arange(N) if rng is None else rng.permutation(N)", "np.arange(N)")),
    Wrong("iterate_minibatches", "a generator of its own, not the rng given",
          _variant(_BATCHES, "rng.permutation(N)", "np.random.default_rng(0).permutation(N)")),
    Wrong("iterate_minibatches", "the batches' order shuffled, not the examples", """\
def iterate_minibatches(X, y, batch_size, rng=None):
    X, y = np.asarray(X), np.asarray(y)
    starts = np.arange(0, len(X), batch_size)
    if rng is not None:
        starts = rng.permutation(starts)
    return [(X[s:s + batch_size], y[s:s + batch_size]) for s in starts]
"""),
    Wrong("iterate_minibatches", "examples drawn with replacement (rng.integers)",
          _variant(_BATCHES, "rng.permutation(N)", "rng.integers(0, N, N)")),
    Wrong("iterate_minibatches", "overlapping batches: a step of batch_size - 1",
          _variant(_BATCHES, "range(0, N, batch_size)", "range(0, N, max(1, batch_size - 1))")),
    Right("iterate_minibatches", "a generator with rng.permutation", _BATCHES),
    Right("iterate_minibatches", "a list, the indices shuffled in place with rng.shuffle", """\
def iterate_minibatches(X, y, batch_size, rng=None):
    index = list(range(len(X)))
    if rng is not None:
        rng.shuffle(index)
    batches = []
    for start in range(0, len(index), batch_size):
        rows = index[start:start + batch_size]
        batches.append((np.asarray(X)[rows], np.asarray(y)[rows]))
    return batches
"""),
    Right("iterate_minibatches", "X and y shuffled into copies, then sliced; np.array_split", """\
def iterate_minibatches(X, y, batch_size, rng=None):
    X, y = np.asarray(X), np.asarray(y)
    if rng is not None:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    n_batches = -(-len(X) // batch_size)
    cuts = [batch_size * k for k in range(1, n_batches)]
    for Xb, yb in zip(np.split(X, cuts), np.split(y, cuts)):
        yield Xb, yb
"""),
    # ------------------------------------------------------------------------------- sgd_step
    Wrong("sgd_step", "ascent: w + lr * dw", _variant(_SGD, "w - lr * dw", "w + lr * dw"), explain="you step along the gradient (ascent); a descent step subtracts lr * dw."),
    Wrong("sgd_step", "lr ignored: w - dw", _variant(_SGD, "w - lr * dw", "w - dw"), explain="you ignore the learning rate: the step is lr * dw."),
    Wrong("sgd_step", "w modified in place (w -= lr * dw)", """\
def sgd_step(w, dw, lr):
    w -= lr * np.asarray(dw, dtype=float)
    return w
"""),
    Wrong("sgd_step", "lr * dw**2: the gradient squared", _variant(_SGD, "w - lr * dw", "w - lr * dw * np.abs(dw)"), explain="you square the gradient; the step is lr * dw."),
    Right("sgd_step", "the update as the lecture writes it", _SGD),
    Right("sgd_step", "a copy updated in place, element by element", """\
def sgd_step(w, dw, lr):
    new = np.array(w, dtype=float, copy=True)
    dw = np.asarray(dw, dtype=float)
    for index in np.ndindex(new.shape):
        new[index] = new[index] - lr * dw[index]
    return new
"""),
    # -------------------------------------------------------------------------- momentum_step
    Wrong("momentum_step", "dampening: velocity = momentum * velocity + (1 - momentum) * dw",
          _variant(_MOMENTUM, "+ dw", "+ (1 - momentum) * dw"), explain="you damp the gradient by (1 - momentum); torch's velocity is momentum * velocity + dw."),
    Wrong("momentum_step", "lr inside the velocity: velocity = momentum * velocity + lr * dw; w - velocity",
          _variant(_variant(_MOMENTUM, "+ dw", "+ lr * dw"), "w - lr * velocity", "w - velocity"), explain="you put the learning rate inside the velocity; with torch's convention the velocity is momentum * velocity + dw, and w moves by lr * velocity (it differs once lr changes)."),
    Wrong("momentum_step", "CS231n's convention: velocity = momentum * velocity - lr * dw; w + velocity",
          _variant(_variant(_MOMENTUM, "+ dw", "- lr * dw"), "w - lr * velocity", "w + velocity"), explain="you use CS231n's convention (velocity = momentum * velocity - lr * dw); this exercise follows torch's: velocity = momentum * velocity + dw, w - lr * velocity."),
    Wrong("momentum_step", "w moved with the old velocity", """\
def momentum_step(w, dw, velocity, lr, momentum):
    w, dw, velocity = (np.asarray(a, dtype=float) for a in (w, dw, velocity))
    return w - lr * velocity, momentum * velocity + dw
""", explain="you move w with the old velocity; update the velocity first, then step with the new one."),
    Wrong("momentum_step", "Nesterov's step instead: w - lr * (dw + momentum * velocity)",
          _variant(_MOMENTUM, "w = w - lr * velocity", "w = w - lr * (dw + momentum * velocity)"), explain="you take Nesterov's step; this exercise is plain momentum: w - lr * velocity with the new velocity."),
    Wrong("momentum_step", "the velocity updated in place", """\
def momentum_step(w, dw, velocity, lr, momentum):
    velocity *= momentum
    velocity += dw
    return np.asarray(w, dtype=float) - lr * velocity, velocity
"""),
    Wrong("momentum_step", "momentum ignored: plain gradient descent", _variant(_MOMENTUM, "momentum * np.asarray", "0 * np.asarray"), explain="you ignore the momentum: this is plain gradient descent."),
    Right("momentum_step", "torch's convention written out", _MOMENTUM),
    Right("momentum_step", "the velocity copied and updated in place with NumPy's out=", """\
def momentum_step(w, dw, velocity, lr, momentum):
    v = np.array(velocity, dtype=float, copy=True)
    np.multiply(v, momentum, out=v)
    np.add(v, dw, out=v)
    new = np.array(w, dtype=float, copy=True)
    new -= lr * v
    return new, v
"""),
    # ------------------------------------------------------------------------------ adam_step
    Wrong("adam_step", "no bias correction", _variant(_variant(_ADAM, "m / (1 - beta1**t)", "m"), "v / (1 - beta2**t)", "v"), explain="you forgot the bias correction: divide m by 1 - beta1^t and v by 1 - beta2^t."),
    Wrong("adam_step", "t counted after the correction (1 - beta**0 on the first step)", _variant(_variant(
        _ADAM, 't = state.get("t", 0) + 1', 't = state.get("t", 0)'), '"t": t}', '"t": t + 1}'), explain="you count the step t after the bias correction; increase t first, so the first step corrects with t = 1."),
    Wrong("adam_step", "t counted after the correction, starting at 1", _variant(_variant(
        _ADAM, 't = state.get("t", 0) + 1', 't = state.get("t", 1)'), '"t": t}', '"t": t + 1}'), explain="you count the step t after the bias correction; increase t first, then correct with the new t."),
    Wrong("adam_step", "eps inside the square root", _variant(_ADAM, "(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)"), explain="you put eps inside the square root; it is added after: sqrt(v_hat) + eps."),
    Wrong("adam_step", "beta1 and beta2 swapped", _variant(
        _ADAM, "def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n",
        "def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n    beta1, beta2 = beta2, beta1\n"), explain="you swapped beta1 and beta2: beta1 averages the gradients (m), beta2 their squares (v)."),
    Wrong("adam_step", "v from dw, not dw**2", _variant(_ADAM, "(1 - beta2) * dw**2", "(1 - beta2) * np.abs(dw)"), explain="your v averages dw; it averages the squared gradients dw^2."),
    Wrong("adam_step", "m and v updated in place in the state", """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    if not state:
        state = {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}
    m, v, t = state["m"], state["v"], state["t"] + 1
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * dw**2
    w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, {"m": m, "v": v, "t": t}
"""),
    Wrong("adam_step", "the state dict itself changed and returned", """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    state.setdefault("m", np.zeros_like(w))
    state.setdefault("v", np.zeros_like(w))
    state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state["m"] + (1 - beta1) * dw
    state["v"] = beta2 * state["v"] + (1 - beta2) * dw**2
    m_hat = state["m"] / (1 - beta1 ** state["t"])
    v_hat = state["v"] / (1 - beta2 ** state["t"])
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), state
"""),
    Wrong("adam_step", "t counted in the caller's dict (state['t'] += 1) from the second step on", """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    if not state:
        state = {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}
    state["t"] += 1
    t = state["t"]
    m = beta1 * state["m"] + (1 - beta1) * dw
    v = beta2 * state["v"] + (1 - beta2) * dw**2
    w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, {"m": m, "v": v, "t": t}
"""),
    Wrong("adam_step", "m scaled in place on the caller's array (state['m'] *= beta1)", """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    if not state:
        state = {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}
    t = state["t"] + 1
    m = state["m"]
    m *= beta1
    m += (1 - beta1) * dw
    v = beta2 * state["v"] + (1 - beta2) * dw**2
    w = w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w, {"m": m, "v": v, "t": t}
"""),
    Wrong("adam_step", "the bias-corrected averages kept as the state", _variant(
        _ADAM, 'return w, {"m": m, "v": v, "t": t}', 'return w, {"m": m_hat, "v": v_hat, "t": t}'), explain="you keep the bias-corrected averages as the state; keep the raw m and v, and correct them for the step only."),
    Right("adam_step", "the lecture's formula", _ADAM),
    Right("adam_step", "torch's arrangement: lr / (1 - beta1**t) and sqrt(v) / sqrt(1 - beta2**t) + eps", """\
def adam_step(w, dw, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    w, dw = np.asarray(w, dtype=float), np.asarray(dw, dtype=float)
    if state:
        m, v, t = state["m"], state["v"], state["t"]
    else:
        m, v, t = 0.0 * w, 0.0 * w, 0
    t = t + 1
    m = m + (1 - beta1) * (dw - m)
    v = beta2 * v + (1 - beta2) * dw * dw
    step_size = lr / (1 - beta1**t)
    denom = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
    return w - step_size * m / denom, dict(m=m, v=v, t=t)
"""),
    # ------------------------------------------------------------------------------- questions
    Wrong("answer_epoch_steps", "the last, smaller batch dropped: 62", "answer_epoch_steps = 62\n"),
    Wrong("answer_epoch_steps", "4000 / 64 as a fraction: 62.5", "answer_epoch_steps = 4000 / 64\n"),
    Wrong("answer_epoch_steps", "one step per example", "answer_epoch_steps = 4000\n"),
    Wrong("answer_epoch_steps", "the count as a string", 'answer_epoch_steps = "63"\n'),
    Right("answer_epoch_steps", "the ceiling as an expression", "answer_epoch_steps = -(-4000 // 64)\n"),
    Right("answer_epoch_steps", "the count as a float", "answer_epoch_steps = 63.0\n"),
    Wrong("answer_adam_first_step", "a: lr times the gradient, as SGD", 'answer_adam_first_step = "a"\n'),
    Wrong("answer_adam_first_step", "c: almost nothing, m and v start at zero", 'answer_adam_first_step = "c"\n'),
    Wrong("answer_adam_first_step", "d: lr (1 - beta1) / sqrt(1 - beta2), the step without the bias correction", 'answer_adam_first_step = "d"\n'),
    Wrong("answer_adam_first_step", "the letter's place in the list", "answer_adam_first_step = 2\n"),
    Right("answer_adam_first_step", "the letter in capitals, with spaces", 'answer_adam_first_step = " B "\n'),
]  # fmt: skip
# The six attacks on the grading, on one function as in every assignment (each costs a kernel of its
# own in `check`).
ENTRIES += cheats("sgd_step", "w, dw, lr", "    return np.zeros(1)\n", "sgd")
