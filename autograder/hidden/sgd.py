"""Hidden tests of 07_sgd, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

The three steps are run for 55 steps or more on one seeded sequence of gradients, with a learning
rate drawn anew for every step, on weights of several shapes (0-d, 1-d, square and rectangular 2-d,
3-d), feeding each step the student's own previous result, as training does. Every step is compared
with torch.optim (SGD, SGD(momentum=...), Adam) in float64, run here in the grader on the same
gradients and learning rates: the weights, the move they made, the velocity and Adam's m, v and t.
Tiny gradients and a large eps make eps's place in Adam's formula visible. The steps must not call
torch nor modify any input: the arrays are checked by the harness; Adam's state dict is passed with
`updates=[2]`, so that while grading the kernel's dict after the call comes back, and it must equal
a copy taken before the call (its keys, t, and m's and v's values).

The minibatches are checked for every example exactly once per pass (X and y moved together, one
more smaller batch at the end when b does not divide N), for their order without an rng, and with
an rng for an order that is not the examples' own, the same for the same seed and another for
another seed. The rng is `np.random.default_rng(seed)`, a fresh one for every pass; while grading it
crosses to the student's kernel as its bit generator's state, so the kernel's copy draws the same
numbers. Any permutation drawn from it is right.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import math

import numpy as np
import torch

import nn273.sgd

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_adam_step",
    "test_answer_adam_first_step",
    "test_answer_epoch_steps",
    "test_count_deep_parameters",
    "test_iterate_minibatches",
    "test_momentum_step",
    "test_sgd_step",
]

H = Harness(nn273.sgd)

STEPS = 55  # steps per sequence; the hidden tests' promise is 50 or more

_SGD = "(sgd_step returns w - lr * dw, a new array: torch.optim.SGD's step)"
_MOMENTUM = (
    "(torch.optim.SGD(momentum=...) computes velocity = momentum * velocity + dw, then "
    "w - lr * velocity: the velocity holds neither lr nor a factor (1 - momentum), and the weights "
    "move with the new velocity)"
)
_ADAM = (
    "(torch.optim.Adam: t = t + 1 first; m = beta1 m + (1 - beta1) dw; v = beta2 v + (1 - beta2) dw**2; "
    "w - lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t); "
    "eps outside the square root)"
)
_COUNT = (
    "(n*H weights into the first hidden layer, H*H between each of the L-1 pairs of hidden layers, "
    "H*K into the outputs; biases are not counted)"
)


# --------------------------------------------------------------------------------------- count
def test_count_deep_parameters(count_deep_parameters):
    rng = H.rng("count_deep_parameters")
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    cases = [
        ((10_000, 300, 10, 1000), ", the lecture's network"),
        ((784, 256, 1, 10), ", one hidden layer"),
        ((r(2, 50), r(2, 40), 1, r(2, 9)), ", one hidden layer"),
        ((r(2, 50), 1, r(2, 6), r(2, 9)), ", hidden layers of one unit"),
        ((r(2, 30), r(2, 30), r(2, 12), r(2, 20)), ""),
        ((r(2, 30), r(31, 60), r(2, 12), r(2, 20)), ""),
        ((r(10**5, 10**6), r(1000, 5000), r(20, 60), r(10**3, 10**4)), ", a large network"),
    ]
    for (n, H_, L, K), note in cases:
        what = f"count_deep_parameters(n={n}, H={H_}, L={L}, K={K}){note}"
        got = H.call(count_deep_parameters, n, H_, L, K, forbid=[torch], case=what)
        expected = n * H_ + (L - 1) * H_ * H_ + H_ * K
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            value = H.as_float(got, what, shape=(), hint=_COUNT)
            if value != expected:
                raise HiddenTestFailure(f"{what} is wrong: received {value:.10g} {_COUNT}")
            raise HiddenTestFailure(
                f"{what} must return an integer (a count); received {_kind(got)}"
            )
        if int(got) != expected:
            raise HiddenTestFailure(f"{what} is wrong: received {int(got)} {_COUNT}")


# ------------------------------------------------------------------------------------ minibatches
def test_iterate_minibatches(iterate_minibatches):
    rng = H.rng("iterate_minibatches")
    seeds = [int(s) for s in rng.choice(10**6, 3, replace=False)]
    N = int(rng.integers(30, 50))
    b = int(rng.integers(4, 9))
    while N % b == 0:
        N += 1
    X, y = _data(rng, (N, 3))
    order = _pass(iterate_minibatches, X, y, b, None, "no rng")
    if order != list(range(N)):
        raise HiddenTestFailure(
            f"iterate_minibatches(X, y, {b}) with no rng must give the examples in their order, "
            f"0, 1, 2, ...; the batches held the examples in the order {_short(order)}"
        )
    first = _pass(
        iterate_minibatches, X, y, b, seeds[0], f"rng = np.random.default_rng({seeds[0]})"
    )
    if first == list(range(N)):
        raise HiddenTestFailure(
            f"iterate_minibatches(X, y, {b}, rng) with rng = np.random.default_rng({seeds[0]}) gave the "
            f"examples in their own order: with an rng they must be shuffled (e.g. rng.permutation(N))"
        )
    again = _pass(
        iterate_minibatches, X, y, b, seeds[0], f"rng = np.random.default_rng({seeds[0]}), again"
    )
    if again != first:
        raise HiddenTestFailure(
            f"iterate_minibatches(X, y, {b}, rng) gave two orders for two generators of the same seed "
            f"{seeds[0]}: the order must come from the rng given (rng.permutation(N)), not from "
            f"np.random or a generator of your own"
        )
    other = _pass(
        iterate_minibatches, X, y, b, seeds[1], f"rng = np.random.default_rng({seeds[1]})"
    )
    if _partition(other, b) == _partition(first, b):
        raise HiddenTestFailure(
            f"iterate_minibatches(X, y, {b}, rng) gave the same {'order' if other == first else 'batches'} "
            f"for generators of the seeds {seeds[0]} and {seeds[1]}: the examples must be shuffled with the "
            f"rng given (rng.permutation(N)), each batch a new mix of examples"
        )
    # sizes at the edges; images as inputs
    n = int(rng.integers(5, 9))
    for shape, size, note in [
        ((n, 2), 1, "a batch size of 1"),
        ((n, 2), n, "a batch size of N"),
        ((n, 2), n + int(rng.integers(1, 30)), "a batch size larger than N"),
        ((1, 4), int(rng.integers(1, 5)), "a single example"),
        ((n + 5, 2, 3), int(rng.integers(2, 5)), "X of shape (N, 2, 3)"),
    ]:
        X, y = _data(rng, shape)
        _pass(
            iterate_minibatches,
            X,
            y,
            size,
            seeds[2],
            f"{note}, rng = np.random.default_rng({seeds[2]})",
        )
        _pass(iterate_minibatches, X, y, size, None, f"{note}, no rng")


def _data(rng, shape):
    """X with distinct rows and y of distinct integer labels, drawn independently of X's order."""
    N = shape[0]
    X = rng.standard_normal(shape).round(6)
    y = rng.permutation(N) * 7 + 3
    return X, y


