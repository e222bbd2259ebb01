"""nn273.explorers.optimizer_race: the race's state (paths against the update rules written out, the surfaces'
minima, noise shared by the three optimizers, each optimizer's own step size, the leader by the mean of
the last steps, divergence stopped without a warning, settings refused and left as they were) and its view (controls by their descriptions, the status line, the static
fallback), without a browser."""

import base64
import doctest
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import nn273.explorers.optimizer_race
from nn273.explorers.optimizer_race import (
    LAST,
    OPTIMIZERS,
    SURFACES,
    OptimizerRace,
    OptimizerRaceState,
    loss_surface,
)

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATUS = r"(quadratic|rosenbrock), \d+ steps, mean J of the last \d+: SGD [-0-9.e+a-z]+, momentum [-0-9.e+a-z]+, Adam [-0-9.e+a-z]+ \| lowest: \w+"


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    assert capsys.readouterr() == ("", "")


def _gradient(surface, w):
    w1, w2 = w
    if surface == "quadratic":
        return np.array([w1, 100.0 * w2])
    return np.array([-2 * (1 - w1) - 400 * w1 * (w2 - w1**2), 200 * (w2 - w1**2)])


def _by_hand(surface, lrs, momentum, noise, steps, seed):
    """The three paths with the update rules written out (torch's conventions), each optimizer at
    its own step size lrs[name]."""
    draws = np.random.default_rng(seed).standard_normal((steps, 2)) * noise
    start = np.array(SURFACES[surface][0])
    paths = {}
    w, path = start.copy(), [start.copy()]
    for k in range(steps):
        w = w - lrs["SGD"] * (_gradient(surface, w) + draws[k])
        path.append(w)
    paths["SGD"] = np.array(path)
    w, v, path = start.copy(), np.zeros(2), [start.copy()]
    for k in range(steps):
        v = momentum * v + _gradient(surface, w) + draws[k]
        w = w - lrs["momentum"] * v
        path.append(w)
    paths["momentum"] = np.array(path)
    w, m, s, path = start.copy(), np.zeros(2), np.zeros(2), [start.copy()]
    for t in range(1, steps + 1):
        g = _gradient(surface, w) + draws[t - 1]
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
        w = w - lrs["Adam"] * (m / (1 - 0.9**t)) / (np.sqrt(s / (1 - 0.999**t)) + 1e-8)
        path.append(w)
    paths["Adam"] = np.array(path)
    return paths


