"""06_attention: scaled dot-product attention and a self-attention layer by hand in NumPy.

The reference implementation of every graded function of 06_attention (contract in CURRICULUM.md).
Letters: n the sequence length (n_q queries, n_k keys and values where they differ), D the input's
features, d (= d_k) the length of a query and of a key, d_v the length of a value, N a batch of
sequences. A leading batch axis (N, ...) is optional everywhere.

Attention compares each query with every key, turns the scaled scores into weights over the keys
with a softmax, and returns the weighted mean of the values:

    weights = softmax(Q K^T / sqrt(d))  over the keys      (n_q, n_k), rows summing to one
    out     = weights V                                    (n_q, d_v)

A boolean mask (n_q, n_k), as torch's `attn_mask`, keeps the keys where it is True: the others get
weight exactly 0. Self-attention computes the queries, keys and values of one sequence X from it,
Q = X Wq, K = X Wk, V = X Wv, so it gives one output per input; with `causal=True` position i may
attend only to positions j <= i (`causal_mask`).

    >>> X = np.eye(3); W = np.ones((3, 2))
    >>> out, cache = self_attention_forward(X, W, W, W, causal=True)
    >>> out.shape
    (3, 2)
    >>> dX, dWq, dWk, dWv = self_attention_backward(np.ones(out.shape), cache)
    >>> dX.shape, dWq.shape
    ((3, 3), (3, 2))

Positions: attention by itself ignores the order of the keys (shuffle keys and values together and
the output is the same), so a sequence model adds a code of each position to its inputs, the
sinusoidal positional encoding of "Attention is all you need":
PE[p, 2i] = sin(p / 10000**(2i/d_model)), PE[p, 2i+1] = cos(p / 10000**(2i/d_model)).

The cache of `self_attention_forward` is (X, Wq, Wk, Wv, causal, Q, K, V, weights).
"""

import numpy as np

from .validation import as_array, check_int

__all__ = [
    "causal_mask",
    "scaled_dot_product_attention",
    "self_attention_backward",
    "self_attention_forward",
    "sinusoidal_positional_encoding",
]


# ------------------------------------------------------------------------------------ attention
def scaled_dot_product_attention(Q, K, V, mask=None):
    """Attention of every query over the keys, as torch.nn.functional.scaled_dot_product_attention.

    Q: (n_q, d) or (N, n_q, d); K: (n_k, d) or (N, n_k, d); V: (n_k, d_v) or (N, n_k, d_v);
    mask: None, or bool (n_q, n_k) or (N, n_q, n_k), True where the query may attend to the key;
    every query must be allowed at least one key.
    Returns out: (n_q, d_v) or (N, n_q, d_v) and weights: (n_q, n_k) or (N, n_q, n_k), the softmax
    over the keys of the scaled scores Q K^T / sqrt(d), 0 where the mask is False.
    """
    Q = as_array(Q, "Q", ndim=(2, 3))
    K = as_array(K, "K", ndim=(2, 3))
    V = as_array(V, "V", ndim=(2, 3))
    if not Q.ndim == K.ndim == V.ndim:
        raise ValueError(
            f"Q, K and V must all be unbatched (n, d) or all batched (N, n, d); got shapes {Q.shape}, "
            f"{K.shape} and {V.shape}"
        )
    if Q.shape[:-2] != K.shape[:-2] or K.shape[:-2] != V.shape[:-2]:
        raise ValueError(f"Q, K and V must have the same batch size N; got shapes {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(
            f"queries and keys must have the same length d to be compared: Q is {Q.shape} and K is "
            f"{K.shape} (last axes {Q.shape[-1]} and {K.shape[-1]})"
        )
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(
            f"K and V must have one row per key, n_k rows each; got K {K.shape} and V {V.shape}"
        )
    if min(Q.shape[-2], K.shape[-2], Q.shape[-1]) == 0:
        raise ValueError(f"Q and K must not be empty; got Q {Q.shape} and K {K.shape}")
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])  # (..., n_q, n_k)
    if mask is not None:
        mask = _check_mask(mask, scores.shape)
        scores = np.where(mask, scores, -np.inf)
    weights = _softmax(scores)
    return weights @ V, weights


