"""nn273.explorers.depth: the depth explorer's state (weights drawn as torch draws them, the network
against torch modules built from the same weights, the gradient per layer and the training it
shows, settings refused and left as they were) and its view (controls by their descriptions, the
status line, the static fallback), without a browser."""

import base64
import doctest
import math
import re
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import nn273.explorers.depth
from nn273.explorers.depth import INITS, WIDTH, DepthExplorer, DepthState

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATUS = (
    r"(plain|residual), depth \d+, (default|He) init: \|dJ/dW\| input layer / output layer [-0-9.e+]+"
    r" \| J [0-9.]+ at the start, [0-9.]+ after \d+ steps"
)


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    assert capsys.readouterr() == ("", "")


def test_doctests():
    result = doctest.testmod(nn273.explorers.depth, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0


def test_weights_are_drawn_as_torch_draws_them():
    default = DepthState(depth=20, init="default", steps=1).weights()
    he = DepthState(depth=20, init="He", steps=1).weights()
    assert [W.shape for W, _ in default] == [(2, WIDTH)] + [(WIDTH, WIDTH)] * 20 + [(WIDTH, 2)]
    for (W, b), (W_he, b_he) in zip(default, he):
        bound = 1 / math.sqrt(W.shape[0])  # torch.nn.Linear: uniform in +-1/sqrt(fan_in)
        assert np.abs(W).max() <= bound and np.abs(b).max() <= bound
        assert np.all(b_he == 0)
    hidden = np.concatenate([W.ravel() for W, _ in he[1:-1]])  # He: variance 2 / fan_in
    assert hidden.std() == pytest.approx(math.sqrt(2 / WIDTH), rel=0.03)
    hidden = np.concatenate([W.ravel() for W, _ in default[1:-1]])  # uniform: variance 1 / (3 fan_in)
    assert hidden.std() == pytest.approx(math.sqrt(1 / (3 * WIDTH)), rel=0.03)


def test_the_same_seed_draws_the_same_network_with_or_without_skips():
    a = DepthState(depth=6, steps=1, seed=5).weights()
    b = DepthState(depth=6, steps=1, seed=5, residual=True).weights()
    c = DepthState(depth=6, steps=1, seed=6).weights()
    assert all(np.array_equal(Wa, Wb) for (Wa, _), (Wb, _) in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("residual", [False, True])
def test_the_network_is_torchs_linear_layers_with_or_without_skips(residual):
    state = DepthState(depth=4, residual=residual, steps=1, seed=3)
    params = [(torch.tensor(W), torch.tensor(b)) for W, b in state.weights()]
    linears = []
    for W, b in params:
        linear = torch.nn.Linear(*W.shape).double()
        with torch.no_grad():
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
        linears.append(linear)
    X = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    h = torch.relu(linears[0](X))
    for k in range(1, 5, 2):
        if residual:
            h = h + linears[k + 1](torch.relu(linears[k](h)))
        else:
            h = torch.relu(linears[k + 1](torch.relu(linears[k](h))))
    expected = linears[-1](h)
    assert torch.allclose(state._forward(params, X), expected, atol=1e-12)


def test_the_gradient_vanishes_only_in_the_plain_network_of_torchs_default_init():
    ratio = {}
    for init, residual in [("default", False), ("He", False), ("default", True)]:
        state = DepthState(depth=30, init=init, residual=residual, steps=1)
        assert state.grad_norms.shape == (32,) and np.all(state.grad_norms > 0)
        ratio[init, residual] = state.grad_norms[0] / state.grad_norms[-1]
    assert ratio["default", False] < 1e-8
    assert ratio["He", False] > 1e-2 and ratio["default", True] > 1e-2


def test_only_the_plain_network_of_torchs_default_init_fails_to_train():
    for init, residual in [("default", False), ("He", False), ("default", True)]:
        state = DepthState(depth=10, init=init, residual=residual, steps=100)
        assert state.losses.shape == (101,)
        if (init, residual) == ("default", False):
            assert abs(state.losses[-1] - math.log(2)) < 0.02, state.summary()
        else:
            assert state.losses[-1] < 0.5, state.summary()


def test_a_change_of_setting_takes_well_under_a_second():
    state = DepthState(depth=10, steps=100)
    start = time.process_time()
    state.depth = 40
    state.png()
    assert time.process_time() - start < 3.0  # about 0.7 s of CPU here; generous for slow machines


def test_settings_rerun():
    state = DepthState(depth=10, steps=20)
    losses = state.losses
    state.init = "He"
    assert not np.array_equal(state.losses, losses) and state.init == "He"
    state.residual = True
    assert state.residual is True and state.summary().startswith("residual, depth 10, He init")
    state.depth = 4
    assert state.grad_norms.shape == (6,)
    state.steps = 30
    assert state.losses.shape == (31,)


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("depth", 3, ValueError),
        ("depth", 42, ValueError),
        ("depth", 0, ValueError),
        ("depth", 2.0, TypeError),
        ("init", "xavier", ValueError),
        ("residual", "yes", TypeError),
        ("steps", 0, ValueError),
    ],
)
def test_a_refused_setting_leaves_the_state_as_it_was(name, value, error):
    state = DepthState(steps=10)
    before = (state.describe(), state.summary())
    with pytest.raises(error, match=name):
        setattr(state, name, value)
    assert (state.describe(), state.summary()) == before


def test_summary_and_picture():
    state = DepthState(depth=6, init="He", residual=True, steps=40)
    assert re.fullmatch(STATUS, state.summary())
    assert state.describe() == "DepthExplorer: residual, depth 6, He init, 40 steps"
    assert state.png().startswith(PNG_MAGIC)
    assert set(INITS) == {"default", "He"}


def test_the_view_sets_the_state_and_redraws():
    view = DepthExplorer(steps=30)
    assert {c.description for c in view.controls.values()} == {"depth", "init", "residual"}
    for name, value in [("init", "He"), ("residual", True), ("depth", 20)]:
        image, status = view.image.value, view.status.value
        view.controls[name].value = value
        assert getattr(view.state, name) == value
        assert view.status.value != status and view.image.value != image
    assert re.fullmatch(STATUS, view.status.value) and view.message.value == ""


def test_the_view_reports_a_refused_value_in_red():
    view = DepthExplorer(steps=10)
    summary = view.status.value
    view._apply(lambda: setattr(view.state, "depth", 5))
    assert "depth must be" in view.message.value and "#b00" in view.message.value
    assert view.status.value == summary


def test_displayed_without_a_front_end_it_is_a_picture_and_a_deterministic_text():
    view = DepthExplorer(steps=10)
    bundle = view._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert bundle["text/plain"] == view.state.describe() == repr(view)
