"""nn273.explorers.playground: the playground's state (determinism, what each setting does, training) and its view
(buttons, controls, status, the static fallback), without a browser."""

import base64
import copy
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from nn273.data import make_2d
from nn273.explorers.playground import Playground, PlaygroundState, parse_hidden

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    """Nothing printed, nothing on stderr, and no figure left in pyplot (a notebook would show it)."""
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")


def assert_same_params(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def assert_params_differ(a, b):
    assert a.keys() != b.keys() or any(not np.array_equal(a[k], b[k]) for k in a)


# ---- parse_hidden --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, sizes",
    [
        ("4,2", [4, 2]),
        (" 8 ", [8]),
        ("1, 16", [1, 16]),
        ("", []),
        ("  ", []),
        ("16,16,16,16", [16] * 4),
        ([3, 1], [3, 1]),
        ((), []),
        (np.array([5]), [5]),
    ],
)
def test_parse_hidden(text, sizes):
    assert parse_hidden(text) == sizes


@pytest.mark.parametrize(
    "text, message",
    [
        ("4,x", "whole numbers; got 'x' in '4,x'"),
        ("4.5", "whole numbers; got '4.5'"),
        ("-1", "whole numbers; got '-1'"),
        ("4,,2", "empty layer size in '4,,2'"),
        ("0", "between 1 and 16 units; got 0"),
        ("17", "between 1 and 16 units; got 17"),
        ("4,2,2,2,2", "at most 4 layers; got 5"),
        ([4.0], 'text like "4,2" or a sequence of ints'),
        (4, 'text like "4,2" or a sequence of ints'),
    ],
)
def test_parse_hidden_rejects_with_a_fix(text, message):
    with pytest.raises(ValueError, match='e.g. "4,2"') as info:
        parse_hidden(text)
    assert message in str(info.value)


# ---- the state: determinism and reset ------------------------------------------------------------


def test_same_seed_gives_same_weights_and_same_losses():
    a, b = PlaygroundState(seed=3), PlaygroundState(seed=3)
    assert_same_params(a.get_params(), b.get_params())
    a.step(30)
    b.step(10).step(20)
    assert_same_params(a.get_params(), b.get_params())
    assert a.history == b.history
    assert_params_differ(PlaygroundState(seed=4).get_params(), PlaygroundState(seed=3).get_params())
    with pytest.raises(ValueError, match="seed must be between 0 and"):
        PlaygroundState(seed=-1)


def test_training_runs_on_one_thread_and_restores_torch_threads():
    before = torch.get_num_threads()
    PlaygroundState().step(3).predict(np.zeros((2, 2)))
    assert torch.get_num_threads() == before


def test_history_has_one_entry_per_step_plus_the_start():
    state = PlaygroundState()
    assert state.steps_taken == 0
    assert {k: len(v) for k, v in state.history.items()} == dict.fromkeys(
        ["train_loss", "test_loss", "train_acc", "test_acc"], 1
    )
    state.step(7)
    assert state.steps_taken == 7
    assert all(len(v) == 8 for v in state.history.values())
    # the last entry measures the current network
    assert state.history["train_acc"][-1] == np.mean(state.predict(state.X_train) == state.y_train)
    assert state.history["test_acc"][-1] == np.mean(state.predict(state.X_test) == state.y_test)


def test_reset_restores_the_initial_weights_and_clears_the_history():
    state = PlaygroundState(data="xor")
    initial, start = state.get_params(), copy.deepcopy(state.history)
    state.step(20)
    after_20 = state.get_params(), state.history["train_loss"][-1]
    assert_params_differ(initial, after_20[0])
    state.reset()
    assert state.steps_taken == 0
    assert_same_params(initial, state.get_params())
    assert state.history == start
    state.step(20)  # the minibatch order restarts too
    assert_same_params(after_20[0], state.get_params())
    assert state.history["train_loss"][-1] == after_20[1]


def test_data_is_split_into_train_and_test():
    state = PlaygroundState(data="spiral", noise=0.2, seed=5)
    X, y = make_2d("spiral", n=400, noise=0.2, seed=5)
    np.testing.assert_array_equal(np.vstack([state.X_train, state.X_test]), X)
    np.testing.assert_array_equal(np.concatenate([state.y_train, state.y_test]), y)
    assert state.X_train.shape == (200, 2) and state.X_test.shape == (200, 2)


# ---- the state: what each setting does -----------------------------------------------------------


