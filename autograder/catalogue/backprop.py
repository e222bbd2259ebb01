"""Known wrong and alternative right implementations of 03_backprop's graded functions.

Each source is a complete definition run in the notebook's kernel, where `np` is numpy, `torch` is
torch, `activation`, `activation_grad` and `mlp_forward` come from nn273.mlp (02_mlp), `sigmoid` and
`softmax` from nn273.linear (01_linear), and the other graded functions (linear_forward,
linear_backward, mse_loss, ...) are the solution's.
"""

from . import Evasion, Right, Wrong
from .cheats import cheats

__all__ = ["ENTRIES"]


def _variant(source, old, new):
    """`source` with one change; the change must apply, or the entry would silently be the solution."""
    if old not in source:
        raise ValueError(f"catalogue variant: {old!r} is not in the source")
    return source.replace(old, new)


# The solution's mlp_loss_and_grads and torch_loss_and_grads; most wrong entries change one line of them.
_MLP = """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    if loss == "nll" and output == "linear":
        raise ValueError("loss 'nll' needs an output that gives probabilities (logistic or softmax); "
                         "use loss 'mse' with a linear output")
    F, cache = mlp_forward(X, params, hidden, output)
    R = cache[-1][1]
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        y = np.asarray(Y, dtype=int)
        m = R.max(axis=1, keepdims=True)
        logp = R - m - np.log(np.sum(np.exp(R - m), axis=1, keepdims=True))
        J = -np.mean(logp[np.arange(N), y])
        dR = np.exp(logp)
        dR[np.arange(N), y] -= 1
        dR = dR / N
    elif loss == "nll":
        Y = np.asarray(Y, dtype=float)
        J = np.sum(np.logaddexp(0, R) - Y * R) / N
        dR = (sigmoid(R) - Y) / N
    else:
        J, dF = mse_loss(F, Y)
        if output == "linear":
            dR = dF
        elif output == "logistic":
            dR = dF * F * (1 - F)
        else:
            dR = F * (dF - np.sum(dF * F, axis=1, keepdims=True))
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        A, _ = cache[l]
        W, b = params[l]
        dA, dW, db = linear_backward(dR, (A, W, b))
        grads[l] = (dW, db)
        if l > 0:
            dR = dA * activation_grad(hidden, cache[l - 1][1])
    return float(J), grads
"""

_TORCH = """\
def torch_loss_and_grads(X, Y, params, hidden, output, loss):
    fns = {"logistic": torch.sigmoid, "tanh": torch.tanh, "gaussian": lambda r: torch.exp(-r**2 / 2),
           "relu": torch.relu, "linear": lambda r: r}
    dtype = torch.float64
    leaves = [(torch.tensor(W, dtype=dtype, requires_grad=True), torch.tensor(b, dtype=dtype, requires_grad=True))
              for W, b in params]
    A = torch.tensor(X, dtype=dtype)
    for l, (W, b) in enumerate(leaves):
        R = A @ W + b
        if l < len(leaves) - 1:
            A = fns[hidden](R)
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        J = torch.nn.functional.cross_entropy(R, torch.tensor(Y, dtype=torch.long))
    elif loss == "nll":
        J = torch.nn.functional.binary_cross_entropy_with_logits(R, torch.tensor(Y, dtype=dtype), reduction="sum") / N
    else:
        F = R if output == "linear" else torch.sigmoid(R) if output == "logistic" else torch.softmax(R, dim=1)
        J = torch.sum((torch.tensor(Y, dtype=dtype) - F) ** 2) / N
    J.backward()
    return J.item(), [(W.grad.numpy(), b.grad.numpy()) for W, b in leaves]
"""

