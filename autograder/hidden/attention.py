"""Hidden tests of 06_attention, called from the notebook's `BEGIN HIDDEN TESTS` blocks.

Every `test_<function>` draws seeded shapes and inputs (unbatched and batched, a batch of one, one
query or one key, n_q != n_k, d != d_v, masks that leave a single key to a query, random masks, a
causal mask, scores of size 1e4), calls the student's function through the harness and compares with
oracles written here independently of nn273: torch float64 (`scaled_dot_product_attention` and its
autograd gradients, a softmax for the weights) and closed forms (`math.sin`, `math.cos`, j <= i).
Every backward pass is also checked against central differences of the oracle. The NumPy exercises
must not call torch.

`test_answer_<name>(answer)` checks the answer to a question of the notebook (a number or a letter)
without telling the expected one.
"""

import math

import numpy as np
import torch

import nn273.attention

from .harness import Harness, HiddenTestFailure

__all__ = [
    "test_answer_attention_parameters",
    "test_answer_causal_weights",
    "test_answer_permuted_outputs",
    "test_causal_mask",
    "test_scaled_dot_product_attention",
    "test_self_attention_backward",
    "test_self_attention_forward",
    "test_sinusoidal_positional_encoding",
]

H = Harness(nn273.attention)

_ATTENTION_HINT = (
    "(weights = softmax over the keys (the last axis) of Q K^T / sqrt(d), d the length of a query; "
    "out = weights V)"
)
_MASK_HINT = (
    "(where the mask is False the weight must be exactly 0 and the other weights of the row still sum "
    "to 1: exclude those keys before the softmax, e.g. scores set to -inf; True means 'may attend')"
)
_LARGE_HINT = (
    "(scores of size 1e4 here: subtract each row's largest score before np.exp, which changes nothing "
    "in the softmax and keeps exp from overflowing)"
)


# ------------------------------------------------------------------------------------- attention
def test_scaled_dot_product_attention(scaled_dot_product_attention):
    rng = H.rng("scaled_dot_product_attention")
    for Q, K, V, mask, hint in _attention_cases(rng):
        what = _attention_what(Q, K, V, mask)
        with H.hint(hint if hint.startswith(_LARGE_HINT) else ""):
            if mask is None:
                result = H.call(scaled_dot_product_attention, Q, K, V, forbid=[torch], case=what)
            else:
                result = H.call(scaled_dot_product_attention, Q, K, V, mask=mask, forbid=[torch], case=what)
        out, weights = _pair(result, what, "(out, weights)")
        expected_out, expected_weights = _attention_oracle(Q, K, V, mask)
        weights = H.as_float(
            weights,
            f"weights of {what}",
            expected_weights.shape,
            hint="(weights has one row per query and one column per key: (n_q, n_k), batched (N, n_q, n_k))",
        )
        out = H.as_float(
            out, f"out of {what}", expected_out.shape, hint="(out has one row per query, as long as a value)"
        )
        H.assert_close(weights, expected_weights, f"weights of {what}", rtol=1e-9, atol=1e-12, hint=hint)
        H.assert_close(out, expected_out, f"out of {what}", rtol=1e-9, atol=1e-12, hint=hint)