@pytest.mark.parametrize("name, value", [("data", "xor"), ("noise", 0.3)])
def test_new_data_or_noise_regenerates_the_data_and_resets(name, value):
    state = PlaygroundState()
    state.step(15)
    X_before = state.X_train.copy()
    setattr(state, name, value)
    fresh = PlaygroundState(**{name: value})
    assert getattr(state, name) == value
    assert not np.array_equal(X_before, state.X_train)
    np.testing.assert_array_equal(state.X_train, fresh.X_train)
    np.testing.assert_array_equal(state.y_test, fresh.y_test)
    assert state.steps_taken == 0
    assert_same_params(state.get_params(), fresh.get_params())
    assert state.history == fresh.history


@pytest.mark.parametrize("name, value", [("hidden", "8"), ("hidden", []), ("activation", "relu")])
def test_new_architecture_or_activation_rebuilds_and_resets(name, value):
    state = PlaygroundState()
    state.step(15)
    X_before = state.X_train.copy()
    setattr(state, name, value)
    fresh = PlaygroundState(**{name: value})
    np.testing.assert_array_equal(state.X_train, X_before)  # same data
    assert state.steps_taken == 0
    assert_same_params(state.get_params(), fresh.get_params())
    assert state.history == fresh.history


def test_architecture_sets_the_weight_shapes():
    shapes = {k: v.shape for k, v in PlaygroundState(hidden="4,2").get_params().items()}
    assert shapes == {"W1": (2, 4), "b1": (4,), "W2": (4, 2), "b2": (2,), "W3": (2, 1), "b3": (1,)}
    assert PlaygroundState(hidden="").get_params().keys() == {"W1", "b1"}
    assert PlaygroundState(hidden=" 3 , 5").hidden == [3, 5]


@pytest.mark.parametrize("name, value", [("lr", 0.3), ("batch_size", 50)])
def test_new_lr_or_batch_size_keeps_weights_and_history_and_takes_effect(name, value):
    state = PlaygroundState()
    state.step(15)
    params, history = state.get_params(), copy.deepcopy(state.history)
    setattr(state, name, value)
    assert getattr(state, name) == value
    assert_same_params(params, state.get_params())
    assert state.history == history
    state.step(1)
    assert state.steps_taken == 16 and len(state.history["train_loss"]) == 17
    # set before the first step, it trains exactly as if it had been set from the start
    late, early = PlaygroundState(), PlaygroundState(**{name: value})
    setattr(late, name, value)
    late.step(5)
    early.step(5)
    assert late.history == early.history