ENTRIES = [
    # -------------------------------------------------------------------- numerical_gradient
    Wrong("numerical_gradient", "forward differences (f(x + h) - f(x)) / h", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - f0) / h
        x[i] = old
    return grad
""", explain="you take forward differences, (f(x + h) - f(x)) / h; central differences, (f(x + h) - f(x - h)) / 2h, are far more accurate."),
    Wrong("numerical_gradient", "perturbs the caller's x (np.asarray, no copy) and never restores it", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
"""),
    Wrong("numerical_gradient", "works on a copy but never puts x[i] back: later partials are taken at a shifted point", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
""", explain="you never put x[i] back after perturbing it, so every later partial derivative is taken at a shifted point."),
    Wrong("numerical_gradient", "divides by h instead of 2h", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / h
    return grad
""", explain="you divide by h; the two points of a central difference are 2h apart."),
    Wrong("numerical_gradient", "h ignored: a fixed step of 1e-5", """\
def numerical_gradient(f, x, h=1e-5):
    step = 1e-5
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + step
        f_plus = f(x)
        x[i] = old - step
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * step)
    return grad
""", explain="you ignore the step h you are given and use a fixed step."),
    Wrong("numerical_gradient", "x.copy() keeps an integer x integer: the steps are truncated away", """\
def numerical_gradient(f, x, h=1e-5):
    x = x.copy()
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
""", explain="for an integer x your copy stays integer, so x[i] + h is truncated back and the steps vanish; copy x as floats."),
    Wrong("numerical_gradient", "perturbs x.ravel(), a copy when x is not contiguous", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    grad = np.zeros(flat.shape)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x)
        flat[i] = old - h
        f_minus = f(x)
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)
"""),
    Right("numerical_gradient", "a step vector per flat index, f evaluated at x +- step", """\
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    grad = np.zeros(x.size)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad.reshape(x.shape)
"""),
    Right("numerical_gradient", "works on x in place and restores each entry exactly", """\
