"""The optimizer race of 07_sgd: SGD, momentum and Adam side by side on a 2-D loss surface.

In the spirit of Distill's "Why Momentum Really Works" (Goh, 2017): two weights (w1, w2), a loss
J(w1, w2) drawn as contours, and the path each optimizer takes from one start, step by step.

- "quadratic": an ill-conditioned bowl, J = (w1**2 + 100 w2**2) / 2. Its curvature is 100 times
  larger across the valley than along it: a step size small enough not to bounce across the valley
  (below 2/100) crawls along it; momentum builds up speed along the valley's floor, and Adam scales
  each weight's step by its own gradient history.
- "rosenbrock": Rosenbrock's curved valley, J = (1 - w1)**2 + 100 (w2 - w1**2)**2, minimum at (1, 1).

The gradient may carry noise, as a minibatch's gradient does: `noise` is the standard deviation of
Gaussian noise added to each of its components, the same draws for the three optimizers.

Each optimizer has its own step size η (`sgd_lr`, `momentum_lr`, `adam_lr`): one shared value suits
at most one of them (Adam's step is about η whatever the gradient's size, SGD's is η times it). Each
surface sets all three to defaults near each method's best. Who is lowest is judged by a robust
statistic, the mean of J over the last `LAST` steps, not by the last step of a path that may
oscillate. The optimizers follow torch.optim's SGD, SGD(momentum=...) and Adam (betas (0.9, 0.999)) exactly,
written out here in NumPy float64 (tests/test_optimizer_race.py checks them against torch.optim):
two weights need no autograd, and a race takes milliseconds. Never nn273.sgd: that module holds
07_sgd's answers, and a student edition for 07 leaves it out.

Two parts, as the course's other explorers. `OptimizerRaceState` is the model (settings, paths,
losses; no widgets, so it can be tested and scripted); `OptimizerRace` is a thin ipywidgets view.

    >>> state = OptimizerRaceState("quadratic", momentum=0.9, steps=100)
    >>> state.lrs
    {'SGD': 0.015, 'momentum': 0.01, 'Adam': 0.2}
    >>> state.leader()
    'Adam'
    >>> state.adam_lr = 0.01             # Adam at SGD's step size crawls
    >>> state.leader()
    'momentum'
    >>> state.surface = "rosenbrock"      # the step sizes become the surface's own defaults

    >>> OptimizerRace()                  # the widget; where widgets don't render, a PNG
    OptimizerRace: quadratic, lr SGD 0.015 / momentum 0.01 / Adam 0.2, momentum 0.9, noise 0, 100 steps
"""

import math

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from nn273.validation import check_choice, check_int
from nn273.explorers.display import EditsItsState, Setting, ShowsItsPicture, figure_png

__all__ = ["LAST", "OPTIMIZERS", "SURFACES", "OptimizerRace", "OptimizerRaceState", "loss_surface"]

OPTIMIZERS = ("SGD", "momentum", "Adam")
COLORS = {"SGD": "C0", "momentum": "C1", "Adam": "C2"}
LR_NAMES = {"SGD": "sgd_lr", "momentum": "momentum_lr", "Adam": "adam_lr"}  # optimizer: its setting
SURFACES = {
    # name: (start, minimum, default step sizes, view (w1 min, w1 max, w2 min, w2 max)). The step
    # sizes are near each method's best over 100 steps without noise (a scan over 1e-4 to 2):
    # on the bowl SGD's is just below 2/100, where it would bounce across the valley and diverge.
    "quadratic": (
        (-4.5, 1.2), (0.0, 0.0), {"SGD": 0.015, "momentum": 0.01, "Adam": 0.2}, (-5.0, 2.0, -2.0, 2.0)
    ),
    "rosenbrock": (
        (-1.5, 2.0), (1.0, 1.0), {"SGD": 0.002, "momentum": 0.002, "Adam": 1.0}, (-2.0, 2.0, -1.0, 3.0)
    ),
}
LAST = 10  # who is lowest: the mean of J over the last LAST steps (all of them if fewer)
DIVERGED = 1e6  # a path whose weights leave |w| < DIVERGED has diverged: it stops there