def test_doctests():
    result = doctest.testmod(nn273.explorers.optimizer_race, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0


LRS = {  # a step size per optimizer, all different, so that a swapped one shows
    "quadratic": {"SGD": 0.015, "momentum": 0.007, "Adam": 0.2},
    "rosenbrock": {"SGD": 0.002, "momentum": 0.0015, "Adam": 0.5},
}


@pytest.mark.parametrize("surface, noise", [("quadratic", 0.0), ("quadratic", 2.0), ("rosenbrock", 0.5)])
def test_paths_follow_the_update_rules(surface, noise):
    lrs = LRS[surface]
    state = OptimizerRaceState(
        surface, lrs["SGD"], lrs["momentum"], lrs["Adam"], momentum=0.8, noise=noise, steps=60, seed=3
    )
    assert state.lrs == lrs
    expected = _by_hand(surface, lrs, 0.8, noise, 60, 3)
    for name in OPTIMIZERS:
        assert state.paths[name].shape == (61, 2)
        np.testing.assert_allclose(state.paths[name], expected[name], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            state.losses[name], loss_surface(surface, *expected[name].T), rtol=1e-9, atol=1e-12
        )


def _by_torch(surface, lrs, momentum, noise, steps, seed):
    """The three paths by torch.optim in float64, with autograd's gradient, each at lrs[name]."""
    import torch

    draws = np.random.default_rng(seed).standard_normal((steps, 2)) * noise
    paths = {}
    for name in OPTIMIZERS:
        w = torch.tensor(SURFACES[surface][0], dtype=torch.float64, requires_grad=True)
        opt = {
            "SGD": lambda p: torch.optim.SGD(p, lr=lrs["SGD"]),
            "momentum": lambda p: torch.optim.SGD(p, lr=lrs["momentum"], momentum=momentum),
            "Adam": lambda p: torch.optim.Adam(p, lr=lrs["Adam"]),
        }[name]([w])
        path = [w.detach().numpy().copy()]
        for k in range(steps):
            opt.zero_grad()
            loss_surface(surface, w[0], w[1]).backward()
            with torch.no_grad():
                w.grad += torch.from_numpy(draws[k])
            opt.step()
            path.append(w.detach().numpy().copy())
        paths[name] = np.array(path)
    return paths


@pytest.mark.parametrize("surface, noise", [("quadratic", 1.0), ("rosenbrock", 0.0)])
def test_paths_are_torch_optims(surface, noise):
    lrs = LRS[surface]
    state = OptimizerRaceState(
        surface, lrs["SGD"], lrs["momentum"], lrs["Adam"], momentum=0.7, noise=noise, steps=50, seed=5
    )
    expected = _by_torch(surface, lrs, 0.7, noise, 50, 5)
    for name in OPTIMIZERS:
        np.testing.assert_allclose(state.paths[name], expected[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("surface", SURFACES)
def test_the_minimum_is_where_the_surface_is_zero(surface):
    assert loss_surface(surface, *SURFACES[surface][1]) == 0.0


def test_at_their_own_step_sizes_momentum_and_adam_beat_sgd_on_the_bowl():
    state = OptimizerRaceState("quadratic", momentum=0.9, steps=100)
    final = state.final_losses()
    assert final["momentum"] < final["SGD"] / 100 and final["Adam"] < final["SGD"] / 100
    state.sgd_lr = 0.025  # above 2/100, the steep direction's limit
    assert state.diverged["SGD"]


def test_at_sgds_step_size_adam_crawls():
    state = OptimizerRaceState("quadratic", adam_lr=0.015)
    assert state.final_losses()["Adam"] > state.final_losses()["SGD"]


def test_the_leader_is_judged_by_the_mean_of_the_last_steps():
    state = OptimizerRaceState("quadratic", noise=3.0, steps=80, seed=7)
    final = state.final_losses()
    for name in OPTIMIZERS:
        assert final[name] == pytest.approx(np.mean(state.losses[name][-LAST:]))
    assert state.leader() == min(OPTIMIZERS, key=final.get)
    assert f"mean J of the last {LAST}:" in state.summary()
    assert OptimizerRaceState(steps=5).summary().startswith("quadratic, 5 steps, mean J of the last 6:")


def test_too_large_a_step_diverges_quietly_and_stops():
    state = OptimizerRaceState("quadratic", sgd_lr=0.5, steps=200)
    assert state.diverged["SGD"] and state.final_losses()["SGD"] == float("inf")
    assert len(state.paths["SGD"]) < 201 and "SGD diverged" in state.summary()


def test_settings_rerun_and_the_surface_sets_its_lr():
    state = OptimizerRaceState()
    before = state.paths["SGD"].copy()
    state.momentum = 0.5
    np.testing.assert_array_equal(state.paths["SGD"], before)  # SGD has no momentum
    state.noise = 1.0
    assert not np.array_equal(state.paths["SGD"], before)
    sgd, adam = state.paths["SGD"].copy(), state.paths["Adam"].copy()
    state.adam_lr = 0.05  # Adam's own step size: SGD's path stays, Adam's changes
    assert state.lrs["Adam"] == 0.05 and np.array_equal(state.paths["SGD"], sgd)
    assert not np.array_equal(state.paths["Adam"], adam)
    state.surface = "rosenbrock"
    assert state.lrs == SURFACES["rosenbrock"][2] and state.paths["Adam"][0].tolist() == list(
        SURFACES["rosenbrock"][0]
    )
    state.steps = 30
    assert all(len(p) == 31 for p in state.paths.values())


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("surface", "bowl", ValueError),
        ("sgd_lr", 0.0, ValueError),
        ("momentum_lr", 11.0, ValueError),
        ("adam_lr", "fast", TypeError),
        ("momentum", 1.0, ValueError),
        ("noise", -1.0, ValueError),
        ("steps", 0, ValueError),
        ("steps", 2.5, TypeError),
    ],
)
def test_a_refused_setting_leaves_the_state_as_it_was(name, value, error):
    state = OptimizerRaceState()
    before = (state.describe(), state.summary())
    with pytest.raises(error, match=name if name != "steps" or error is ValueError else "steps"):
        setattr(state, name, value)
    assert (state.describe(), state.summary()) == before


def test_summary_and_picture():
    state = OptimizerRaceState("rosenbrock", noise=1.0, steps=40)
    assert re.fullmatch(STATUS, state.summary())
    assert state.describe() == (
        "OptimizerRace: rosenbrock, lr SGD 0.002 / momentum 0.002 / Adam 1, momentum 0.9, noise 1, 40 steps"
    )
    assert state.png().startswith(PNG_MAGIC)


def test_the_view_sets_the_state_and_redraws():
    race = OptimizerRace(steps=50)
    assert {c.description for c in race.controls.values()} == {
        "surface",
        "SGD lr",
        "momentum lr",
        "Adam lr",
        "momentum",
        "noise",
        "steps",
    }
    image, status = race.image.value, race.status.value
    race.controls["momentum"].value = 0.5
    assert race.state.momentum == 0.5 and race.status.value != status and race.image.value != image
    status = race.status.value
    race.controls["adam_lr"].value = 0.01
    assert race.state.adam_lr == pytest.approx(0.01) and race.state.sgd_lr == SURFACES["quadratic"][2]["SGD"]
    assert race.status.value != status
    race.controls["surface"].value = "rosenbrock"
    for name, key in [("SGD", "sgd_lr"), ("momentum", "momentum_lr"), ("Adam", "adam_lr")]:
        assert race.controls[key].value == pytest.approx(SURFACES["rosenbrock"][2][name])
    assert re.fullmatch(STATUS, race.status.value) and race.message.value == ""


def test_the_view_reports_a_refused_value_in_red():
    race = OptimizerRace(steps=20)
    summary = race.status.value
    race._apply(lambda: setattr(race.state, "noise", -1.0))
    assert "noise must be" in race.message.value and "#b00" in race.message.value
    assert race.status.value == summary


def test_displayed_without_a_front_end_it_is_a_picture_and_a_deterministic_text():
    race = OptimizerRace(steps=20)
    bundle = race._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert bundle["text/plain"] == race.state.describe() == repr(race)