def numerical_gradient(f, x, h=1e-5):
    work = np.array(x, dtype=float, order="C")
    flat = work.reshape(-1)
    grad = np.empty_like(flat)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f(work)
        flat[i] = saved - h
        down = f(work)
        flat[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(work.shape)
"""),
    # ------------------------------------------------------------------------ linear_forward
    Wrong("linear_forward", "a transpose: X @ W.T + b", """\
def linear_forward(X, W, b):
    return X @ W.T + b, (X, W, b)
""", explain="you multiply by W.T; here W has shape (D, M), so out = X W + b."),
    Wrong("linear_forward", "bias forgotten", """\
def linear_forward(X, W, b):
    return X @ W, (X, W, b)
""", explain="your out leaves out the bias b."),
    Wrong("linear_forward", "returns only out, no cache", """\
def linear_forward(X, W, b):
    return X @ W + b
""", explain="you return only out; a forward pass returns the pair (out, cache)."),
    Right("linear_forward", "loops over examples and outputs", """\
def linear_forward(X, W, b):
    X, W, b = (np.asarray(v, dtype=float) for v in (X, W, b))
    out = np.zeros((X.shape[0], W.shape[1]))
    for i in range(X.shape[0]):
        for m in range(W.shape[1]):
            out[i, m] = b[m] + sum(X[i, d] * W[d, m] for d in range(X.shape[1]))
    return out, (X, W, b)
"""),
    Right("linear_forward", "np.einsum", """\
def linear_forward(X, W, b):
    X = np.asarray(X, dtype=float)
    return np.einsum("nd,dm->nm", X, W) + b, (X, W, b)
"""),
    # ----------------------------------------------------------------------- linear_backward
    Wrong("linear_backward", "dW transposed: dout.T @ X", """\
def linear_backward(dout, cache):
    X, W, b = cache
    return dout @ W.T, dout.T @ X, dout.sum(axis=0)
""", explain="your dW equals dout.T @ X: the transpose of the right answer (dW has W's shape, (D, M))."),
    Wrong("linear_backward", "db summed over the wrong axis (axis 1)", """\
def linear_backward(dout, cache):
    X, W, b = cache
    return dout @ W.T, X.T @ dout, dout.sum(axis=1)
""", explain="your db sums dout over the wrong axis; b is shared by the examples, so sum over them (axis 0)."),
    Wrong("linear_backward", "dX without the transpose: dout @ W", """\
def linear_backward(dout, cache):
    X, W, b = cache
    return dout @ W, X.T @ dout, dout.sum(axis=0)
""", explain="your dX is missing a transpose of W: dX has X's shape, (N, D)."),
    Wrong("linear_backward", "db the mean over examples instead of the sum", """\
def linear_backward(dout, cache):
    X, W, b = cache
    return dout @ W.T, X.T @ dout, dout.mean(axis=0)
""", explain="your db is the mean of dout over the examples; b is used once per example, so its gradient is their sum."),
    Right("linear_backward", "one outer product per example, accumulated", """\
def linear_backward(dout, cache):
    X, W, b = cache
    dX = np.zeros(X.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(W.shape[1])
    for i in range(X.shape[0]):
        dX[i] = W @ dout[i]
        dW += np.outer(X[i], dout[i])
        db += dout[i]
    return dX, dW, db
"""),
    # ------------------------------------------------------------------------------ mse_loss
    Wrong("mse_loss", "no factor 2 in dF", """\
def mse_loss(F, Y):
    N = F.shape[0]
    return float(np.sum((Y - F) ** 2) / N), (F - Y) / N
""", explain="your dF lacks the factor 2 from differentiating the square."),
    Wrong("mse_loss", "a mean over all N*K elements", """\
def mse_loss(F, Y):
    return float(np.mean((Y - F) ** 2)), 2 * (F - Y) / F.size
""", explain="you average over all N*K entries; this loss sums over the outputs and averages over the N examples."),
    Wrong("mse_loss", "dF with the wrong sign: 2 (Y - F) / N", """\
def mse_loss(F, Y):
    N = F.shape[0]
    return float(np.sum((Y - F) ** 2) / N), 2 * (Y - F) / N
""", explain="your dF has the wrong sign: it is the derivative with respect to F, 2 (F - Y) / N."),
    Wrong("mse_loss", "dF not divided by N", """\
def mse_loss(F, Y):
    return float(np.sum((Y - F) ** 2) / F.shape[0]), 2 * (F - Y)
""", explain="your dF is not divided by N, as the loss is."),
    Right("mse_loss", "loops, one example at a time", """\
def mse_loss(F, Y):
    F = np.asarray(F, dtype=float)
    Y = np.asarray(Y, dtype=float)
    N, K = F.shape
    J = 0.0
    dF = np.zeros((N, K))
    for i in range(N):
        for k in range(K):
            J += (Y[i, k] - F[i, k]) ** 2 / N
            dF[i, k] = -2 * (Y[i, k] - F[i, k]) / N
    return J, dF
"""),
    Right("mse_loss", "mean over rows of row sums", """\
def mse_loss(F, Y):
    E = np.asarray(Y, dtype=float) - np.asarray(F, dtype=float)
    return np.mean(np.sum(E**2, axis=1)), -2 * E / E.shape[0]
"""),
    # -------------------------------------------------------------------- mlp_loss_and_grads
    Wrong("mlp_loss_and_grads", "hidden activation's derivative forgotten",
          _variant(_MLP, "dR = dA * activation_grad(hidden, cache[l - 1][1])", "dR = dA"), explain="your backward pass leaves out the hidden activation's derivative at each hidden layer."),
    Wrong("mlp_loss_and_grads", "activation_grad at the layer's output A instead of its response R",
          _variant(_MLP, "activation_grad(hidden, cache[l - 1][1])", "activation_grad(hidden, cache[l][0])"), explain="you evaluate the activation's derivative at the layer's output A; it is taken at the layer's response R."),
    Wrong("mlp_loss_and_grads", "grads appended during the backward pass: the layers in reverse order",
          _variant(_variant(_MLP, "grads = [None] * len(params)", "grads = []"),
                   "grads[l] = (dW, db)", "grads.append((dW, db))"), explain="your grads list is in the order the backward pass visits the layers (last first); grads[l] must belong to params[l]."),
    Wrong("mlp_loss_and_grads", "softmax + nll: dR not divided by N", _variant(_MLP, "dR = dR / N", "dR = dR"), explain="your output's gradient is not divided by N, as the mean loss is."),
    Wrong("mlp_loss_and_grads", "logistic output with mse: the output's derivative F (1 - F) forgotten",
          _variant(_MLP, "dR = dF * F * (1 - F)", "dR = dF"), explain="with a logistic output and the squared error, the output's derivative F (1 - F) is missing from your gradient."),
    Wrong("mlp_loss_and_grads", "logistic nll as -(Y log F + (1 - Y) log(1 - F)): log(0) at large logits",
          _variant(_MLP, "J = np.sum(np.logaddexp(0, R) - Y * R) / N",
                   "F = sigmoid(R)\n        J = -np.sum(Y * np.log(F) + (1 - Y) * np.log(1 - F)) / N"), explain="your logistic loss takes log(F) and log(1 - F), which reach log(0) at large responses; write it from the responses with a stable log(1 + exp(.))."),
    Wrong("mlp_loss_and_grads", "nll with a linear output accepted (no ValueError): the logistic nll of the raw responses",
          _variant(_MLP, """    if loss == "nll" and output == "linear":
        raise ValueError("loss 'nll' needs an output that gives probabilities (logistic or softmax); "
                         "use loss 'mse' with a linear output")
""", ""), explain="the nll loss needs a logistic or softmax output; with a linear output it must raise a ValueError."),
    Wrong("mlp_loss_and_grads", "dW from the layer's output (after the activation) instead of its input", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    A = np.asarray(X, dtype=float)
    outs, Rs = [], []
    for l, (W, b) in enumerate(params):
        R = A @ W + b
        A = activation(hidden, R) if l < len(params) - 1 else R
        Rs.append(R)
        outs.append(A)
    N = R.shape[0]
    F = R if output == "linear" else sigmoid(R) if output == "logistic" else softmax(R)
    if loss == "nll" and output == "softmax":
        y = np.asarray(Y, dtype=int)
        J = -np.mean(np.log(F[np.arange(N), y]))
        dR = F.copy()
        dR[np.arange(N), y] -= 1
        dR = dR / N
    elif loss == "nll":
        J = np.sum(np.logaddexp(0, R) - Y * R) / N
        dR = (F - Y) / N
    else:
        J, dF = mse_loss(F, Y)
        dR = dF if output == "linear" else dF * F * (1 - F) if output == "logistic" else F * (dF - np.sum(dF * F, axis=1, keepdims=True))
    grads = [None] * len(params)
    for l in reversed(range(len(params))):
        W, b = params[l]
        grads[l] = (outs[l].T @ dR, dR.sum(axis=0))
        if l > 0:
            dR = (dR @ W.T) * activation_grad(hidden, Rs[l - 1])
    return float(J), grads
""", explain="your dW uses the layer's output (after its activation); it is the layer's input that multiplies W."),
    Wrong("mlp_loss_and_grads", "calls torch_loss_and_grads: autograd instead of backpropagation by hand", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    return torch_loss_and_grads(X, Y, params, hidden, output, loss)
"""),
    # Autograd out of sight of a check made in the student's own kernel (a profile hook sees the
    # calling thread only, and the student can switch it off): graded in a kernel without torch.
    Evasion("mlp_loss_and_grads", "autograd in a thread of its own", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    import threading
    box = {}
    worker = threading.Thread(target=lambda: box.update(result=torch_loss_and_grads(X, Y, params, hidden, output, loss)))
    worker.start()
    worker.join()
    return box["result"]
"""),
    Evasion("mlp_loss_and_grads", "autograd after switching the profile hook off (sys.setprofile(None))", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    import sys
    sys.setprofile(None)
    return torch_loss_and_grads(X, Y, params, hidden, output, loss)
"""),
    Right("mlp_loss_and_grads", "mlp_forward's cache (A, R) per layer, then a backward loop", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    if loss == "nll" and output == "linear":
        raise ValueError("loss 'nll' needs a logistic or softmax output")
    F, cache = mlp_forward(X, params, hidden, output)
    R = cache[-1][1]
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        y = np.asarray(Y).astype(int)
        top = R.max(axis=1)
        lse = top + np.log(np.exp(R - top[:, None]).sum(axis=1))
        J = np.mean(lse - R[np.arange(N), y])
        dR = F.copy()
        dR[np.arange(N), y] -= 1
        dR /= N
    elif loss == "nll":
        Y = np.asarray(Y, dtype=float)
        J = np.sum(np.maximum(R, 0) + np.log1p(np.exp(-np.abs(R))) - Y * R) / N
        dR = (F - Y) / N
    else:
        J, dF = mse_loss(F, Y)
        if output == "softmax":
            dR = F * dF - F * np.sum(F * dF, axis=1, keepdims=True)
        elif output == "logistic":
            dR = F * (1 - F) * dF
        else:
            dR = dF
    grads = []
    for l in range(len(params) - 1, -1, -1):
        A, R = cache[l]
        W, b = params[l]
        grads.insert(0, (A.T @ dR, dR.sum(axis=0)))
        if l > 0:
            dR = (dR @ W.T) * activation_grad(hidden, cache[l - 1][1])
    return J, grads
"""),
    Right("mlp_loss_and_grads", "backpropagation one example at a time, gradients summed", """\
def mlp_loss_and_grads(X, Y, params, hidden, output, loss):
    if (output, loss) == ("linear", "nll"):
        raise ValueError(f"loss {loss!r} takes the log of probabilities; output {output!r} gives none")
    X = np.asarray(X, dtype=float)
    N = X.shape[0]
    J = 0.0
    grads = [(np.zeros(np.shape(W)), np.zeros(np.shape(b))) for W, b in params]
    for i in range(N):
        a = X[i]
        inputs, responses = [], []
        for l, (W, b) in enumerate(params):
            inputs.append(a)
            r = a @ W + b
            responses.append(r)
            a = activation(hidden, r) if l < len(params) - 1 else r
        r = responses[-1]
        if loss == "nll" and output == "softmax":
            k = int(Y[i])
            p = softmax(r[None, :])[0]
            J += (np.logaddexp.reduce(r) - r[k]) / N
            dr = p.copy()
            dr[k] -= 1
        elif loss == "nll":
            J += np.sum(np.logaddexp(0, r) - Y[i] * r) / N
            dr = sigmoid(r) - Y[i]
        else:
            f = r if output == "linear" else sigmoid(r) if output == "logistic" else softmax(r[None, :])[0]
            J += np.sum((Y[i] - f) ** 2) / N
            df = 2 * (f - Y[i])
            if output == "linear":
                dr = df
            elif output == "logistic":
                dr = df * f * (1 - f)
            else:
                dr = f * (df - f @ df)
        dr = dr / N
        for l in range(len(params) - 1, -1, -1):
            dW, db = grads[l]
            dW += np.outer(inputs[l], dr)
            db += dr
            if l > 0:
                dr = (params[l][0] @ dr) * activation_grad(hidden, responses[l - 1])
    return J, grads
"""),
    # ------------------------------------------------------------------ torch_loss_and_grads
    Wrong("torch_loss_and_grads", "hand-written backprop instead of autograd (right numbers, wrong exercise)", """\
def torch_loss_and_grads(X, Y, params, hidden, output, loss):
    return mlp_loss_and_grads(X, Y, params, hidden, output, loss)
"""),
    Wrong("torch_loss_and_grads", "float32 tensors",
          _variant(_TORCH, "dtype = torch.float64", "dtype = torch.float32"), explain="you compute in float32; make the tensors float64 for gradients as exact as the NumPy ones."),
    Wrong("torch_loss_and_grads", "torch.nn.functional.mse_loss: a mean over all N*K elements",
          _variant(_TORCH, "J = torch.sum((torch.tensor(Y, dtype=dtype) - F) ** 2) / N",
                         "J = torch.nn.functional.mse_loss(F, torch.tensor(Y, dtype=dtype))"), explain="torch's mse_loss averages over all N*K entries; this loss sums over the outputs and averages over the N examples."),
    Wrong("torch_loss_and_grads", "cross_entropy of the softmax probabilities (softmax applied twice)",
          _variant(_TORCH, "torch.nn.functional.cross_entropy(R,", "torch.nn.functional.cross_entropy(torch.softmax(R, dim=1),"), explain="cross_entropy applies the softmax itself: you gave it probabilities, so the softmax is applied twice. Give it the responses."),
    Wrong("torch_loss_and_grads", "hidden layers through the NumPy activation (.detach().numpy() cuts the graph)",
          _variant(_TORCH, "A = fns[hidden](R)", "A = torch.tensor(activation(hidden, R.detach().numpy()))")),
    Right("torch_loss_and_grads", "torch.autograd.grad and log_softmax written out", """\
def torch_loss_and_grads(X, Y, params, hidden, output, loss):
    leaves = []
    for W, b in params:
        leaves += [torch.tensor(W, dtype=torch.float64, requires_grad=True),
                   torch.tensor(b, dtype=torch.float64, requires_grad=True)]
    A = torch.from_numpy(np.asarray(X, dtype=np.float64))
    for l in range(len(params)):
        R = A @ leaves[2 * l] + leaves[2 * l + 1]
        if hidden == "logistic":
            A = 1 / (1 + torch.exp(-R))
        elif hidden == "tanh":
            A = torch.tanh(R)
        elif hidden == "gaussian":
            A = torch.exp(-R * R / 2)
        elif hidden == "relu":
            A = torch.where(R > 0, R, torch.zeros_like(R))
        else:
            A = R
    N = R.shape[0]
    if loss == "nll" and output == "softmax":
        logp = R - torch.logsumexp(R, dim=1, keepdim=True)
        J = -logp[torch.arange(N), torch.as_tensor(np.asarray(Y), dtype=torch.long)].mean()
    elif loss == "nll":
        T = torch.as_tensor(np.asarray(Y, dtype=np.float64))
        J = (torch.nn.functional.softplus(-R) + (1 - T) * R).sum() / N
    else:
        F = {"linear": R, "logistic": torch.sigmoid(R), "softmax": torch.softmax(R, dim=1)}[output]
        J = ((F - torch.as_tensor(np.asarray(Y, dtype=np.float64))) ** 2).sum(dim=1).mean()
    g = torch.autograd.grad(J, leaves)
    return float(J.detach()), [(g[2 * l].numpy(), g[2 * l + 1].numpy()) for l in range(len(params))]
"""),
]
# ------------------------------------------------------------------------------ questions
ENTRIES += [
    Wrong("answer_backward_cost", "the same as the forward pass: one product, forgetting dW (or dX)",
          'answer_backward_cost = "a"\n'),
    Wrong("answer_backward_cost", "half: dout is given", 'answer_backward_cost = "b"\n'),
    Wrong("answer_backward_cost", "two forward passes per weight, as numerical gradients", 'answer_backward_cost = "d"\n'),
    Wrong("answer_backward_cost", "the answer as a number", "answer_backward_cost = 2\n"),
    Right("answer_backward_cost", "the letter in capitals, with spaces", 'answer_backward_cost = " C "\n'),
    Wrong("answer_cache_size", "X left out: only the hidden layer and the output", "answer_cache_size = 3450\n"),
    Wrong("answer_cache_size", "only the responses R, not the inputs A", "answer_cache_size = 1950\n"),
    Wrong("answer_cache_size", "the network's parameters instead of the cache", "answer_cache_size = 63\n"),
    Wrong("answer_cache_size", "one example instead of 150", "answer_cache_size = 25\n"),
    Wrong("answer_cache_size", "the count as a string", 'answer_cache_size = "3750"\n'),
    Right("answer_cache_size", "the count as a float", "answer_cache_size = 3750.0\n"),
]
ENTRIES += cheats('mse_loss', 'F, Y', '    return 0.0, np.zeros(np.shape(F))\n', 'backprop')

