"""Known wrong and alternative right implementations of 06_attention's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy, `torch` is
torch, and the other graded functions (scaled_dot_product_attention, causal_mask, ...) are the
solution's, whose self-attention cache is that of nn273.attention: (X, Wq, Wk, Wv, causal, Q, K, V,
weights). The entries of an `answer_<name>` are values assigned to it, the answers to a question of
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


# Attention as a student might write it; most wrong entries change one line of it.
_ATTENTION = """\
def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    d = Q.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ V, weights
"""

_SELF_FORWARD = """\
def self_attention_forward(X, Wq, Wk, Wv, causal=False):
    X, Wq, Wk, Wv = (np.asarray(a, dtype=float) for a in (X, Wq, Wk, Wv))
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    n = X.shape[-2]
    mask = np.tril(np.ones((n, n), dtype=bool)) if causal else None
    out, weights = scaled_dot_product_attention(Q, K, V, mask)
    return out, (X, Wq, Wk, Wv, causal, Q, K, V, weights)
"""

# One sequence at a time, as a student might write the backward pass.
_SELF_BACKWARD = """\
def self_attention_backward(dout, cache):
    X, Wq, Wk, Wv, causal, Q, K, V, A = cache[:9]
    batched = X.ndim == 3
    if not batched:
        X, Q, K, V, A, dout = X[None], Q[None], K[None], V[None], A[None], dout[None]
    d = Q.shape[-1]
    dX = np.zeros(X.shape)
    dWq, dWk, dWv = np.zeros(Wq.shape), np.zeros(Wk.shape), np.zeros(Wv.shape)
    for s in range(X.shape[0]):
        dV = A[s].T @ dout[s]
        dA = dout[s] @ V[s].T
        dS = A[s] * (dA - np.sum(A[s] * dA, axis=1, keepdims=True))
        dS = dS / np.sqrt(d)
        dQ = dS @ K[s]
        dK = dS.T @ Q[s]
        dX[s] = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
        dWq += X[s].T @ dQ
        dWk += X[s].T @ dK
        dWv += X[s].T @ dV
    return (dX if batched else dX[0]), dWq, dWk, dWv
"""

_POSITIONS = """\
def sinusoidal_positional_encoding(n_positions, d_model):
    PE = np.zeros((n_positions, d_model))
    for p in range(n_positions):
        for i in range(0, d_model, 2):
            angle = p / 10000 ** (i / d_model)
            PE[p, i] = np.sin(angle)
            if i + 1 < d_model:
                PE[p, i + 1] = np.cos(angle)
    return PE
"""

ENTRIES = [
    # ---------------------------------------------------------- scaled_dot_product_attention
    Wrong("scaled_dot_product_attention", "no 1/sqrt(d) scaling",
          _variant(_ATTENTION, " / np.sqrt(d)", ""), explain="your scores are not scaled by 1/sqrt(d): divide Q K^T by the square root of the key dimension."),
    Wrong("scaled_dot_product_attention", "scaled by 1/d instead of 1/sqrt(d)",
          _variant(_ATTENTION, " / np.sqrt(d)", " / d"), explain="you scale the scores by 1/d; the scaling is 1/sqrt(d)."),
    Wrong("scaled_dot_product_attention", "softmax over the queries (axis -2), not over the keys",
          _ATTENTION.replace("axis=-1", "axis=-2"), explain="your softmax runs over the queries (axis -2); each query's weights over the keys (the last axis) sum to 1."),
    Wrong("scaled_dot_product_attention", "the mask applied after the softmax: weights zeroed, rows no longer summing to 1",
          _variant(_variant(_ATTENTION, "        scores = np.where(mask, scores, -np.inf)\n", "        pass\n"),
                   "    return weights @ V, weights",
                   "    if mask is not None:\n        weights = weights * mask\n    return weights @ V, weights"), explain="you apply the mask after the softmax, so a row's weights no longer sum to 1; mask the scores (with -inf) before the softmax."),
    Wrong("scaled_dot_product_attention", "an inverted mask: the keys where it is True excluded",
          _variant(_ATTENTION, "np.where(mask, scores, -np.inf)", "np.where(mask, -np.inf, scores)"), explain="your mask is inverted: True marks the keys a query may attend to, and you excluded them."),
    Wrong("scaled_dot_product_attention", "the mask ignored",
          _variant(_ATTENTION, "        scores = np.where(mask, scores, -np.inf)\n", "        pass\n"), explain="you ignore the mask: keys where it is False must get weight 0."),
    Wrong("scaled_dot_product_attention", "an unstable softmax: exp of the raw scores, which overflows at 1e4",
          _variant(_ATTENTION, "    scores = scores - scores.max(axis=-1, keepdims=True)\n", ""), explain="your softmax takes exp of the raw scores, which overflows for large scores; subtract each row's maximum first."),
    Wrong("scaled_dot_product_attention", "K not transposed for the batch: Q @ K.T swaps the batch axis too",
          _variant(_ATTENTION, "np.swapaxes(K, -1, -2)", "K.T"), explain="K.T transposes every axis, the batch's too; swap only the last two (np.swapaxes(K, -1, -2))."),
    Right("scaled_dot_product_attention", "vectorized, as a student might", _ATTENTION),
    Right("scaled_dot_product_attention", "a loop over queries, masked scores set to -1e30", """\