def test_setting_the_current_value_changes_nothing():
    state = PlaygroundState(data="circle", noise=0.1, hidden="4,2", activation="tanh")
    state.step(5)
    state.data, state.noise, state.hidden, state.activation = "circle", 0.1, [4, 2], "tanh"
    assert state.steps_taken == 5


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"data": "moons"}, ValueError, "data must be one of 'circle', 'xor'"),
        ({"activation": "softmax"}, ValueError, "activation must be one of 'tanh', 'relu'"),
        ({"hidden": "4,x"}, ValueError, "whole numbers"),
        ({"lr": 0}, ValueError, "lr must be a finite number > 0; got 0.0"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number > 0; got nan"),
        ({"lr": "fast"}, TypeError, "lr must be a number; got str 'fast'"),
        ({"batch_size": 0}, ValueError, "batch_size must be between 1 and 200; got 0"),
        ({"batch_size": 201}, ValueError, "The training set has 200 points"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer; got float"),
        ({"noise": -0.1}, ValueError, "noise must be a finite number >= 0"),
    ],
)
def test_invalid_settings_raise_and_leave_the_state_as_it_was(settings, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        PlaygroundState(**settings)
    state = PlaygroundState()
    state.step(3)
    before = (state.describe(), state.get_params(), state.X_train.copy())
    ((name, value),) = settings.items()
    with pytest.raises(error, match=message.replace("(", r"\(")):
        setattr(state, name, value)
    assert state.describe() == before[0]
    assert_same_params(state.get_params(), before[1])
    np.testing.assert_array_equal(state.X_train, before[2])


# ---- the state: training and predictions ---------------------------------------------------------


def test_training_reduces_the_loss_on_gaussian_blobs():
    state = PlaygroundState(data="gaussian", hidden="4", lr=0.1)
    state.step(100)
    h = state.history
    assert h["train_loss"][-1] < 0.25 * h["train_loss"][0]
    assert h["test_loss"][-1] < 0.25 * h["test_loss"][0]
    assert h["test_acc"][-1] == 1.0


@pytest.mark.parametrize("hidden", ["4", "8"])
def test_tanh_network_learns_the_circle_in_a_few_hundred_steps(hidden):
    state = PlaygroundState(data="circle", hidden=hidden, activation="tanh", lr=0.3)
    state.step(300)
    assert state.history["train_acc"][-1] >= 0.95
    assert state.history["test_acc"][-1] >= 0.95


def test_a_linear_network_cannot_learn_the_circle():
    state = PlaygroundState(data="circle", hidden="8,8", activation="linear", lr=0.3)
    state.step(300)
    assert state.history["test_acc"][-1] < 0.75


def test_predict_and_grid():
    state = PlaygroundState(data="xor", hidden="8", lr=0.3).step(100)
    X = state.X_test[:7]
    proba = state.predict_proba(X)
    assert proba.shape == (7,) and proba.dtype == np.float64
    assert np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(state.predict(X), (proba > 0.5).astype(np.int64))
    assert state.predict(X).dtype == np.int64

    x1, x2, P = state.grid(30)
    assert x1.shape == x2.shape == (30,) and P.shape == (30, 30)
    L = state.bounds
    assert x1[0] == x2[0] == -L and x1[-1] == x2[-1] == L
    assert np.abs(np.vstack([state.X_train, state.X_test])).max() < L
    np.testing.assert_allclose(P[4, 9], state.predict_proba([[x1[9], x2[4]]])[0])

    read_only = X.copy()
    read_only.flags.writeable = False  # e.g. a cached data set: no warning from torch
    np.testing.assert_array_equal(state.predict(read_only), state.predict(X))
    with pytest.raises(ValueError, match=r"X must be \(N, 2\).*got shape \(3, 3\)"):
        state.predict(np.zeros((3, 3)))


def test_describe_is_deterministic_and_summary_rounds():
    state = PlaygroundState(data="circle", noise=0.1, hidden="4,2", lr=0.03, batch_size=10)
    assert state.describe() == (
        "Playground: circle data, noise 0.1, hidden [4, 2] tanh, lr 0.03, batch 10, step 0"
    )
    state.lr = 10**-1.5
    state.step(4)
    assert state.describe().endswith("lr 0.0316, batch 10, step 4")
    h = state.history
    assert state.summary() == (
        f"step 4 | train loss {h['train_loss'][-1]:.3f}, acc {h['train_acc'][-1]:.3f}"
        f" | test loss {h['test_loss'][-1]:.3f}, acc {h['test_acc'][-1]:.3f}"
    )


def test_figure_shows_regions_points_and_losses():
    state = PlaygroundState(data="circle").step(20)
    fig = state.figure(resolution=20)
    regions, losses = fig.axes
    assert len(regions.images) == 1 and regions.images[0].get_array().shape == (20, 20)
    assert sum(len(c.get_offsets()) for c in regions.collections if hasattr(c, "get_sizes")) >= 400
    assert [len(line.get_xdata()) for line in losses.lines] == [21, 21]
    assert state.png().startswith(PNG_MAGIC)


# ---- the view ------------------------------------------------------------------------------------


@pytest.fixture
def fake_png(monkeypatch):
    """Stand-in for PlaygroundState.png, 100 times faster and telling which state it shows."""

    def png(self, resolution=100, dpi=80):
        return PNG_MAGIC + self.summary().encode()

    monkeypatch.setattr(PlaygroundState, "png", png)


def shows(pg):
    """The status line and the picture show the current state."""
    return pg.status.value == pg.state.summary() and bytes(pg.image.value) == pg.state.png()


@pytest.fixture
def pg(fake_png):
    return Playground(
        data="circle", hidden="4,2", activation="tanh", lr=0.03, batch_size=10, steps_per_frame=5
    )


def test_constructor_takes_the_settings_and_trains_steps():
    pg = Playground(
        data="xor", noise=0.2, hidden="8", activation="relu", lr=0.1, batch_size=20, steps=12
    )
    assert pg.state.describe() == (
        "Playground: xor data, noise 0.2, hidden [8] relu, lr 0.1, batch 20, step 12"
    )
    values = {name: c.value for name, c in pg.controls.items()}
    assert values == {
        "data": "xor",
        "noise": 0.2,
        "hidden": "8",
        "activation": "relu",
        "lr": 0.1,
        "batch_size": 20,
    }
    assert pg.status.value == pg.state.summary() and pg.status.value.startswith("step 12 |")
    assert bytes(pg.image.value).startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="activation must be one of"):
        Playground(activation="sigmoid")


