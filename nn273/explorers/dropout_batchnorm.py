"""Dropout's p and the batch size of 08_regularization: a small network with dropout and batch
normalization learning noisy 2-D data, trained again whenever a slider moves.

The data are 60 points of two overlapping clouds (`data.make_2d("overlapping")`), few enough for a
network of 2 x 64 hidden units to fit every one of them. Each hidden layer is
Linear -> BatchNorm1d -> ReLU -> Dropout(p), trained by Adam on random minibatches of `batch_size`
points for a fixed number of steps. Two settings:

- `p`, the drop probability (torch's, the notebook's contract; the lecture's keep probability is
  1 - p): more dropout, a smoother decision function and a training loss that stays above zero;
- `batch_size`: the batch norm statistics are estimates from that many points, so the smaller the
  batch, the noisier the normalization. The status line measures it: the spread (standard
  deviation over 200 random batches) of the first hidden layer's batch mean mu_B, relative to the
  spread of its units over all the points, shrinking like 1 / sqrt(batch_size).

The curves are measured in evaluation mode (`.eval()`: dropout off, batch norm on its running
statistics), as a network is used after training; training runs in `.train()` mode.
Computed with torch (never nn273.regularization: that module holds 08's answers).

    >>> state = DropoutBatchNormState(p=0.5, batch_size=8)
    >>> state.p = 0.0                    # trains again, from the same initial weights

    >>> DropoutBatchNorm()               # the widget; where widgets don't render, a PNG
    DropoutBatchNorm: p 0.5, batch size 8, 300 steps
"""

import math

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from nn273 import data, plots
from nn273.explorers.display import EditsItsState, Setting, ShowsItsPicture, figure_png, one_torch_thread
from nn273.validation import check_int

__all__ = ["DropoutBatchNorm", "DropoutBatchNormState"]

N_TRAIN, N_VALIDATION, HIDDEN, LR, EVERY = 60, 400, 64, 0.01, 10
NOISE_BATCHES = 200  # random batches over which the spread of the batch mean is measured