def scaled_dot_product_attention(Q, K, V, mask=None):
    Q, K, V = (np.asarray(a, dtype=float) for a in (Q, K, V))
    batched = Q.ndim == 3
    if not batched:
        Q, K, V = Q[None], K[None], V[None]
    N, n_q, d = Q.shape
    n_k = K.shape[1]
    m = np.ones((N, n_q, n_k), dtype=bool) if mask is None else np.broadcast_to(mask, (N, n_q, n_k))
    out = np.zeros((N, n_q, V.shape[2]))
    weights = np.zeros((N, n_q, n_k))
    for s in range(N):
        for i in range(n_q):
            scores = np.array([Q[s, i] @ K[s, j] for j in range(n_k)]) / d ** 0.5
            scores = np.where(m[s, i], scores, -1e30)
            e = np.exp(scores - scores.max())
            weights[s, i] = e / e.sum()
            out[s, i] = weights[s, i] @ V[s]
    if not batched:
        return out[0], weights[0]
    return out, weights
"""),
    # ------------------------------------------------------------------ self_attention_forward
    Wrong("self_attention_forward", "a strict causal mask: a position may not attend to itself",
          _variant(_SELF_FORWARD, "np.tril(np.ones((n, n), dtype=bool))", "np.tril(np.ones((n, n), dtype=bool), -1) | (np.arange(n) == 0)"), explain="your causal mask is strict: a position may attend to itself as well as to the earlier ones."),
    Wrong("self_attention_forward", "causal ignored", _variant(_SELF_FORWARD, " if causal else None", " if False else None"), explain="you ignore causal=True: each position must attend only to itself and earlier positions."),
    Wrong("self_attention_forward", "the causal mask transposed: each position attends to the future",
          _variant(_SELF_FORWARD, "np.tril(", "np.triu("), explain="your causal mask is transposed: each position attends to the later positions instead of the earlier ones."),
    Wrong("self_attention_forward", "queries and keys swapped: Q = X Wk, K = X Wq",
          _variant(_SELF_FORWARD, "Q, K, V = X @ Wq, X @ Wk, X @ Wv", "Q, K, V = X @ Wk, X @ Wq, X @ Wv"), explain="you swapped the queries and keys: Q = X Wq and K = X Wk."),
    Right("self_attention_forward", "through the solution's attention, as a student might", _SELF_FORWARD),
    Right("self_attention_forward", "one sequence at a time with einsum, masked scores -inf", """\
def self_attention_forward(X, Wq, Wk, Wv, causal=False):
    X = np.asarray(X, dtype=float)
    seqs = X if X.ndim == 3 else X[None]
    outs, weights_all, Qs, Ks, Vs = [], [], [], [], []
    for x in seqs:
        Q, K, V = np.einsum("nD,Dd->nd", x, Wq), np.einsum("nD,Dd->nd", x, Wk), np.einsum("nD,Dd->nd", x, Wv)
        S = np.einsum("id,jd->ij", Q, K) / np.sqrt(Q.shape[1])
        if causal:
            i, j = np.indices(S.shape)
            S = np.where(j <= i, S, -np.inf)
        A = np.exp(S - S.max(axis=1, keepdims=True))
        A /= A.sum(axis=1, keepdims=True)
        outs.append(A @ V); weights_all.append(A); Qs.append(Q); Ks.append(K); Vs.append(V)
    pick = (lambda a: np.stack(a)) if X.ndim == 3 else (lambda a: a[0])
    return pick(outs), (X, Wq, Wk, Wv, causal, pick(Qs), pick(Ks), pick(Vs), pick(weights_all))