def loss_surface(name, w1, w2):
    """J of the surface `name` at (w1, w2): arrays of one shape, or torch tensors."""
    check_choice(name, "surface", tuple(SURFACES))
    if name == "quadratic":
        return (w1**2 + 100.0 * w2**2) / 2.0
    return (1.0 - w1) ** 2 + 100.0 * (w2 - w1**2) ** 2


def _gradient(name, w):
    """dJ/dw of the surface `name` at w = (w1, w2)."""
    w1, w2 = w
    if name == "quadratic":
        return np.array([w1, 100.0 * w2])
    return np.array([-2.0 * (1.0 - w1) - 400.0 * w1 * (w2 - w1**2), 200.0 * (w2 - w1**2)])


class OptimizerRaceState:
    """The race: settings, each optimizer's path and losses; no widgets.

    surface: a name of `SURFACES`; sgd_lr, momentum_lr, adam_lr: each optimizer's step size η, torch's
    `lr` (None: the surface's default); momentum: SGD-with-momentum's coefficient μ in [0, 1);
    noise: the standard deviation of the gradient's noise, >= 0; steps: 1 to 1000; seed: the noise's
    seed.

    The settings are properties; assigning one re-runs the race. An invalid value raises
    ValueError/TypeError and leaves the state as it was. Setting `surface` also sets the three step
    sizes to the surface's defaults. `paths[name]` is (steps + 1, 2), the weights from the start on (shorter if
    the path diverged), `losses[name]` J along it.
    """

    def __init__(
        self,
        surface="quadratic",
        sgd_lr=None,
        momentum_lr=None,
        adam_lr=None,
        momentum=0.9,
        noise=0.0,
        steps=100,
        seed=0,
    ):
        check_choice(surface, "surface", tuple(SURFACES))
        self._surface = surface
        given = {"SGD": sgd_lr, "momentum": momentum_lr, "Adam": adam_lr}
        self._lrs = {
            n: _check_lr(SURFACES[surface][2][n] if lr is None else lr, LR_NAMES[n])
            for n, lr in given.items()
        }
        self._momentum = _check_momentum(momentum)
        self._noise = _check_noise(noise)
        self._steps = check_int(steps, "steps", 1, 1000, "Use e.g. 100.")
        self._seed = check_int(seed, "seed", 0)
        self._run()

    # ---- settings ----------------------------------------------------------------------------

    @property
    def surface(self):
        return self._surface

    @surface.setter
    def surface(self, name):
        check_choice(name, "surface", tuple(SURFACES))
        self._surface, self._lrs = name, dict(SURFACES[name][2])
        self._run()

    @property
    def lrs(self):
        """{optimizer: its step size η}, a copy."""
        return dict(self._lrs)

    def _set_lr(self, name, lr):
        self._lrs[name] = _check_lr(lr, LR_NAMES[name])
        self._run()

    sgd_lr = property(lambda self: self._lrs["SGD"], lambda self, lr: self._set_lr("SGD", lr))
    momentum_lr = property(
        lambda self: self._lrs["momentum"], lambda self, lr: self._set_lr("momentum", lr)
    )
    adam_lr = property(lambda self: self._lrs["Adam"], lambda self, lr: self._set_lr("Adam", lr))

    momentum = Setting(lambda momentum: _check_momentum(momentum), "_run")
    noise = Setting(lambda noise: _check_noise(noise), "_run")
    steps = Setting(lambda steps: check_int(steps, "steps", 1, 1000, "Use e.g. 100."), "_run")
    # ---- the race ----------------------------------------------------------------------------

    def _run(self):
        start = np.array(SURFACES[self._surface][0], dtype=float)
        noise = np.random.default_rng(self._seed).standard_normal((self._steps, 2)) * self._noise
        self.paths, self.losses, self.diverged = {}, {}, {}
        mu = self._momentum
        for name in OPTIMIZERS:
            lr = self._lrs[name]
            w, velocity, m, v = start.copy(), np.zeros(2), np.zeros(2), np.zeros(2)
            path, diverged = [w], False
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging path stops quietly
                for k in range(self._steps):
                    dw = _gradient(self._surface, w) + noise[k]
                    if name == "SGD":
                        w = w - lr * dw
                    elif name == "momentum":  # torch.optim.SGD(momentum=mu)
                        velocity = mu * velocity + dw
                        w = w - lr * velocity
                    else:  # torch.optim.Adam, betas (0.9, 0.999), eps 1e-8
                        t = k + 1
                        m = 0.9 * m + 0.1 * dw
                        v = 0.999 * v + 0.001 * dw * dw
                        w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
                    if not np.all(np.isfinite(w)) or np.abs(w).max() > DIVERGED:
                        diverged = True
                        break
                    path.append(w)
            path = np.array(path)
            self.paths[name], self.diverged[name] = path, diverged
            self.losses[name] = loss_surface(self._surface, path[:, 0], path[:, 1])

    def final_losses(self):
        """{optimizer: the mean of J over the last LAST steps} (inf for a path that diverged): where
        a path ends, robust to one lucky or unlucky step of an oscillating path."""
        return {
            n: math.inf if self.diverged[n] else float(np.mean(self.losses[n][-LAST:]))
            for n in OPTIMIZERS
        }

    def leader(self):
        """The optimizer with the lowest `final_losses` (the first of OPTIMIZERS on ties)."""
        final = self.final_losses()
        return min(OPTIMIZERS, key=lambda n: final[n])

    # ---- text and picture --------------------------------------------------------------------

    def describe(self):
        """The settings in one deterministic line."""
        lrs = " / ".join(f"{n} {lr:g}" for n, lr in self._lrs.items())
        return (
            f"OptimizerRace: {self._surface}, lr {lrs}, momentum {self._momentum:g}, "
            f"noise {self._noise:g}, {self._steps} steps"
        )

    def summary(self):
        """The status line: each optimizer's mean J over the last steps (or 'diverged') and the
        leader, at 2 significant digits."""
        final = self.final_losses()
        parts = [f"{n} {'diverged' if self.diverged[n] else f'{final[n]:.2g}'}" for n in OPTIMIZERS]
        return (
            f"{self._surface}, {self._steps} steps, mean J of the last {min(LAST, self._steps + 1)}: "
            + ", ".join(parts)
            + f" | lowest: {self.leader()}"
        )

    def figure(self):
        """A matplotlib Figure, not registered with pyplot: the paths over the surface's contours,
        and J against the step (log scale)."""
        fig = Figure(figsize=(12.0, 4.4))
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.13, top=0.9, wspace=0.22)
        ax_p, ax_l = fig.subplots(1, 2, width_ratios=[1.3, 1])
        start, minimum, _, (x0, x1, y0, y1) = SURFACES[self._surface]
        g1, g2 = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
        J = loss_surface(self._surface, g1, g2) + 1e-3
        levels = np.logspace(np.log10(J.min()), np.log10(J.max()), 18)
        ax_p.contour(g1, g2, J, levels=levels, norm=LogNorm(), cmap="Greys", linewidths=0.7)
        for name in OPTIMIZERS:
            path = self.paths[name]
            ax_p.plot(path[:, 0], path[:, 1], ".-", color=COLORS[name], ms=3, lw=1.2, label=name)
        ax_p.plot(*start, "ko", ms=6, label="start")
        ax_p.plot(*minimum, "k*", ms=12, label="minimum")
        ax_p.set_xlim(x0, x1)
        ax_p.set_ylim(y0, y1)
        ax_p.set_xlabel("$w_1$")
        ax_p.set_ylabel("$w_2$")
        ax_p.legend(loc="upper right", fontsize="small")
        ax_p.set_title(self.describe().removeprefix("OptimizerRace: "), fontsize="medium")
        for name in OPTIMIZERS:
            losses = self.losses[name]
            ax_l.semilogy(
                np.arange(len(losses)),
                losses + 1e-12,
                color=COLORS[name],
                label=name + (" (diverged)" if self.diverged[name] else ""),
            )
        ax_l.set_xlim(0, self._steps)
        ax_l.set_xlabel("step")
        ax_l.set_ylabel("loss J (log scale)")
        ax_l.grid(True, which="major", alpha=0.3)
        ax_l.legend(fontsize="small")
        ax_l.axvspan(max(self._steps + 1 - LAST, 0), self._steps, color="0.9", zorder=0)
        ax_l.set_title(
            f"lowest mean J over the last {min(LAST, self._steps + 1)} steps (grey): {self.leader()}",
            fontsize="medium",
        )
        return fig

    def png(self, dpi=80):
        """The `figure` as PNG bytes (960 x 352 pixels at the default dpi)."""
        return figure_png(self.figure(), dpi)


