"""Known wrong and alternative right implementations of 05_residual's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy, `torch` is
torch, and the other graded functions are the solution's, whose cache is that of nn273.residual,
(X, W1, b1, W2, b2, R); the entries read only its first five entries, the block's arguments. The
entries of an `answer_<name>` are values assigned to it, the answers to a question of the notebook.
"""

from . import Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]


def _variant(source, old, new):
    """`source` with one change; the change must apply, or the entry would silently be the right one."""
    if old not in source:
        raise ValueError(f"catalogue variant: {old!r} is not in the source")
    return source.replace(old, new)


_FORWARD = """\
def residual_forward(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in (X, W1, b1, W2, b2))
    R = X @ W1 + b1
    h = np.maximum(R, 0)
    out = X + h @ W2 + b2
    return out, (X, W1, b1, W2, b2)
"""

_BACKWARD = """\
def residual_backward(dout, cache):
    X, W1, b1, W2, b2 = cache[:5]
    R = X @ W1 + b1
    h = np.maximum(R, 0)
    dW2 = h.T @ dout
    db2 = dout.sum(axis=0)
    dR = (dout @ W2.T) * (R > 0)
    dW1 = X.T @ dR
    db1 = dR.sum(axis=0)
    dX = dout + dR @ W1.T
    return dX, dW1, db1, dW2, db2
"""

_BLOCK = """\
class ResidualBlock(torch.nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.linear1 = torch.nn.Linear(width, hidden)
        self.linear2 = torch.nn.Linear(hidden, width)

    def forward(self, x):
        return x + self.linear2(torch.relu(self.linear1(x)))
"""