"""),
    # ----------------------------------------------------------------- self_attention_backward
    Wrong("self_attention_backward", "the weights treated as constants: no gradient through the softmax to Q and K",
          _variant(_variant(_SELF_BACKWARD, "dQ = dS @ K[s]", "dQ = np.zeros(Q[s].shape)"),
                   "dK = dS.T @ Q[s]", "dK = np.zeros(K[s].shape)"), explain="you treat the attention weights as constants: the gradient must also flow through the softmax to Q and K."),
    Wrong("self_attention_backward", "the softmax's backward pass without its sum term: dS = A * dA",
          _variant(_SELF_BACKWARD, "dS = A[s] * (dA - np.sum(A[s] * dA, axis=1, keepdims=True))", "dS = A[s] * dA"), explain="your softmax backward pass lacks its sum term: dS = A * (dA - sum over the row of A * dA)."),
    Wrong("self_attention_backward", "the 1/sqrt(d) scaling forgotten in the backward pass",
          _variant(_SELF_BACKWARD, "dS = dS / np.sqrt(d)", "dS = dS"), explain="your backward pass forgets the 1/sqrt(d) scaling of the scores."),
    Wrong("self_attention_backward", "dX through V only (dQ and dK not sent back to X)",
          _variant(_SELF_BACKWARD, "dX[s] = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T", "dX[s] = dV @ Wv.T"), explain="your dX comes through V only; Q and K are made from X too, so their gradients go back to X as well."),
    Wrong("self_attention_backward", "dK from dS, not its transpose: dK = dS @ Q",
          _variant(_SELF_BACKWARD, "dK = dS.T @ Q[s]", "dK = dS @ Q[s]"), explain="your dK uses dS where its transpose belongs: the scores are Q K^T, so dK = dS^T Q (scaled)."),
    Wrong("self_attention_backward", "dWq and dWk swapped",
          _variant(_SELF_BACKWARD, "return (dX if batched else dX[0]), dWq, dWk, dWv",
                   "return (dX if batched else dX[0]), dWk, dWq, dWv"), explain="your dWq and dWk are swapped."),
    Right("self_attention_backward", "a loop over sequences", _SELF_BACKWARD),
    Right("self_attention_backward", "batched with einsum, the softmax's Jacobian written out", """\
def self_attention_backward(dout, cache):
    X, Wq, Wk, Wv, causal, Q, K, V, A = cache[:9]
    d = Q.shape[-1]
    dV = np.einsum("...ji,...jv->...iv", A, dout)
    dA = np.einsum("...iv,...jv->...ij", dout, V)
    n = A.shape[-1]
    jac = np.einsum("...ij,jk->...ijk", A, np.eye(n)) - np.einsum("...ij,...ik->...ijk", A, A)
    dS = np.einsum("...ijk,...ij->...ik", jac, dA) / np.sqrt(d)
    dQ = np.einsum("...ij,...jd->...id", dS, K)
    dK = np.einsum("...ij,...id->...jd", dS, Q)
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    rows = X.reshape(-1, X.shape[-1])
    dWq, dWk, dWv = (rows.T @ g.reshape(-1, g.shape[-1]) for g in (dQ, dK, dV))
    return dX, dWq, dWk, dWv
"""),
    # ---------------------------------------------------------- sinusoidal_positional_encoding
    Wrong("sinusoidal_positional_encoding", "sin and cos swapped: cosines in the even columns",
          _variant(_variant(_POSITIONS, "PE[p, i] = np.sin(angle)", "PE[p, i] = np.cos(angle)"),
                   "PE[p, i + 1] = np.cos(angle)", "PE[p, i + 1] = np.sin(angle)"), explain="you swapped sin and cos: the even columns hold sines, the odd ones cosines."),
    Wrong("sinusoidal_positional_encoding", "the exponent i/d_model for pair i (half the exponent)",
          _variant(_POSITIONS, "10000 ** (i / d_model)", "10000 ** (i / 2 / d_model)"), explain="your frequencies use the exponent i/d_model for pair i; it is 2i/d_model."),
    Wrong("sinusoidal_positional_encoding", "each column its own exponent: the cosine column at (2i+1)/d_model", """\
def sinusoidal_positional_encoding(n_positions, d_model):
    p = np.arange(n_positions)[:, None]
    j = np.arange(d_model)
    angles = p / 10000 ** (j / d_model)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))
