"""The depth explorer of 05_residual: what depth does to training, with and without a good
initialization, with and without skip connections.

One network on the spiral (`nn273.data.make_2d("spiral")`): `Linear(2, 32)` and a ReLU, then
`depth` hidden layers of width 32, then `Linear(32, 2)`. Plain, each hidden layer is a `Linear`
and a ReLU; residual, the hidden layers come in pairs, each pair a block `h + relu(h W_1 + b_1) W_2
+ b_2`. Two initializations:

- "default": torch's `Linear` default, every weight and bias uniform in +-1/sqrt(fan_in). A ReLU
  layer so drawn shrinks the gradient passing through it (its weights' variance is 1/(3 fan_in),
  a sixth of what keeps the size of a signal through a ReLU);
- "He": He et al. (2015), weights normal with variance 2/fan_in, biases 0: a plain layer keeps the
  signal's (and the gradient's) size on average.

The picture: the norm of the gradient |dJ/dW| of every weight layer at initialization (from the
input layer to the output layer), and the training loss J along `steps` steps of full-batch
gradient descent with momentum, the gradient's norm clipped (the notebook's training, without
weight decay).
The network is small (100 points, width 32) so that a change of setting redraws in well under a
second; the weights are drawn with NumPy from `seed`, the same draw for the same settings.

Two parts, as the course's other explorers. `DepthState` is the model (settings, gradient norms,
losses; no widgets); `DepthExplorer` is a thin ipywidgets view. Never nn273.residual: that module
holds 05_residual's answers, and a student edition for 05 leaves it out.

    >>> state = DepthState(depth=10, init="default", residual=False)
    >>> state.init = "He"                # re-runs: the same depth, He's initialization
    >>> state.residual = True            # the same layers with skips

    >>> DepthExplorer()                  # the widget; where widgets don't render, a PNG
    DepthExplorer: plain, depth 10, default init, 100 steps
"""

import math

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from nn273.data import make_2d
from nn273.explorers.display import EditsItsState, Setting, ShowsItsPicture, figure_png, one_torch_thread
from nn273.validation import check_choice, check_int

__all__ = ["INITS", "DepthExplorer", "DepthState"]

INITS = ("default", "He")
WIDTH = 32
N_POINTS = 100
LR, MOMENTUM, CLIP = 0.02, 0.9, 0.3  # the notebook's training: step size, momentum, gradient norm clip
MAX_DEPTH = 40