def _partition(order, b):
    """The batches as sets of examples, whatever their order."""
    return {frozenset(order[i : i + b]) for i in range(0, len(order), b)}


def _pass(fn, X, y, b, seed, note):
    """One pass of fn(X, y, b, rng): the order of the examples, checked for coverage and sizes."""
    N = len(X)
    what = f"iterate_minibatches(X, y, batch_size={b}, rng) for X of shape {X.shape}, y of shape {y.shape}, {note}"
    rng = None if seed is None else np.random.default_rng(seed)  # a fresh generator for every pass
    result = H.call(fn, X, y, b, rng, forbid=[torch], case=what)
    if not isinstance(result, (list, tuple)) and not hasattr(type(result), "__iter__"):
        raise HiddenTestFailure(
            f"{what} must return the batches, a generator or a list of (X_batch, y_batch); "
            f"received {_kind(result)}"
        )
    try:
        batches = list(result)
    except HiddenTestFailure:
        raise
    except Exception as exc:  # noqa: BLE001 (a generator runs the student's code as it is iterated)
        raise HiddenTestFailure(
            f"going through the batches of {what} raised {type(exc).__name__}: {exc}"
        ) from exc
    rows = {X[i].tobytes(): i for i in range(N)}
    order, sizes = [], []
    for k, batch in enumerate(batches):
        try:
            Xb, yb = batch
        except (TypeError, ValueError):
            raise HiddenTestFailure(
                f"batch {k} of {what} must be a pair (X_batch, y_batch); received {_kind(batch)}"
            ) from None
        yb = H.as_float(yb, f"y_batch of batch {k} of {what}")
        Xb = H.as_float(
            Xb,
            f"X_batch of batch {k} of {what}",
            shape=(len(yb), *X.shape[1:]),
            hint="(X_batch holds the rows of X whose labels are in y_batch, one row per label)",
        )
        for row, label in zip(Xb, yb):
            i = rows.get(np.ascontiguousarray(row).tobytes())
            if i is None:
                raise HiddenTestFailure(
                    f"batch {k} of {what} holds a row of X_batch that is no row of X"
                )
            if label != y[i]:
                raise HiddenTestFailure(
                    f"batch {k} of {what} pairs a row of X with the label of another example: X and y "
                    f"must be shuffled together, with one permutation (X[order], y[order])"
                )
            order.append(i)
        sizes.append(len(yb))
    expected = [b] * (N // b) + ([N % b] if N % b else [])
    if sorted(order) != list(range(N)):
        missing = sorted(set(range(N)) - set(order))
        twice = len(order) - len(set(order))
        raise HiddenTestFailure(
            f"{what} must give every one of the {N} examples exactly once; it gave {len(order)} examples, "
            f"{len(missing)} left out and {twice} repeated (batches of {sizes}). The last, smaller batch "
            f"is kept, and the examples are drawn without replacement (a permutation)"
        )
    if sizes != expected:
        raise HiddenTestFailure(
            f"{what} must give batches of {b} examples, the last one the {N % b or b} left: sizes {expected}; "
            f"received sizes {sizes}"
        )
    return order


def _short(order):
    return ", ".join(map(str, order[:12])) + (", ..." if len(order) > 12 else "")


# ------------------------------------------------------------------------------------------ steps
def test_sgd_step(sgd_step):
    rng = H.rng("sgd_step")
    for shape, scale, note in _sequences(rng):
        w0, grads, lrs = _draw(rng, shape, scale)
        expected = _torch_steps(torch.optim.SGD, w0, grads, lrs, {})
        w = w0
        for step, (g, lr, (want, _)) in enumerate(zip(grads, lrs, expected)):
            what = f"sgd_step(w, dw, lr) at step {step + 1} of {STEPS}, w of shape {shape}{note}, lr = {lr:.6g}"
            got = H.as_float(
                H.call(sgd_step, w, g, lr, forbid=[torch], case=what),
                f"w returned by {what}",
                shape,
            )
            _compare_weights(got, want, w, what, _SGD)
            w = got

    # integer arrays: w - lr * dw is a float array
    what = "sgd_step(w, dw, lr) for w = [1, 2, 3] and dw = [3, 0, -6] of integers, lr = 0.5"
    w = H.call(sgd_step, np.array([1, 2, 3]), np.array([3, 0, -6]), 0.5, forbid=[torch], case=what)
    H.assert_close(H.as_float(w, what, (3,)), [-0.5, 2.0, 6.0], what, hint=_SGD)


def test_momentum_step(momentum_step):
    rng = H.rng("momentum_step")
    for (shape, scale, note), momentum in zip(
        _sequences(rng), [0.9, 0.5, 0.99, round(float(rng.uniform(0.1, 0.95)), 3), 0.9]
    ):
        w0, grads, lrs = _draw(rng, shape, scale)
        expected = _torch_steps(torch.optim.SGD, w0, grads, lrs, {"momentum": momentum})
        w, velocity = w0, np.zeros(shape)
        for step, (g, lr, (want, state)) in enumerate(zip(grads, lrs, expected)):
            what = (
                f"momentum_step(w, dw, velocity, lr, momentum={momentum}) at step {step + 1} of {STEPS}, "
                f"w of shape {shape}{note}, lr = {lr:.6g}" + (", velocity = 0" if step == 0 else "")
            )
            result = H.call(momentum_step, w, g, velocity, lr, momentum, forbid=[torch], case=what)
            got, got_velocity = _pair(result, what, "(w, velocity)")
            got_velocity = H.as_float(got_velocity, f"velocity returned by {what}", shape)
            got = H.as_float(got, f"w returned by {what}", shape)
            H.assert_close(
                got_velocity,
                state["momentum_buffer"],
                f"velocity returned by {what}",
                rtol=1e-9,
                atol=1e-12,
                hint=_MOMENTUM,
            )
            _compare_weights(got, want, w, what, _MOMENTUM)
            w, velocity = got, got_velocity


def test_adam_step(adam_step):
    rng = H.rng("adam_step")
    settings = [
        {},
        {"beta1": 0.8, "beta2": 0.99},
        {"eps": 1e-3},
        {
            "beta1": round(float(rng.uniform(0.5, 0.95)), 3),
            "beta2": round(float(rng.uniform(0.9, 0.9999)), 4),
            "eps": 1e-6,
        },
        {},
    ]
    for (shape, scale, note), hyper in zip(_sequences(rng), settings):
        w0, grads, lrs = _draw(rng, shape, scale)
        torch_hyper = {
            "betas": (hyper.get("beta1", 0.9), hyper.get("beta2", 0.999)),
            "eps": hyper.get("eps", 1e-8),
        }
        expected = _torch_steps(torch.optim.Adam, w0, grads, lrs, torch_hyper)
        shown = "".join(f", {k}={v}" for k, v in hyper.items())
        w, state = w0, {}
        for step, (g, lr, (want, torch_state)) in enumerate(zip(grads, lrs, expected)):
            what = (
                f"adam_step(w, dw, state, lr{shown}) at step {step + 1} of {STEPS}, w of shape {shape}{note}, "
                f"lr = {lr:.6g}"
                + (", state = {} (the first step)" if step == 0 else ", state from the step before")
            )
            given = _copy(state)
            # updates=[2]: while grading, the kernel's state dict after the call comes back into
            # `state`, so a change made to it there (state["t"] += 1, state["m"] *= beta1) shows here
            result = H.call(
                adam_step, w, g, state, lr, **hyper, updates=[2], forbid=[torch], case=what
            )
            _state_unchanged(state, given, what)
            got, new_state = _pair(result, what, "(w, state)")
            if not isinstance(new_state, dict) or not {"m", "v", "t"} <= set(new_state):
                raise HiddenTestFailure(
                    f"{what} must return (w, state) with state a dict holding m, v and t; received a state "
                    f"{_kind(new_state) if not isinstance(new_state, dict) else 'with keys ' + ', '.join(map(str, new_state))}"
                )
            t = new_state["t"]
            if (
                isinstance(t, (bool, np.bool_))
                or not isinstance(t, (int, float, np.integer, np.floating))
                or t != step + 1
            ):
                raise HiddenTestFailure(
                    f"state['t'] returned by {what} must be {step + 1}, the number of steps taken, this one "
                    f"included; received {t!r} {_ADAM}"
                )
            for key, name in [("m", "exp_avg"), ("v", "exp_avg_sq")]:
                value = H.as_float(new_state[key], f"state['{key}'] returned by {what}", shape)
                H.assert_close(
                    value,
                    torch_state[name],
                    f"state['{key}'] returned by {what}",
                    rtol=1e-9,
                    atol=1e-15 if key == "m" else 1e-20,
                    hint=_ADAM,
                )
            got = H.as_float(got, f"w returned by {what}", shape)
            _compare_weights(got, want, w, what, _ADAM)
            w, state = got, new_state


def _sequences(rng):
    """(shape, gradient scale, note): 0-d, 1-d, square and rectangular 2-d, 3-d; one of tiny gradients."""
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    n = r(2, 4)
    return [
        ((r(3, 8),), 1.0, ""),
        ((n, n), 1.0, ""),
        ((), 1.0, " (a 0-d array)"),
        ((r(2, 4), r(5, 7)), 1e-4, ", tiny gradients"),
        ((2, r(2, 3), r(2, 4)), 1.0, ""),
    ]


def _draw(rng, shape, scale):
    """w0, STEPS gradients whose size varies from step to step, STEPS learning rates in [1e-3, 0.3]."""
    w0 = rng.standard_normal(shape)
    grads = [rng.standard_normal(shape) * scale * 10 ** rng.uniform(-2, 1) for _ in range(STEPS)]
    lrs = [float(10 ** rng.uniform(-3, math.log10(0.3))) for _ in range(STEPS)]
    return w0, grads, lrs


def _torch_steps(optimizer, w0, grads, lrs, hyper):
    """torch.optim in float64 on the same gradients and learning rates: (w, state) after each step."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = optimizer([p], lr=lrs[0], **hyper)
    steps = []
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        state = {
            k: (v.detach().numpy().copy() if torch.is_tensor(v) else v)
            for k, v in opt.state[p].items()
        }
        steps.append((p.detach().numpy().copy(), state))
    return steps


def _compare_weights(got, want, before, what, hint):
    """The weights, and the move they made (where an error in a small move shows)."""
    H.assert_close(
        got - before,
        want - before,
        f"the move w_new - w of {what}",
        rtol=1e-7,
        atol=1e-15,
        hint=hint,
    )
    H.assert_close(got, want, f"w returned by {what}", rtol=1e-10, atol=1e-12, hint=hint)


def _copy(value):
    """A deep copy of plain data (dicts, lists, tuples, arrays); other objects as they are."""
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _same(a, b):
    """a is what b was: the same arrays (shape, dtype, values), numbers, containers."""
    if isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(b, dict):
        return isinstance(a, dict) and set(a) == set(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(b, (bool, int, float, complex, str, np.generic)) or b is None:
        return type(a) is type(b) and (a == b or (a != a and b != b))
    return a is b or type(a) is type(b)  # an object left in the kernel comes back as a new handle


def _state_unchanged(state, given, what):
    """The state dict given is as it was: keys, t, and the values of m and v (the dict is not
    checked by the harness: it is passed with updates=[2], to come back from the kernel)."""
    if _same(state, given):
        return
    changed = sorted(set(state) ^ set(given)) or [k for k in given if not _same(state[k], given[k])]
    raise HiddenTestFailure(
        f"adam_step modified its argument state (the dict given: {_changes(state, given, changed)}); "
        f"{what}. Return a new dict, e.g. {{'m': m, 'v': v, 't': t}}, with new arrays "
        f"(m = beta1 * m + ..., not m *= beta1), and leave the one given as it was"
    )


def _changes(state, given, keys):
    shown = []
    for key in keys[:3]:
        if key not in given:
            shown.append(f"key {key!r} added")
        elif key not in state:
            shown.append(f"key {key!r} removed")
        elif isinstance(given[key], np.ndarray):
            shown.append(f"the values of state[{key!r}] changed")
        else:
            shown.append(f"state[{key!r}] was {given[key]!r}, now {state[key]!r}")
    return "; ".join(shown)


def _pair(value, what, names):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise HiddenTestFailure(
            f"{what} must return a pair {names}; received {_kind(value)}"
        ) from None
    return first, second


# ---------------------------------------------------------------------------------------- answers
def test_answer_epoch_steps(answer):
    H.number(answer, 63, "how many steps one epoch of 4,000 examples takes with batches of 64")


def test_answer_adam_first_step(answer):
    H.choice(answer, "b", "abcd", "how far Adam's first step moves each weight")


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a value of type {getattr(value, '_type', None) or type(value).__name__}"