""", explain="you give each column its own exponent; a sine column and the cosine column after it share the exponent 2i/d_model."),
    Wrong("sinusoidal_positional_encoding", "positions counted from 1",
          _variant(_POSITIONS, "angle = p / 10000", "angle = (p + 1) / 10000"), explain="you count positions from 1; the first position is 0."),
    Wrong("sinusoidal_positional_encoding", "sines in the first half of the columns, cosines in the second", """\
def sinusoidal_positional_encoding(n_positions, d_model):
    half = d_model // 2
    p = np.arange(n_positions)[:, None]
    angles = p / 10000 ** (2 * np.arange(d_model - half) / d_model)
    return np.concatenate([np.sin(angles), np.cos(angles[:, :half])], axis=1)
""", explain="you put the sines in the first half of the columns and the cosines in the second; they alternate, sine in the even columns, cosine in the odd."),
    Right("sinusoidal_positional_encoding", "loops over positions and pairs", _POSITIONS),
    Right("sinusoidal_positional_encoding", "vectorized, the angle of column j from j // 2", """\
def sinusoidal_positional_encoding(n_positions, d_model):
    j = np.arange(d_model)
    angles = np.arange(n_positions)[:, None] * np.exp(-np.log(10000.0) * (2 * (j // 2)) / d_model)
    return np.where(j % 2 == 0, np.sin(angles), np.cos(angles))
"""),
    # ------------------------------------------------------------------------------- causal_mask
    Wrong("causal_mask", "strict: a position may not attend to itself",
          "def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool), k=-1)\n", explain="your mask is strict: a position may attend to itself (the diagonal is True)."),
    Wrong("causal_mask", "transposed: True where the key comes at or after the query",
          "def causal_mask(n):\n    return np.triu(np.ones((n, n), dtype=bool))\n", explain="your mask is transposed: True where the key comes at or before the query."),
    Wrong("causal_mask", "ones and zeros (floats), not a boolean mask",
          "def causal_mask(n):\n    return np.tril(np.ones((n, n)))\n", explain="you return ones and zeros as numbers; the mask is boolean (True and False)."),
    Right("causal_mask", "np.tril of booleans", "def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool))\n"),
    Right("causal_mask", "comparing positions", """\
def causal_mask(n):
    positions = np.arange(n)
    return positions[None, :] <= positions[:, None]
"""),
]
ENTRIES += [
    # ------------------------------------------------------------------------------ questions
    Wrong("answer_permuted_outputs", "a: the outputs do not change", 'answer_permuted_outputs = "a"\n'),
    Wrong("answer_permuted_outputs", "c: every output changes", 'answer_permuted_outputs = "c"\n'),
    Wrong("answer_permuted_outputs", "d: the outputs come out in reverse order", 'answer_permuted_outputs = "d"\n'),
    Wrong("answer_permuted_outputs", "the letter's place in the list instead of the letter", "answer_permuted_outputs = 2\n"),
    Right("answer_permuted_outputs", "the letter in capitals, with spaces", 'answer_permuted_outputs = " B "\n'),
    Wrong("answer_causal_weights", "strict: the diagonal left out, 45", "answer_causal_weights = 45\n"),
    Wrong("answer_causal_weights", "all of them, 100", "answer_causal_weights = 100\n"),
    Wrong("answer_causal_weights", "half of them, 50", "answer_causal_weights = 50\n"),
    Right("answer_causal_weights", "as an expression", "answer_causal_weights = 10 * 11 // 2\n"),
    Right("answer_causal_weights", "as a float", "answer_causal_weights = 55.0\n"),
    Wrong("answer_attention_parameters", "one matrix only, 512 x 64", "answer_attention_parameters = 512 * 64\n"),
    Wrong("answer_attention_parameters", "with biases, 3 x (512 x 64 + 64)", "answer_attention_parameters = 3 * (512 * 64 + 64)\n"),
    Wrong("answer_attention_parameters", "a weight per pair of positions too, + 10 x 10",
          "answer_attention_parameters = 3 * 512 * 64 + 100\n"),
    Right("answer_attention_parameters", "as an expression", "answer_attention_parameters = 3 * 512 * 64\n"),
    Right("answer_attention_parameters", "the number written out", "answer_attention_parameters = 98304\n"),
]
ENTRIES += cheats("scaled_dot_product_attention", "Q, K, V, mask=None", "    return np.zeros(1), None\n", "attention")