def _check_lr(lr, name="lr"):
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {type(lr).__name__} {lr!r}")
    if not (math.isfinite(lr) and 0 < lr <= 10):
        raise ValueError(f"{name} must be a number in (0, 10]; got {lr!r}. Use e.g. 0.05.")
    return float(lr)


def _check_momentum(momentum):
    if isinstance(momentum, bool) or not isinstance(
        momentum, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"momentum must be a number; got {type(momentum).__name__} {momentum!r}")
    if not (0 <= momentum < 1):
        raise ValueError(f"momentum must be in [0, 1); got {momentum!r}. Use e.g. 0.9.")
    return float(momentum)


def _check_noise(noise):
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise TypeError(f"noise must be a number; got {type(noise).__name__} {noise!r}")
    if not (math.isfinite(noise) and 0 <= noise <= 100):
        raise ValueError(f"noise must be a number in [0, 100]; got {noise!r}. Use e.g. 1.")
    return float(noise)


# ---- the view ------------------------------------------------------------------------------------


class OptimizerRace(EditsItsState, ShowsItsPicture, widgets.VBox):
    """The optimizer race widget: controls, a status line, the picture.

    The keyword arguments are those of `OptimizerRaceState`; `self.state` is the state behind it.
    Controls, by their `description`: "surface" (a dropdown: quadratic, rosenbrock), "SGD lr",
    "momentum lr", "Adam lr" (each optimizer's step size, a logarithmic slider, 1e-4 to 3),
    "momentum" (μ, 0 to 0.99), "noise" (0 to 10), "steps" (10 to 500). Every change re-runs the race
    and redraws. The status line is `state.summary()`: "<surface>, <n> steps, mean J of the last
    <k>: SGD <J>, momentum <J>, Adam <J> | lowest: <name>".
    A refused value is reported in red below it and changes nothing.

    Displayed, it shows the live widget where widgets render, and elsewhere (GitHub, nbconvert)
    a PNG of the current picture; its text/plain is `state.describe()`, deterministic for nbval.
    """

    def __init__(
        self,
        surface="quadratic",
        sgd_lr=None,
        momentum_lr=None,
        adam_lr=None,
        momentum=0.9,
        noise=0.0,
        steps=100,
        seed=0,
    ):
        self.state = state = OptimizerRaceState(
            surface, sgd_lr, momentum_lr, adam_lr, momentum, noise, steps, seed
        )
        style = {"description_width": "90px"}
        layout = widgets.Layout(width="360px")
        lr_sliders = {
            LR_NAMES[n]: widgets.FloatLogSlider(
                value=state.lrs[n],
                base=10,
                min=-4,
                max=np.log10(3.0),
                step=0.05,
                description=f"{n} lr",
                readout_format=".2g",
            )
            for n in OPTIMIZERS
        }
        self.controls = {
            "surface": widgets.Dropdown(
                options=list(SURFACES), value=state.surface, description="surface"
            ),
            **lr_sliders,
            "momentum": widgets.FloatSlider(
                value=state.momentum, min=0.0, max=0.99, step=0.01, description="momentum"
            ),
            "noise": widgets.FloatSlider(
                value=state.noise, min=0.0, max=10.0, step=0.1, description="noise"
            ),
            "steps": widgets.IntSlider(
                value=state.steps, min=10, max=500, step=10, description="steps"
            ),
        }
        for control in self.controls.values():
            control.style, control.layout = style, layout
            control.continuous_update = False
            control.observe(self._on_setting, names="value")
        self.status = widgets.Label()
        self.message = widgets.HTML()  # why the last value was refused; empty when all is well
        self.image = widgets.Image(format="png")
        super().__init__(
            children=[
                widgets.HBox(
                    [
                        widgets.VBox(list(self.controls.values())[:4]),
                        widgets.VBox(list(self.controls.values())[4:]),
                    ]
                ),
                self.status,
                self.message,
                self.image,
            ]
        )
        self.redraw()