class DepthState:
    """A network of `depth` hidden layers on the spiral: its gradient per layer and its training.

    depth: the number of hidden layers, even, 2 to 40 (residual: depth / 2 blocks); init: "default"
    (torch's) or "He"; residual: skips around every pair of hidden layers, or none; steps: training
    steps, 1 to 500; seed: the data's and the weights' seed.

    The settings are properties; assigning one re-runs. An invalid value raises ValueError/TypeError
    and leaves the state as it was. After a run, `grad_norms` is (depth + 2,), |dJ/dW| of every
    weight layer at initialization from the input layer to the output layer, and `losses` is
    (steps + 1,), J before each step and after the last.
    """

    def __init__(self, depth=10, init="default", residual=False, steps=100, seed=0):
        self._depth = _check_depth(depth)
        self._init = check_choice(init, "init", INITS)
        self._residual = _check_bool(residual, "residual")
        self._steps = check_int(steps, "steps", 1, 500, "Use e.g. 100.")
        self._seed = check_int(seed, "seed", 0, 2**63 - 1, "Use e.g. 0.")
        X, y = make_2d("spiral", n=N_POINTS, noise=0.05, seed=self._seed)
        self._X, self._y = torch.from_numpy(X), torch.from_numpy(y)
        self._run()

    # ---- settings ----------------------------------------------------------------------------

    depth = Setting(lambda depth: _check_depth(depth), "_run")
    init = Setting(lambda init: check_choice(init, "init", INITS), "_run")
    residual = Setting(lambda residual: _check_bool(residual, "residual"), "_run")
    steps = Setting(lambda steps: check_int(steps, "steps", 1, 500, "Use e.g. 100."), "_run")

    @property
    def seed(self):
        return self._seed

    # ---- the network and its training --------------------------------------------------------

    def weights(self):
        """Fresh weights [(W, b), ...], W (in, out) float64, from the input layer to the output
        layer: the same for the same seed, depth and init (residual or not)."""
        rng = np.random.default_rng([self._seed, self._depth])
        sizes = [2] + [WIDTH] * (self._depth + 1) + [2]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            if self._init == "default":  # torch.nn.Linear's reset_parameters
                bound = 1.0 / math.sqrt(fan_in)
                W = rng.uniform(-bound, bound, (fan_in, fan_out))
                b = rng.uniform(-bound, bound, fan_out)
            else:  # torch.nn.init.kaiming_normal_(nonlinearity="relu"), biases 0
                W = rng.standard_normal((fan_in, fan_out)) * math.sqrt(2.0 / fan_in)
                b = np.zeros(fan_out)
            layers.append((W, b))
        return layers

    def _forward(self, params, X):
        (W_in, b_in), hidden, (W_out, b_out) = params[0], params[1:-1], params[-1]
        h = torch.relu(X @ W_in + b_in)
        if self._residual:
            for (W1, b1), (W2, b2) in zip(hidden[0::2], hidden[1::2]):
                h = h + torch.relu(h @ W1 + b1) @ W2 + b2
        else:
            for W, b in hidden:
                h = torch.relu(h @ W + b)
        return h @ W_out + b_out

    def _run(self):
        params = [
            torch.tensor(a, requires_grad=True) for pair in self.weights() for a in pair
        ]
        pairs = list(zip(params[0::2], params[1::2]))
        optimizer = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
        losses = []
        with one_torch_thread():
            for step in range(self._steps + 1):
                optimizer.zero_grad()
                J = torch.nn.functional.cross_entropy(self._forward(pairs, self._X), self._y)
                losses.append(J.item())
                if step == self._steps:
                    break
                J.backward()
                if step == 0:
                    self.grad_norms = np.array([W.grad.norm().item() for W, _ in pairs])
                torch.nn.utils.clip_grad_norm_(params, max_norm=CLIP)
                optimizer.step()
        self.losses = np.array(losses)

    # ---- text and picture --------------------------------------------------------------------

    def _name(self):
        kind = "residual" if self._residual else "plain"
        return f"{kind}, depth {self._depth}, {self._init} init"

    def describe(self):
        """The settings in one deterministic line."""
        return f"DepthExplorer: {self._name()}, {self._steps} steps"

    def summary(self):
        """The status line: the gradient's ratio from the input layer to the output layer, and J
        at the start and after training."""
        ratio = self.grad_norms[0] / self.grad_norms[-1]
        return (
            f"{self._name()}: |dJ/dW| input layer / output layer {ratio:.1g} | "
            f"J {self.losses[0]:.2f} at the start, {self.losses[-1]:.2f} after {self._steps} steps"
        )

    def figure(self):
        """A matplotlib Figure, not registered with pyplot: |dJ/dW| per layer at initialization
        (log scale), and J against the step (log scale: He's residual networks start very high)."""
        fig = Figure(figsize=(12.0, 4.2))
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.88, wspace=0.25)
        ax_g, ax_l = fig.subplots(1, 2)
        color = "C1" if self._residual else ("C2" if self._init == "He" else "C0")
        layers = np.arange(1, len(self.grad_norms) + 1)
        ax_g.semilogy(layers, np.maximum(self.grad_norms, 1e-30), "o-", ms=3, color=color)
        ax_g.set_ylim(1e-16, 1e2)
        ax_g.set_xlim(0, MAX_DEPTH + 3)
        ax_g.set_xlabel(f"weight layer (1: the input layer, {len(layers)}: the output layer)")
        ax_g.set_ylabel("|dJ/dW| at initialization")
        ax_g.grid(True, which="major", alpha=0.3)
        ax_g.set_title(self._name(), fontsize="medium")
        ax_l.semilogy(self.losses, color=color)
        ax_l.axhline(math.log(2), color="0.5", ls="--", lw=1, label="guessing: log 2")
        ax_l.set_ylim(1e-2, max(2.0, 1.5 * self.losses.max()))
        ax_l.set_xlim(0, self._steps)
        ax_l.set_xlabel("step")
        ax_l.set_ylabel("training loss J (log scale)")
        ax_l.legend(loc="upper right", fontsize="small")
        ax_l.set_title(f"J = {self.losses[-1]:.2f} after {self._steps} steps", fontsize="medium")
        return fig

    def png(self, dpi=80):
        """The `figure` as PNG bytes (960 x 336 pixels at the default dpi)."""
        return figure_png(self.figure(), dpi)


def _check_depth(depth):
    depth = check_int(depth, "depth", 2, MAX_DEPTH, "Use an even number such as 10.")
    if depth % 2:
        raise ValueError(
            f"depth must be even (a residual block holds two hidden layers); got {depth}. Use e.g. 10."
        )
    return depth


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


# ---- the view ------------------------------------------------------------------------------------


class DepthExplorer(EditsItsState, ShowsItsPicture, widgets.VBox):
    """The depth explorer widget: controls, a status line, the picture.

    The keyword arguments are those of `DepthState`; `self.state` is the state behind it.
    Controls, by their `description`: "depth" (a slider, 2 to 40 in steps of 2), "init" (a
    dropdown: default, He), "residual" (a checkbox). Every change re-runs and redraws. The status
    line is `state.summary()`: "<plain|residual>, depth <L>, <init> init: |dJ/dW| input layer /
    output layer <ratio> | J <J0> at the start, <J> after <n> steps". A refused value is reported in
    red below it and changes nothing.

    Displayed, it shows the live widget where widgets render, and elsewhere (GitHub, nbconvert)
    a PNG of the current picture; its text/plain is `state.describe()`, deterministic for nbval.
    """

    def __init__(self, depth=10, init="default", residual=False, steps=100, seed=0):
        self.state = state = DepthState(depth, init, residual, steps, seed)
        style = {"description_width": "70px"}
        self.controls = {
            "depth": widgets.IntSlider(
                value=state.depth, min=2, max=MAX_DEPTH, step=2, description="depth"
            ),
            "init": widgets.Dropdown(options=list(INITS), value=state.init, description="init"),
            "residual": widgets.Checkbox(value=state.residual, description="residual"),
        }
        for control in self.controls.values():
            control.style = style
            control.layout = widgets.Layout(width="300px")
            control.continuous_update = False
            control.observe(self._on_setting, names="value")
        self.status = widgets.Label()
        self.message = widgets.HTML()  # why the last value was refused; empty when all is well
        self.image = widgets.Image(format="png")
        super().__init__(
            children=[
                widgets.HBox(list(self.controls.values())),
                self.status,
                self.message,
                self.image,
            ]
        )
        self.redraw()