ENTRIES = [
    # ------------------------------------------------------------------------- residual_forward
    Wrong("residual_forward", "the skip forgotten: a plain two-layer network", _variant(_FORWARD, "out = X + h", "out = h"), explain="you forgot the skip connection: the block's output is X + F(X)."),
    Wrong("residual_forward", "ReLU after the sum: relu(X + F(X))", _variant(
        _FORWARD, "out = X + h @ W2 + b2", "out = np.maximum(X + R.clip(0) @ W2 + b2, 0)"), explain="you apply the ReLU after the sum; in this block the ReLU is inside F, between the two layers."),
    Wrong("residual_forward", "b2 added to the rows of W2: relu(X @ W1 + b1) @ (W2 + b2)",
          _variant(_FORWARD, "h @ W2 + b2", "h @ (W2 + b2)"), explain="you add b2 to W2 before the product; b2 is added after it."),
    Wrong("residual_forward", "no ReLU: a linear block", _variant(_FORWARD, "h = np.maximum(R, 0)", "h = R"), explain="your block has no ReLU between its two layers."),
    Wrong("residual_forward", "b2 forgotten", _variant(_FORWARD, "h @ W2 + b2", "h @ W2"), explain="your second layer leaves out its bias b2."),
    Wrong("residual_forward", "W1 transposed (square blocks only, else it fails on the shapes)",
          _variant(_FORWARD, "R = X @ W1 + b1", "R = X @ (W1.T if W1.shape[0] == W1.shape[1] else W1) + b1"), explain="you multiply by W1.T; W1 has shape (D, H), so X @ W1."),
    Right("residual_forward", "einsum", """\
def residual_forward(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in (X, W1, b1, W2, b2))
    R = np.einsum("nd,dh->nh", X, W1) + b1
    F = np.einsum("nh,hd->nd", np.where(R > 0, R, 0.0), W2) + b2
    return X + F, (X, W1, b1, W2, b2, R)
"""),
    Right("residual_forward", "loops over examples and units", """\
def residual_forward(X, W1, b1, W2, b2):
    X, W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in (X, W1, b1, W2, b2))
    N, D = X.shape
    H = W1.shape[1]
    out = np.zeros((N, D))
    for n in range(N):
        h = [max(0.0, sum(X[n, d] * W1[d, j] for d in range(D)) + b1[j]) for j in range(H)]
        for k in range(D):
            out[n, k] = X[n, k] + sum(h[j] * W2[j, k] for j in range(H)) + b2[k]
    return out, (X, W1, b1, W2, b2)
"""),
    # ------------------------------------------------------------------------ residual_backward
    Wrong("residual_backward", "no identity path: dX only through the block", _variant(_BACKWARD, "dX = dout + dR", "dX = dR"), explain="your dX has no identity path: the skip sends dout straight back to X, added to the gradient through the block."),
    Wrong("residual_backward", "ReLU's derivative 1 at R = 0 (R >= 0)", _variant(_BACKWARD, "(R > 0)", "(R >= 0)"), explain="your ReLU's derivative is 1 where R = 0; the course takes it as 0 there (only R > 0 passes)."),
    Wrong("residual_backward", "the ReLU mask forgotten: dR = dout @ W2.T", _variant(_BACKWARD, " * (R > 0)", ""), explain="you forgot the ReLU's mask: the gradient passes back only where R > 0."),
    Wrong("residual_backward", "dW2 from the hidden responses before the ReLU: R.T @ dout",
          _variant(_BACKWARD, "dW2 = h.T @ dout", "dW2 = R.T @ dout"), explain="your dW2 uses the hidden responses before the ReLU; the second layer's input is after it."),
    Wrong("residual_backward", "db1 and db2 the mean over the examples instead of the sum",
          _variant(_variant(_BACKWARD, "db2 = dout.sum(axis=0)", "db2 = dout.mean(axis=0)"),
                   "db1 = dR.sum(axis=0)", "db1 = dR.mean(axis=0)"), explain="your db1 and db2 average over the examples; the biases' gradients are sums."),
    Wrong("residual_backward", "dX through W1, not W1.T (square blocks only, else it fails on the shapes)",
          _variant(_BACKWARD, "dR @ W1.T", "dR @ (W1 if W1.shape[0] == W1.shape[1] else W1.T)"), explain="your dX goes back through W1; it goes through W1.T."),
    Right("residual_backward", "the recomputed forward and the chain rule written with einsum", """\
def residual_backward(dout, cache):
    X, W1, b1, W2, b2 = cache[:5]
    R = np.einsum("nd,dh->nh", X, W1) + b1
    dR = np.einsum("nd,hd->nh", dout, W2)
    dR[R <= 0] = 0.0
    return (
        dout + np.einsum("nh,dh->nd", dR, W1),
        np.einsum("nd,nh->dh", X, dR),
        dR.sum(axis=0),
        np.einsum("nh,nd->hd", np.maximum(R, 0), dout),
        dout.sum(axis=0),
    )
"""),
    Right("residual_backward", "one example at a time, outer products", """\
def residual_backward(dout, cache):
    X, W1, b1, W2, b2 = cache[:5]
    dX, dW1, db1 = np.zeros(X.shape), np.zeros(W1.shape), np.zeros(b1.shape)
    dW2, db2 = np.zeros(W2.shape), np.zeros(b2.shape)
    for n in range(X.shape[0]):
        r = X[n] @ W1 + b1
        h = np.maximum(r, 0)
        dW2 += np.outer(h, dout[n])
        db2 += dout[n]
        dr = np.where(r > 0, W2 @ dout[n], 0.0)
        dW1 += np.outer(X[n], dr)
        db1 += dr
        dX[n] = dout[n] + W1 @ dr
    return dX, dW1, db1, dW2, db2
"""),
    # ---------------------------------------------------------------------------- ResidualBlock
    Wrong("ResidualBlock", "the skip forgotten", _variant(_BLOCK, "return x + self", "return self")),
    Wrong("ResidualBlock", "ReLU after the sum", _variant(
        _BLOCK, "x + self.linear2(torch.relu(self.linear1(x)))", "torch.relu(x + self.linear2(torch.relu(self.linear1(x))))")),
    Wrong("ResidualBlock", "a ReLU after linear2 too", _variant(
        _BLOCK, "self.linear2(torch.relu(self.linear1(x)))", "torch.relu(self.linear2(torch.relu(self.linear1(x))))")),
    Wrong("ResidualBlock", "hidden ignored: Linear(width, width) twice", _variant(_variant(
        _BLOCK, "Linear(width, hidden)", "Linear(width, width)"), "Linear(hidden, width)", "Linear(width, width)")),
    Wrong("ResidualBlock", "linear2 without a bias", _variant(_BLOCK, "Linear(hidden, width)", "Linear(hidden, width, bias=False)")),
    Wrong("ResidualBlock", "the layers' weights used as (in, out): x @ linear1.weight (fails unless square)", _variant(
        _BLOCK, "self.linear2(torch.relu(self.linear1(x)))",
        "torch.relu(x @ self.linear1.weight + self.linear1.bias) @ self.linear2.weight + self.linear2.bias")),
    Right("ResidualBlock", "the lecture's formula", _BLOCK),
    Right("ResidualBlock", "the layers in a Sequential, linear1 and linear2 named into it", """\
class ResidualBlock(torch.nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.linear1 = torch.nn.Linear(in_features=width, out_features=hidden)
        self.linear2 = torch.nn.Linear(in_features=hidden, out_features=width)
        self.F = torch.nn.Sequential(self.linear1, torch.nn.ReLU(inplace=True), self.linear2)

    def forward(self, x):
        skip = x
        return self.F(x) + skip
"""),
    Right("ResidualBlock", "torch.nn.functional.linear with the layers' weights", """\
class ResidualBlock(torch.nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.linear1 = torch.nn.Linear(width, hidden)
        self.linear2 = torch.nn.Linear(hidden, width)

    def forward(self, x):
        h = torch.nn.functional.relu(torch.nn.functional.linear(x, self.linear1.weight, self.linear1.bias))
        return torch.addmm(self.linear2.bias, h, self.linear2.weight.T) + x
"""),
    # ------------------------------------------------------------------------------- questions
    Wrong("answer_block_parameters", "weights only, no biases: 2 x 64 x 256", "answer_block_parameters = 32768\n"),
    Wrong("answer_block_parameters", "one layer only, 64 x 256 + 256", "answer_block_parameters = 16640\n"),
    Wrong("answer_block_parameters", "both biases of size 256", "answer_block_parameters = 2 * 64 * 256 + 2 * 256\n"),
    Wrong("answer_block_parameters", "the skip counted as a 64 x 64 matrix too",
          "answer_block_parameters = 33088 + 64 * 64\n"),
    Wrong("answer_block_parameters", "the count as a string", 'answer_block_parameters = "33088"\n'),
    Right("answer_block_parameters", "the count as an expression, layer by layer",
          "answer_block_parameters = 64 * 256 + 256 + 256 * 64 + 64\n"),
    Right("answer_block_parameters", "the count as a float", "answer_block_parameters = 33088.0\n"),
    Wrong("answer_zero_block_gradient", "a: all four, as if the zero weights passed a gradient on", 'answer_zero_block_gradient = "a"\n'),
    Wrong("answer_zero_block_gradient", "b: none, as nothing flows through zero weights", 'answer_zero_block_gradient = "b"\n'),
    Wrong("answer_zero_block_gradient", "d: W2 too, forgetting that h = relu(0) = 0", 'answer_zero_block_gradient = "d"\n'),
    Wrong("answer_zero_block_gradient", "the letter's place in the list", "answer_zero_block_gradient = 3\n"),
    Right("answer_zero_block_gradient", "the letter in capitals, with spaces", 'answer_zero_block_gradient = " C"\n'),
]  # fmt: skip
# The six attacks on the grading, on one function as in every assignment (each costs a kernel of its
# own in `check`).
ENTRIES += cheats(
    "residual_forward", "X, W1, b1, W2, b2", "    return np.zeros(1), None\n", "residual"
)