def test_step_and_reset_buttons(pg):
    initial = pg.state.get_params()
    pg.step_button.click()
    pg.step_button.click()
    assert pg.state.steps_taken == 10
    assert pg.status.value.startswith("step 10 |") and shows(pg)
    pg.reset_button.click()
    assert pg.state.steps_taken == 0 and pg.status.value.startswith("step 0 |") and shows(pg)
    assert_same_params(initial, pg.state.get_params())


def test_controls_change_the_state_and_the_status(pg):
    pg.step_button.click()
    pg.controls["lr"].value = 0.1
    assert pg.state.lr == 0.1 and shows(pg)
    pg.controls["batch_size"].value = 50
    assert (pg.state.lr, pg.state.batch_size, pg.state.steps_taken) == (0.1, 50, 5)
    pg.step_button.click()
    assert pg.state.steps_taken == 10 and shows(pg)
    pg.controls["data"].value = "gaussian"
    assert pg.state.data == "gaussian" and pg.state.steps_taken == 0 and shows(pg)
    pg.step_button.click()
    pg.controls["noise"].value = 0.3
    assert pg.state.noise == 0.3 and pg.state.steps_taken == 0 and shows(pg)
    pg.step_button.click()
    pg.controls["activation"].value = "relu"
    assert pg.state.activation == "relu" and pg.state.steps_taken == 0 and shows(pg)
    pg.step_button.click()
    pg.controls["hidden"].value = "3, 3, 3"
    assert pg.state.hidden == [3, 3, 3] and pg.state.steps_taken == 0 and shows(pg)
    assert repr(pg) == (
        "Playground: gaussian data, noise 0.3, hidden [3, 3, 3] relu, lr 0.1, batch 50, step 0"
    )


def test_an_invalid_hidden_text_is_reported_not_raised(pg):
    pg.step_button.click()
    pg.controls["hidden"].value = "4,99"
    assert "between 1 and 16 units; got 99" in pg.message.value
    assert pg.state.hidden == [4, 2] and pg.state.steps_taken == 5  # nothing changed
    pg.controls["hidden"].value = "6"
    assert pg.message.value == ""
    assert pg.state.hidden == [6] and shows(pg)


def test_train_ticks_train_and_drop_the_backlog(pg):
    play = pg.train_button
    play.value = 1
    assert pg.state.steps_taken == 5 and shows(pg)
    play.value = 1000  # a tick long after the frame: trains
    assert pg.state.steps_taken == 10
    # Ticks sent while a frame was drawn arrive queued right after it: they are dropped.
    play.interval = 10
    pg.state.png = lambda *args: time.sleep(0.05) or b""  # a frame of 50 ms, i.e. 5 ticks
    play.value = 1001
    assert pg.state.steps_taken == 15
    for tick in range(1002, 1006):
        play.value = tick
    assert pg.state.steps_taken == 15
    play.value = 1010
    assert pg.state.steps_taken == 20
    play.value = 0  # the stop button: rewinds the counter, trains nothing
    assert pg.state.steps_taken == 20
    play.value = 1
    assert pg.state.steps_taken == 25


def test_resetting_settings_stop_training_and_lr_does_not(pg):
    play = pg.train_button
    play.playing = True
    pg.controls["lr"].value = 0.3
    pg.controls["batch_size"].value = 20
    assert play.playing
    pg.controls["data"].value = "xor"
    assert not play.playing
    play.playing = True
    pg.reset_button.click()
    assert not play.playing


def test_mimebundle_has_the_widget_and_deterministic_text(pg):
    bundle = pg._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle[WIDGET_VIEW]["model_id"] == pg.model_id
    assert bundle["text/plain"] == (
        "Playground: circle data, noise 0.1, hidden [4, 2] tanh, lr 0.03, batch 10, step 0"
    )
    assert "text/html" not in bundle  # it would outrank the PNG in nbconvert
    pg.train(40)
    bundle = pg._repr_mimebundle_()
    assert bundle["text/plain"].endswith("step 40")
    again = Playground(
        data="circle", hidden="4,2", activation="tanh", lr=0.03, batch_size=10, steps=40
    )
    assert again._repr_mimebundle_()["text/plain"] == bundle["text/plain"]
    assert again.status.value == pg.status.value


def test_mimebundle_png_is_the_current_picture_even_after_direct_state_changes(pg):
    pg.state.step(30)  # behind the view's back
    bundle = pg._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == pg.state.png()
    assert bundle["text/plain"].endswith("step 30") and shows(pg)


def test_mimebundle_png_is_a_real_png():
    pg = Playground(steps=10)
    png = base64.b64decode(pg._repr_mimebundle_()["image/png"])
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