def _attention_cases(rng):
    """(Q, K, V, mask, hint): unbatched and batched, one query, n_q != n_k, d != d_v, no mask (not
    passed), masks leaving one key, random masks, a batched mask, scores of size 1e4."""
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731

    def draw(lead, n_q, n_k, d, d_v, scale=1.0):
        return (
            scale * rng.standard_normal((*lead, n_q, d)),
            scale * rng.standard_normal((*lead, n_k, d)),
            rng.standard_normal((*lead, n_k, d_v)),
        )

    def one_key_left(n_q, n_k):  # whole rows masked but for one key, at a drawn position
        mask = np.zeros((n_q, n_k), dtype=bool)
        mask[np.arange(n_q), rng.integers(0, n_k, n_q)] = True
        return mask

    def random_mask(shape):
        mask = rng.random(shape) < 0.5
        rows = ~mask.any(axis=-1)
        mask[rows, 0] = True  # every query keeps a key
        return mask

    cases = []
    n_q, n_k, d = r(2, 4), r(5, 7), r(3, 5)
    cases.append((*draw((), n_q, n_k, d, d + r(1, 2)), None, _ATTENTION_HINT))
    cases.append((*draw((), 1, r(3, 5), r(2, 4), r(1, 3)), None, _ATTENTION_HINT))
    N, n_q, n_k = r(2, 3), r(4, 6), r(2, 3)
    cases.append((*draw((N,), n_q, n_k, r(2, 4), r(3, 5)), None, _ATTENTION_HINT))
    cases.append((*draw((1,), r(2, 3), r(3, 4), r(4, 8), 2), None, _ATTENTION_HINT + " (a batch of one)"))
    n_q, n_k = r(3, 5), r(4, 6)
    mask = random_mask((n_q, n_k))
    mask[0] = one_key_left(1, n_k)[0]
    cases.append((*draw((), n_q, n_k, r(2, 4), r(2, 3)), mask, _MASK_HINT))
    n_q, n_k = r(2, 4), r(3, 5)
    cases.append((*draw((), n_q, n_k, 3, 2), one_key_left(n_q, n_k), _MASK_HINT + " (one key left per query)"))
    N, n = r(2, 3), r(4, 6)
    causal = np.tril(np.ones((n, n), dtype=bool))
    cases.append((*draw((N,), n, n, r(2, 4), r(3, 4)), causal, _MASK_HINT + " (a causal mask, for every sequence)"))
    N, n_q, n_k = r(2, 3), r(3, 4), r(4, 5)
    cases.append((*draw((N,), n_q, n_k, 2, 3), random_mask((N, n_q, n_k)), _MASK_HINT + " (a mask per sequence)"))
    n_q, n_k = r(3, 4), r(4, 6)
    cases.append((*draw((), n_q, n_k, r(2, 3), 2, scale=60.0), None, _LARGE_HINT))
    N, n = 2, r(4, 5)
    mask = random_mask((n, n))
    cases.append((*draw((N,), n, n, 4, 3, scale=60.0), mask, _LARGE_HINT + " " + _MASK_HINT))
    return cases


def _attention_what(Q, K, V, mask):
    shapes = f"Q of shape {Q.shape}, K of shape {K.shape}, V of shape {V.shape}"
    if mask is None:
        return f"scaled_dot_product_attention(Q, K, V) for {shapes} (no mask)"
    return f"scaled_dot_product_attention(Q, K, V, mask=mask) for {shapes} and a mask of shape {mask.shape}"


def _attention_oracle(Q, K, V, mask):
    """(out, weights) from torch in float64: its scaled_dot_product_attention for out, and a softmax
    of the masked scaled scores for the weights."""
    Qt, Kt, Vt = (torch.tensor(np.asarray(v, dtype=np.float64)) for v in (Q, K, V))
    m = None if mask is None else torch.tensor(mask)
    out = torch.nn.functional.scaled_dot_product_attention(Qt, Kt, Vt, attn_mask=m)
    scores = Qt @ Kt.transpose(-1, -2) / math.sqrt(Q.shape[-1])
    if m is not None:
        scores = scores.masked_fill(~m, -math.inf)
    return out.numpy(), torch.softmax(scores, dim=-1).numpy()


# -------------------------------------------------------------------------------- self-attention
def test_self_attention_forward(self_attention_forward):
    rng = H.rng("self_attention_forward")
    for X, Wq, Wk, Wv, causal in _self_cases(rng):
        what = _self_what(X, Wq, Wk, Wv, causal)
        out, _ = _pair(_call_self(self_attention_forward, X, Wq, Wk, Wv, causal, what), what, "(out, cache)")
        expected = _self_oracle(X, Wq, Wk, Wv, causal)
        out = H.as_float(
            out, f"out of {what}", expected.shape, hint="(one output per input position, as long as a value: X Wv)"
        )
        H.assert_close(out, expected, f"out of {what}", rtol=1e-9, atol=1e-12, hint=_self_hint(causal))