def _softmax(scores):
    """Softmax over the last axis, stable for scores of any size; -inf scores get weight exactly 0."""
    shifted = scores - scores.max(axis=-1, keepdims=True)  # the largest becomes 0: no overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _check_mask(mask, shape):
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(
            f"mask must be boolean, True where a query may attend to a key (torch's attn_mask); got dtype "
            f"{mask.dtype}. Build it with comparisons, e.g. causal_mask(n)"
        )
    try:
        mask = np.broadcast_to(mask, shape)
    except ValueError:
        raise ValueError(
            f"mask must have shape (n_q, n_k) = {shape[-2:]} (or {shape} with the batch); got {mask.shape}"
        ) from None
    if not mask.any(axis=-1).all():
        raise ValueError("every query must be allowed at least one key: a row of the mask is all False")
    return mask


# ------------------------------------------------------------------------------- self-attention
def self_attention_forward(X, Wq, Wk, Wv, causal=False):
    """A self-attention layer: each position's query against every position's key.

    X: (n, D) or (N, n, D); Wq, Wk: (D, d); Wv: (D, d_v); causal: if True, position i attends only
    to positions j <= i.
    Returns out: (n, d_v) or (N, n, d_v), one output per input, and cache =
    (X, Wq, Wk, Wv, causal, Q, K, V, weights) for self_attention_backward.
    """
    X = as_array(X, "X", ndim=(2, 3))
    Wq, Wk, Wv = (as_array(W, name, ndim=2) for W, name in ((Wq, "Wq"), (Wk, "Wk"), (Wv, "Wv")))
    D = X.shape[-1]
    for W, name in ((Wq, "Wq"), (Wk, "Wk"), (Wv, "Wv")):
        if W.shape[0] != D:
            raise ValueError(f"{name} must have one row per feature of X, (D, ...) = ({D}, ...); got {W.shape}")
    if Wq.shape != Wk.shape:
        raise ValueError(f"Wq and Wk must have the same shape (D, d); got {Wq.shape} and {Wk.shape}")
    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    mask = causal_mask(X.shape[-2]) if causal else None
    out, weights = scaled_dot_product_attention(Q, K, V, mask)
    return out, (X, Wq, Wk, Wv, bool(causal), Q, K, V, weights)


def self_attention_backward(dout, cache):
    """Backward pass of self_attention_forward.

    dout: (n, d_v) or (N, n, d_v); cache from self_attention_forward.
    Returns dX: shaped like X, and dWq: (D, d), dWk: (D, d), dWv: (D, d_v), summed over the batch.
    """
    X, Wq, Wk, Wv, _, Q, K, V, A = cache
    dout = as_array(dout, "dout")
    expected = X.shape[:-1] + (Wv.shape[1],)
    if dout.shape != expected:
        raise ValueError(f"dout must have the shape of the layer's output {expected}; got {dout.shape}")
    scale = 1.0 / np.sqrt(Q.shape[-1])
    dV = np.swapaxes(A, -1, -2) @ dout  # out = A V
    dA = dout @ np.swapaxes(V, -1, -2)
    # softmax backward, row by row: dS = A * (dA - sum_j A_j dA_j); masked keys have A = 0
    dS = A * (dA - np.sum(A * dA, axis=-1, keepdims=True)) * scale
    dQ = dS @ K
    dK = np.swapaxes(dS, -1, -2) @ Q
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    Xr = X.reshape(-1, X.shape[-1])  # the batch and the positions together: sums over both
    dWq, dWk, dWv = (Xr.T @ g.reshape(-1, g.shape[-1]) for g in (dQ, dK, dV))
    return dX, dWq, dWk, dWv


# ------------------------------------------------------------------------------------ positions
def sinusoidal_positional_encoding(n_positions, d_model):
    """(n_positions, d_model): PE[p, 2i] = sin(p / 10000**(2i/d_model)), PE[p, 2i+1] the cosine.

    Column pairs (2i, 2i+1) turn at angular frequency 10000**(-2i/d_model): from one radian per
    position (i = 0) down to a wavelength of about 10000 * 2 pi positions. An odd d_model ends on a sine.
    """
    n_positions = check_int(n_positions, "n_positions", 1)
    d_model = check_int(d_model, "d_model", 1)
    p = np.arange(n_positions)[:, None]
    two_i = np.arange(0, d_model, 2)  # 2i for every pair
    angles = p / 10000.0 ** (two_i / d_model)  # (n_positions, ceil(d_model / 2))
    PE = np.empty((n_positions, d_model))
    PE[:, 0::2] = np.sin(angles)
    PE[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return PE


def causal_mask(n):
    """(n, n) bool: True where the key position j is at most the query position i (j <= i)."""
    n = check_int(n, "n", 1)
    return np.tril(np.ones((n, n), dtype=bool))