class DropoutBatchNormState:
    """The network, its training and what it measures; no widgets.

    p: dropout's drop probability in [0, 0.9]; batch_size: 2 to 60 points per minibatch (batch
    norm cannot normalize a batch of one); steps: 10 to 1000 Adam steps; seed: the data's, the
    initial weights' and the minibatches' seed.

    The settings are properties: assigning one trains again, from the same initial weights and data.
    An invalid value raises ValueError/TypeError and leaves the state as it was. After training:
    `curves` (K, 3), per EVERY steps: step, training loss, validation loss (evaluation mode);
    `validation_accuracy`; `flips`, how often the prediction changes between neighbours of an 80 x 80
    grid (a measure of the decision boundary's length); `batch_noise`, the relative spread of mu_B.
    """

    def __init__(self, p=0.5, batch_size=8, steps=300, seed=0):
        self._p = _check_p(p)
        self._batch_size = _check_batch_size(batch_size)
        self._steps = check_int(steps, "steps", 10, 1000, "Use e.g. 300.")
        self._seed = check_int(seed, "seed", 0)
        self.X, self.y = data.make_2d("overlapping", n=N_TRAIN, noise=0.5, seed=self._seed)
        self.X_val, self.y_val = data.make_2d("overlapping", n=N_VALIDATION, noise=0.5, seed=self._seed + 1)
        self._train()

    # ---- settings ----------------------------------------------------------------------------

    p = Setting(lambda p: _check_p(p), "_train")
    batch_size = Setting(lambda batch_size: _check_batch_size(batch_size), "_train")
    steps = Setting(lambda steps: check_int(steps, "steps", 10, 1000, "Use e.g. 300."), "_train")
    # ---- training ----------------------------------------------------------------------------

    def _network(self):
        torch.manual_seed(self._seed)
        layers, width = [], 2
        for _ in range(2):
            layers += [torch.nn.Linear(width, HIDDEN), torch.nn.BatchNorm1d(HIDDEN), torch.nn.ReLU(),
                       torch.nn.Dropout(self._p)]
            width = HIDDEN
        return torch.nn.Sequential(*layers, torch.nn.Linear(width, 2)).double()

    def _train(self):
        with one_torch_thread():
            self.network = net = self._network()
            X, y = torch.tensor(self.X), torch.tensor(self.y)
            X_val, y_val = torch.tensor(self.X_val), torch.tensor(self.y_val)
            optimizer = torch.optim.Adam(net.parameters(), lr=LR)
            g = np.random.default_rng(self._seed)
            curves = []
            for step in range(1, self._steps + 1):
                net.train()  # dropout draws masks, batch norm uses the batch's statistics
                batch = torch.as_tensor(g.choice(N_TRAIN, self._batch_size, replace=False))
                loss = torch.nn.functional.cross_entropy(net(X[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if step % EVERY == 0 or step == self._steps:
                    net.eval()  # dropout off, batch norm on its running statistics
                    with torch.no_grad():
                        curves.append((step, torch.nn.functional.cross_entropy(net(X), y).item(),
                                       torch.nn.functional.cross_entropy(net(X_val), y_val).item()))
            net.eval()
            self.curves = np.array(curves)
            self.validation_accuracy = float(np.mean(self.predict(self.X_val) == self.y_val))
            self.flips = _flips(self.predict, self.X)
            with torch.no_grad():  # the first hidden layer's response, before its batch norm
                r = net[0](X).numpy()
            means = np.array([r[g.choice(N_TRAIN, self._batch_size, replace=False)].mean(axis=0)
                              for _ in range(NOISE_BATCHES)])
            self.batch_noise = float(np.mean(means.std(axis=0) / r.std(axis=0)))

    def predict(self, points):
        """Class labels (M,) of points (M, 2), by the trained network in evaluation mode."""
        with one_torch_thread(), torch.no_grad():
            return self.network(torch.tensor(np.asarray(points, dtype=float))).argmax(axis=1).numpy()

    # ---- text and picture --------------------------------------------------------------------

    def describe(self):
        """The settings in one deterministic line."""
        return f"DropoutBatchNorm: p {self._p:g}, batch size {self._batch_size}, {self._steps} steps"

    def summary(self):
        """The status line: the final losses, the validation accuracy, the boundary's flips and
        the noise of the batch mean."""
        _, J_train, J_val = self.curves[-1]
        return (f"p {self._p:g}, batch size {self._batch_size}: training loss {J_train:.2f}, "
                f"validation loss {J_val:.2f}, validation accuracy {self.validation_accuracy:.2f} | "
                f"boundary flips {self.flips} | batch mean noise {self.batch_noise:.2f}")

    def figure(self):
        """A matplotlib Figure, not registered with pyplot: the loss curves and the decision regions."""
        fig = Figure(figsize=(12.0, 4.2))
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.9, wspace=0.25)
        ax_c, ax_r = fig.subplots(1, 2)
        ax_c.plot(self.curves[:, 0], self.curves[:, 1], "C0--", label="training points")
        ax_c.plot(self.curves[:, 0], self.curves[:, 2], "C3", label="validation points")
        ax_c.set_xlabel("step")
        ax_c.set_ylabel("loss J, evaluation mode")
        ax_c.set_ylim(0, max(1.5, 1.05 * np.nanmax(self.curves[:, 1:])))
        ax_c.legend(fontsize="small")
        ax_c.set_title(f"dropout p = {self._p:g}, minibatches of {self._batch_size}", fontsize="medium")
        plots.plot_decision_regions(self.predict, self.X, self.y, ax=ax_r, resolution=80)
        ax_r.set_title(f"decision regions: {self.flips} flips on the grid, "
                       f"validation accuracy {self.validation_accuracy:.2f}", fontsize="medium")
        return fig

    def png(self, dpi=80):
        """The `figure` as PNG bytes (960 x 336 pixels at the default dpi)."""
        return figure_png(self.figure(), dpi)


def _flips(predict, X, resolution=80, margin=0.5):
    """How often the predicted class changes between neighbouring points of a grid over X."""
    x1 = np.linspace(X[:, 0].min() - margin, X[:, 0].max() + margin, resolution)
    x2 = np.linspace(X[:, 1].min() - margin, X[:, 1].max() + margin, resolution)
    G1, G2 = np.meshgrid(x1, x2)
    Z = predict(np.column_stack([G1.ravel(), G2.ravel()])).reshape(G1.shape)
    return int((Z[:, 1:] != Z[:, :-1]).sum() + (Z[1:, :] != Z[:-1, :]).sum())


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"p must be a number; got {type(p).__name__} {p!r}")
    if not (math.isfinite(p) and 0 <= p <= 0.9):
        raise ValueError(f"p, dropout's drop probability, must be in [0, 0.9]; got {p!r}. Use e.g. 0.5.")
    return float(p)


def _check_batch_size(batch_size):
    return check_int(batch_size, "batch_size", 2, N_TRAIN,
                     "Batch norm needs 2 points or more to normalize, and there are 60.")


# ---- the view ------------------------------------------------------------------------------------


class DropoutBatchNorm(EditsItsState, ShowsItsPicture, widgets.VBox):
    """The widget: sliders for p and the batch size, a status line, the picture.

    The keyword arguments are those of `DropoutBatchNormState`; `self.state` is the state behind it.
    Controls, by their `description`: "p" (0 to 0.9), "batch size" (2 to 60). Every change trains
    again and redraws. The status line is `state.summary()`:
    "p <p>, batch size <b>: training loss <J>, validation loss <J>, ... | batch mean noise <s>".
    A refused value is reported in red below it and changes nothing.
    """

    def __init__(self, p=0.5, batch_size=8, steps=300, seed=0):
        self.state = state = DropoutBatchNormState(p, batch_size, steps, seed)
        style = {"description_width": "70px"}
        layout = widgets.Layout(width="360px")
        self.controls = {
            "p": widgets.FloatSlider(value=state.p, min=0.0, max=0.9, step=0.05, description="p"),
            "batch_size": widgets.IntSlider(value=state.batch_size, min=2, max=N_TRAIN, step=1,
                                            description="batch size"),
        }
        for control in self.controls.values():
            control.style, control.layout = style, layout
            control.continuous_update = False
            control.observe(self._on_setting, names="value")
        self.status = widgets.Label()
        self.message = widgets.HTML()  # why the last value was refused; empty when all is well
        self.image = widgets.Image(format="png")
        super().__init__(children=[widgets.HBox(list(self.controls.values())), self.status, self.message,
                                   self.image])
        self.redraw()