def test_self_attention_backward(self_attention_backward, self_attention_forward):
    rng = H.rng("self_attention_backward")
    for i, (X, Wq, Wk, Wv, causal) in enumerate(_self_cases(rng)):
        forward = _self_what(X, Wq, Wk, Wv, causal)
        out, cache = _pair(_call_self(self_attention_forward, X, Wq, Wk, Wv, causal, forward), forward, "(out, cache)")
        expected = _self_oracle(X, Wq, Wk, Wv, causal)
        _forward_first(out, expected, forward)
        dout = rng.standard_normal(expected.shape)
        what = f"self_attention_backward(dout, cache) for dout of shape {dout.shape}, cache from {forward}"
        result = H.call(self_attention_backward, dout, cache, forbid=[torch], case=what)
        try:
            grads = tuple(result)
        except TypeError:
            grads = ()
        if len(grads) != 4:
            raise HiddenTestFailure(f"{what} must return four gradients (dX, dWq, dWk, dWv); received {_kind(result)}")
        names = ("dX", "dWq", "dWk", "dWv")
        args = (X, Wq, Wk, Wv)
        grads = [
            H.as_float(g, f"{name} of {what}", a.shape, hint=f"({name} is shaped like {name[1:]})")
            for name, g, a in zip(names, grads, args)
        ]
        hints = {
            "dX": "(X reaches the output three ways, through Q = X Wq, K = X Wk and V = X Wv: "
            "dX = dQ Wq^T + dK Wk^T + dV Wv^T)",
            "dWq": "(dWq = X^T dQ, summed over the batch; dQ = dS K / sqrt(d), dS the gradient of the scores: "
            "the weights depend on Q and K, they are not constants)",
            "dWk": "(dWk = X^T dK, summed over the batch; dK = dS^T Q / sqrt(d))",
            "dWv": "(dWv = X^T dV, summed over the batch; dV = weights^T dout)",
        }
        softmax = (
            " The softmax's backward pass, row by row: dS = A * (dA - sum_j A_j dA_j), A the weights and "
            "dA = dout V^T."
        )
        oracle = _self_gradients(X, Wq, Wk, Wv, causal, dout)
        for name, got, want in zip(names, grads, oracle):
            H.assert_close(
                got, want, f"{name} of {what}", rtol=1e-8, atol=1e-10, hint=hints[name] + (softmax if name != "dWv" else "")
            )
        if i % 3 == 0:  # central differences of the oracle: the same verdict, by another route
            for k, (name, got) in enumerate(zip(names, grads)):

                def f(a, k=k):
                    varied = list(args)
                    varied[k] = a
                    return float(np.sum(_self_oracle(*varied, causal) * dout))

                H.assert_gradient(f, args[k], got, f"{name} of {what}, against central differences,")


def _self_cases(rng):
    """(X, Wq, Wk, Wv, causal): unbatched and batched, a batch of one, one position, d != d_v,
    causal and not (None: causal left at its default)."""
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731

    def draw(lead, n, D, d, d_v):
        return (
            rng.standard_normal((*lead, n, D)),
            rng.standard_normal((D, d)),
            rng.standard_normal((D, d)),
            rng.standard_normal((D, d_v)),
        )

    D = r(3, 5)
    return [
        (*draw((), r(4, 6), D, r(2, 3), D + 1), None),
        (*draw((), r(4, 6), r(2, 4), r(2, 4), r(1, 3)), True),
        (*draw((r(2, 3),), r(3, 5), r(3, 4), r(2, 3), r(2, 4)), False),
        (*draw((r(2, 3),), r(4, 5), r(2, 4), r(3, 4), r(2, 3)), True),
        (*draw((1,), r(3, 4), 3, 2, 2), True),
        (*draw((), 1, r(2, 3), 2, 3), False),
    ]


def _call_self(fn, X, Wq, Wk, Wv, causal, what):
    if causal is None:
        return H.call(fn, X, Wq, Wk, Wv, forbid=[torch], case=what)
    return H.call(fn, X, Wq, Wk, Wv, causal=causal, forbid=[torch], case=what)


def _self_what(X, Wq, Wk, Wv, causal):
    shapes = f"X of shape {X.shape}, Wq {Wq.shape}, Wk {Wk.shape}, Wv {Wv.shape}"
    if causal is None:
        return f"self_attention_forward(X, Wq, Wk, Wv) for {shapes} (causal left at its default False)"
    return f"self_attention_forward(X, Wq, Wk, Wv, causal={causal}) for {shapes}"


def _self_hint(causal):
    base = "(Q = X Wq, K = X Wk, V = X Wv, then attention over the keys with scores Q K^T / sqrt(d)"
    if causal:
        return base + "; causal: position i attends to the positions j <= i, itself included)"
    return base + "; not causal: every position attends to every position)"


