"""Known wrong and alternative right implementations of 02_mlp's graded functions.

Each source is a complete definition that uses only `np` and the notebook's other graded functions
(`activation` inside `mlp_forward`, for example), as a student's cell would.
"""

from . import Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]

ENTRIES = [
    # ------------------------------------------------------------------------------ activation
    Wrong(
        "activation",
        "logistic as 1 / (1 + exp(-r)): overflows for r = -1e4",
        """\
def activation(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        return 1.0 / (1.0 + np.exp(-r))
    if name == "tanh":
        return np.tanh(r)
    if name == "gaussian":
        return np.exp(-r**2 / 2)
    if name == "relu":
        return np.maximum(r, 0.0)
    if name == "linear":
        return r
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your logistic 1/(1 + exp(-r)) overflows for large negative r; compute exp only of non-positive numbers.",
    ),
    Wrong(
        "activation",
        "tanh from its definition (e^r - e^-r) / (e^r + e^-r): overflows for |r| = 800",
        """\
def activation(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        e = np.exp(-np.abs(r))
        return np.where(r >= 0, 1 / (1 + e), e / (1 + e))
    if name == "tanh":
        return (np.exp(r) - np.exp(-r)) / (np.exp(r) + np.exp(-r))
    if name == "gaussian":
        return np.exp(-r**2 / 2)
    if name == "relu":
        return np.maximum(r, 0.0)
    if name == "linear":
        return r
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="tanh written from its definition overflows for large |r|; use np.tanh.",
    ),
    Wrong(
        "activation",
        "gaussian as exp(-r**2), without the lecture's 1/2",
        """\
def activation(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        e = np.exp(-np.abs(r))
        return np.where(r >= 0, 1 / (1 + e), e / (1 + e))
    if name == "tanh":
        return np.tanh(r)
    if name == "gaussian":
        return np.exp(-r**2)
    if name == "relu":
        return np.maximum(r, 0.0)
    if name == "linear":
        return r
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your gaussian is exp(-r^2); the lecture's is exp(-r^2 / 2).",
    ),
    Wrong(
        "activation",
        "relu as the absolute value",
        """\
def activation(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        e = np.exp(-np.abs(r))
        return np.where(r >= 0, 1 / (1 + e), e / (1 + e))
    if name == "tanh":
        return np.tanh(r)
    if name == "gaussian":
        return np.exp(-r**2 / 2)
    if name == "relu":
        return np.abs(r)
    if name == "linear":
        return r
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your relu returns |r|; relu is max(r, 0).",
    ),
    Right(
        "activation",
        "a loop over the entries with math-style formulas, as a table of functions",
        """\
def activation(name, r):
    def logistic(v):
        return 1.0 / (1.0 + np.exp(-v)) if v >= 0 else np.exp(v) / (1.0 + np.exp(v))

    table = {
        "logistic": logistic,
        "tanh": np.tanh,
        "gaussian": lambda v: np.exp(-v * v / 2),
        "relu": lambda v: v if v > 0 else 0.0,
        "linear": lambda v: v,
    }
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}; got {name!r}")
    r = np.asarray(r, dtype=float)
    out = np.empty(r.shape)
    for index in np.ndindex(r.shape):
        out[index] = table[name](r[index])
    return out
""",
    ),
    # ------------------------------------------------------------------------- activation_grad
    Wrong(
        "activation_grad",
        "tanh derivative 1 - tanh(r) instead of 1 - tanh(r)**2",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        s = activation("logistic", r)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(r)
    if name == "gaussian":
        return -r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your tanh derivative is 1 - tanh(r); it is 1 - tanh(r)^2.",
    ),
    Wrong(
        "activation_grad",
        "relu derivative 1 at r = 0 (r >= 0)",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        s = activation("logistic", r)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return -r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r >= 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your relu derivative is 1 at r = 0; the course takes it as 0 there (1 only where r > 0).",
    ),
    Wrong(
        "activation_grad",
        "gaussian derivative of exp(-r**2), -2 r exp(-r**2), not the lecture's exp(-r**2 / 2)",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        s = activation("logistic", r)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return -2 * r * np.exp(-r**2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="you differentiated exp(-r^2); the lecture's gaussian is exp(-r^2 / 2), whose derivative is -r exp(-r^2 / 2).",
    ),
    Wrong(
        "activation_grad",
        "gaussian derivative with the wrong sign, r exp(-r**2 / 2)",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        s = activation("logistic", r)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your gaussian derivative has the wrong sign: it is -r exp(-r^2 / 2).",
    ),
    Wrong(
        "activation_grad",
        "logistic derivative s instead of s (1 - s)",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        return activation("logistic", r)
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return -r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="your logistic derivative is s; it is s (1 - s), with s the logistic of r.",
    ),
    Wrong(
        "activation_grad",
        "logistic derivative as exp(-r) / (1 + exp(-r))**2: overflows for r = -1e4",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        return np.exp(-r) / (1 + np.exp(-r)) ** 2
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return -r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return np.ones_like(r)
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="exp(-r) / (1 + exp(-r))^2 overflows for large negative r; write the derivative as s (1 - s) with a stable logistic s.",
    ),
    Wrong(
        "activation_grad",
        "linear derivative returns r itself instead of ones",
        """\
def activation_grad(name, r):
    r = np.asarray(r, dtype=float)
    if name == "logistic":
        s = activation("logistic", r)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(r) ** 2
    if name == "gaussian":
        return -r * np.exp(-r**2 / 2)
    if name == "relu":
        return (r > 0).astype(float)
    if name == "linear":
        return r
    raise ValueError(f"unknown activation {name!r}")
""",
        explain="the linear activation's derivative is 1 everywhere; you return r.",
    ),
    Right(
        "activation_grad",
        "a loop over the entries; the derivatives as exp(-|r|) / (1 + exp(-|r|))**2 and sech(r)**2",
        """\
def activation_grad(name, r):
    def logistic(v):
        e = np.exp(-abs(v))
        return e / (1.0 + e) ** 2

    table = {
        "logistic": logistic,
        "tanh": lambda v: 4 * np.exp(-2 * abs(v)) / (1 + np.exp(-2 * abs(v))) ** 2,  # sech(v)**2
        "gaussian": lambda v: -v * np.exp(-v * v / 2),
        "relu": lambda v: 1.0 if v > 0 else 0.0,
        "linear": lambda v: 1.0,
    }
    if name not in table:
        raise ValueError(f"name must be one of {sorted(table)}; got {name!r}")
    r = np.asarray(r, dtype=float)
    out = np.empty(r.shape)
    for index in np.ndindex(r.shape):
        out[index] = table[name](r[index])
    return out
""",
    ),
    # ------------------------------------------------------------------------ count_parameters
    Wrong(
        "count_parameters",
        "weights only, no biases",
        """\
def count_parameters(layer_sizes):
    sizes = list(layer_sizes)
    return int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))
""",
        explain="you count the weights only; every layer after the input also has one bias per unit.",
    ),
    Wrong(
        "count_parameters",
        "off by one: the last pair of layers is left out",
        """\
def count_parameters(layer_sizes):
    sizes = list(layer_sizes)
    return int(sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 2)))
""",
        explain="you leave out the last pair of layers (the output layer's weights and biases).",
    ),
    Wrong(
        "count_parameters",
        "a bias for every layer, the input layer included",
        """\
def count_parameters(layer_sizes):
    sizes = list(layer_sizes)
    return int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + sum(sizes))
""",
        explain="you give the input layer biases too; only the layers that compute have biases.",
    ),
    Wrong(
        "count_parameters",
        "the bias counted on both sides, (a + 1)(b + 1)",
        """\
def count_parameters(layer_sizes):
    sizes = list(layer_sizes)
    return int(sum((a + 1) * (b + 1) for a, b in zip(sizes[:-1], sizes[1:])))
""",
        explain="you count (a + 1)(b + 1) between layers of a and b units; the bias is on the receiving side only: (a + 1) b.",
    ),
    Right(
        "count_parameters",
        "a loop that counts the entries of zero arrays shaped like W and b",
        """\
def count_parameters(layer_sizes):
    total = 0
    for l in range(len(layer_sizes) - 1):
        W = np.zeros((layer_sizes[l], layer_sizes[l + 1]))
        b = np.zeros(layer_sizes[l + 1])
        total += W.size + b.size
    return total
""",
    ),
    # ----------------------------------------------------------------------------- mlp_forward
    Wrong(
        "mlp_forward",
        "the hidden activation applied to the last layer too, before the output",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for W, b in params:
        R = A @ W + b
        cache.append((A, R))
        A = activation(hidden, R)
    if output == "softmax":
        E = np.exp(A - A.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True), cache
    return activation(output, A), cache
""",
        explain="you apply the hidden activation to the last layer too; the last layer gets the output activation only.",
    ),
    Wrong(
        "mlp_forward",
        "the bias forgotten",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W
        cache.append((A, R))
        if l < len(params) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            E = np.exp(R - R.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        else:
            A = activation(output, R)
    return A, cache
""",
        explain="your layers leave out their biases.",
    ),
    Wrong(
        "mlp_forward",
        "softmax over the wrong axis (each column normalized)",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W + b
        cache.append((A, R))
        if l < len(params) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            E = np.exp(R - R.max(axis=0, keepdims=True))
            A = E / E.sum(axis=0, keepdims=True)
        else:
            A = activation(output, R)
    return A, cache
""",
        explain="your softmax normalizes each column; each row (one example) must sum to 1.",
    ),
    Wrong(
        "mlp_forward",
        "a forgotten transpose: X @ W.T, torch's weight convention",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W.T + b
        cache.append((A, R))
        if l < len(params) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            E = np.exp(R - R.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        else:
            A = activation(output, R)
    return A, cache
""",
        explain="you multiply by W.T (torch's convention); here W has shape (inputs, outputs), so A @ W.",
    ),
    Wrong(
        "mlp_forward",
        "the output activation skipped: the last layer returns its responses R",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W + b
        cache.append((A, R))
        A = activation(hidden, R) if l < len(params) - 1 else R
    return A, cache
""",
        explain="you return the last layer's responses; the output activation must be applied to them.",
    ),
    Wrong(
        "mlp_forward",
        "softmax without subtracting the row maximum: overflows for responses of 1e4",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = np.asarray(X, dtype=float)
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W + b
        cache.append((A, R))
        if l < len(params) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            E = np.exp(R)
            A = E / E.sum(axis=1, keepdims=True)
        else:
            A = activation(output, R)
    return A, cache
""",
        explain="your softmax overflows for large responses; subtract each row's maximum before exp.",
    ),
    Wrong(
        "mlp_forward",
        "the hidden activation also applied to the input X",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    A = activation(hidden, np.asarray(X, dtype=float))
    cache = []
    for l, (W, b) in enumerate(params):
        R = A @ W + b
        cache.append((A, R))
        if l < len(params) - 1:
            A = activation(hidden, R)
        elif output == "softmax":
            E = np.exp(R - R.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        else:
            A = activation(output, R)
    return A, cache
""",
        explain="you apply the activation to the input X too; the inputs go into the first layer as they are.",
    ),
    Right(
        "mlp_forward",
        "one example at a time, with loops over the units",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    X = np.asarray(X, dtype=float)
    N = X.shape[0]
    F = []
    cache = [(np.zeros((N, W.shape[0])), np.zeros((N, W.shape[1]))) for W, b in params]
    for i in range(N):
        a = X[i]
        for l, (W, b) in enumerate(params):
            r = np.array(
                [sum(a[d] * W[d, m] for d in range(W.shape[0])) + b[m] for m in range(W.shape[1])]
            )
            cache[l][0][i], cache[l][1][i] = a, r
            if l < len(params) - 1:
                a = activation(hidden, r)
            elif output == "softmax":
                e = np.exp(r - r.max())
                a = e / e.sum()
            else:
                a = activation(output, r)
        F.append(a)
    return np.array(F), cache
""",
    ),
    Right(
        "mlp_forward",
        "the layers folded with a list of activation names, softmax as exp(R - logsumexp)",
        """\
def mlp_forward(X, params, hidden="tanh", output="softmax"):
    names = [hidden] * (len(params) - 1) + [output]
    A = np.array(X, dtype=float)
    cache = []
    for (W, b), name in zip(params, names):
        R = np.dot(A, W) + b[None, :]
        cache.append((A, R))
        if name == "softmax":
            m = R.max(axis=1, keepdims=True)
            A = np.exp(R - m - np.log(np.exp(R - m).sum(axis=1, keepdims=True)))
        else:
            A = activation(name, R)
    return A, cache
""",
    ),
]
# ------------------------------------------------------------------------------ questions
ENTRIES += [
    Wrong(
        "answer_mnist_parameters", "weights only, no biases", "answer_mnist_parameters = 266200\n"
    ),
    Wrong(
        "answer_mnist_parameters",
        "the first layer alone, 785 x 300",
        "answer_mnist_parameters = 235500\n",
    ),
    Wrong(
        "answer_mnist_parameters",
        "the bias counted on both sides, (a + 1)(b + 1)",
        "answer_mnist_parameters = 267797\n",
    ),
    Wrong(
        "answer_mnist_parameters", "the count as a string", 'answer_mnist_parameters = "266610"\n'
    ),
    Right(
        "answer_mnist_parameters", "the count as a float", "answer_mnist_parameters = 266610.0\n"
    ),
    Right(
        "answer_mnist_parameters",
        "the count as an expression, layer by layer",
        "answer_mnist_parameters = 785 * 300 + 301 * 100 + 101 * 10\n",
    ),
    Wrong(
        "answer_widest_layer",
        "the first layer, as at H = 200 (784 H grows slower than H**2)",
        'answer_widest_layer = "a"\n',
    ),
    Wrong("answer_widest_layer", "the output layer", 'answer_widest_layer = "c"\n'),
    Wrong(
        "answer_widest_layer",
        "the layer's number instead of its letter",
        "answer_widest_layer = 2\n",
    ),
    Right(
        "answer_widest_layer",
        "the letter in capitals, with spaces",
        'answer_widest_layer = " B "\n',
    ),
]
ENTRIES += cheats("activation", "name, r", "    return np.asarray(r, dtype=float)\n", "mlp")