def _self_oracle(X, Wq, Wk, Wv, causal):
    t = [torch.tensor(np.asarray(v, dtype=np.float64)) for v in (X, Wq, Wk, Wv)]
    return _self_torch(*t, bool(causal)).numpy()


def _self_torch(X, Wq, Wk, Wv, causal):
    return torch.nn.functional.scaled_dot_product_attention(X @ Wq, X @ Wk, X @ Wv, is_causal=causal)


def _self_gradients(X, Wq, Wk, Wv, causal, dout):
    leaves = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in (X, Wq, Wk, Wv)]
    out = _self_torch(*leaves, bool(causal))
    return [g.numpy() for g in torch.autograd.grad(out, leaves, torch.tensor(dout))]


def _forward_first(out, expected, forward):
    try:
        out = H.as_float(out, f"out of {forward}", expected.shape)
        H.assert_close(out, expected, f"out of {forward}", rtol=1e-9, atol=1e-12)
    except HiddenTestFailure as exc:
        raise HiddenTestFailure(
            f"self_attention_backward is tested with the cache of your self_attention_forward, which is wrong: "
            f"{exc}. Fix self_attention_forward first."
        ) from None


# ------------------------------------------------------------------------------------- positions
def test_sinusoidal_positional_encoding(sinusoidal_positional_encoding):
    rng = H.rng("sinusoidal_positional_encoding")
    r = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    cases = [(1, 2), (r(5, 12), 2 * r(2, 8)), (r(40, 120), 2 * r(8, 32)), (r(3, 8), 2 * r(1, 4) + 1), (r(2, 5), 1)]
    for n, d in cases:
        what = f"sinusoidal_positional_encoding({n}, {d})"
        PE = H.call(sinusoidal_positional_encoding, n, d, forbid=[torch], case=what)
        PE = H.as_float(PE, what, (n, d), hint="(one row per position, one column per feature: (n_positions, d_model))")
        expected = np.array(
            [
                [
                    math.sin(p / 10000 ** ((j - j % 2) / d)) if j % 2 == 0 else math.cos(p / 10000 ** ((j - j % 2) / d))
                    for j in range(d)
                ]
                for p in range(n)
            ]
        )
        H.assert_close(
            PE,
            expected,
            what,
            rtol=1e-9,
            atol=1e-12,
            hint=(
                "(PE[p, 2i] = sin(p / 10000**(2i/d_model)) in the even columns, PE[p, 2i+1] = cos of the same "
                "angle in the odd ones: both columns of a pair share the exponent 2i/d_model"
                + (", and an odd d_model ends on a sine)" if d % 2 else ")")
            ),
        )


def test_causal_mask(causal_mask):
    rng = H.rng("causal_mask")
    for n in [1, 2, int(rng.integers(3, 8)), int(rng.integers(8, 20))]:
        what = f"causal_mask({n})"
        result = H.call(causal_mask, n, forbid=[torch], case=what)
        mask = H.as_float(result, what, (n, n), hint="(one row per query position, one column per key position)")
        if np.asarray(result).dtype != bool:
            raise HiddenTestFailure(
                f"{what} must be a boolean array (True where the query may attend), as torch's attn_mask; "
                f"received dtype {np.asarray(result).dtype}"
            )
        i, j = np.indices((n, n))
        H.assert_close(
            mask,
            (j <= i).astype(float),
            what,
            rtol=0,
            atol=0,
            hint="(row i is query position i: True for the keys j <= i, the past and position i itself)",
        )


# ------------------------------------------------------------------------------------- questions
def test_answer_permuted_outputs(answer):
    H.choice(answer, "b", "abcd", "what self-attention without positions does with a shuffled sequence")


def test_answer_causal_weights(answer):
    H.number(answer, 55, "how many of the 10 x 10 weights of a causal self-attention can be nonzero")


def test_answer_attention_parameters(answer):
    H.number(answer, 3 * 512 * 64, "how many parameters Wq, Wk and Wv hold for D = 512 and d = d_v = 64")


# --------------------------------------------------------------------------------------- helpers
def _pair(value, what, names):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise HiddenTestFailure(f"{what} must return a pair {names}; received {_kind(value)}") from None
    return first, second


def _kind(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a value of type {getattr(value, '_type', None) or type(value).__name__}"
