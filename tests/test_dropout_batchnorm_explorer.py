"""nn273.explorers.dropout_batchnorm: the state (seeded and repeatable, the network's layers and
modes, what dropout and the batch size do to the boundary and to the batch mean's noise, settings
refused and left as they were, an update in under a second of CPU) and its view (controls by their
descriptions, the status line, the static fallback), without a browser."""

import base64
import doctest
import re
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import nn273.explorers.dropout_batchnorm
from nn273.explorers.dropout_batchnorm import DropoutBatchNorm, DropoutBatchNormState

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach a student's stderr

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NUMBER = r"[0-9.]+"
STATUS = (
    rf"p {NUMBER}, batch size \d+: training loss {NUMBER}, validation loss {NUMBER}, validation accuracy "
    rf"{NUMBER} \| boundary flips \d+ \| batch mean noise {NUMBER}"
)


@pytest.fixture(autouse=True)
def quiet_and_no_pyplot_figures(capsys):
    plt.close("all")
    yield
    assert plt.get_fignums() == []
    assert capsys.readouterr() == ("", "")


def test_doctests():
    result = doctest.testmod(nn273.explorers.dropout_batchnorm, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0 and result.attempted > 0


def test_the_same_settings_train_the_same_network():
    a, b = DropoutBatchNormState(p=0.3, batch_size=6, steps=50), DropoutBatchNormState(p=0.3, batch_size=6, steps=50)
    assert np.array_equal(a.curves, b.curves) and a.flips == b.flips and a.batch_noise == b.batch_noise
    c = DropoutBatchNormState(p=0.3, batch_size=6, steps=50, seed=1)
    assert not np.array_equal(a.curves, c.curves)


def test_the_network_has_both_layers_and_ends_in_evaluation_mode():
    state = DropoutBatchNormState(p=0.4, steps=20)
    kinds = [type(layer) for layer in state.network]
    assert kinds.count(torch.nn.BatchNorm1d) == 2 and kinds.count(torch.nn.Dropout) == 2
    assert all(layer.p == 0.4 for layer in state.network if isinstance(layer, torch.nn.Dropout))
    assert not state.network.training  # curves and predictions: dropout off, running statistics
    # the running statistics moved away from their start: training ran in .train() mode
    assert not torch.allclose(state.network[1].running_mean, torch.zeros(64, dtype=torch.float64))
    assert np.array_equal(state.predict(state.X_val[:5]), state.predict(state.X_val[:5]))


def test_noise_in_training_smooths_the_boundary():
    # no noise at all (p = 0, the full batch) fits single points; dropout or small batches do not
    plain = DropoutBatchNormState(p=0.0, batch_size=60)
    assert plain.batch_noise < 1e-9  # the full batch: mu_B is the mean of all the points
    assert DropoutBatchNormState(p=0.5, batch_size=60).flips < plain.flips
    small = DropoutBatchNormState(p=0.0, batch_size=2)
    assert small.flips < plain.flips
    assert plain.curves[-1, 1] < small.curves[-1, 1]  # and it fits the training points better


def test_the_batch_mean_is_noisier_in_smaller_batches():
    noise = [DropoutBatchNormState(p=0.0, batch_size=b, steps=10).batch_noise for b in (2, 8, 32)]
    assert noise[0] > noise[1] > noise[2] > 0
    # the spread of a mean of b points out of 60 (drawn without replacement): 1/sqrt(b) * sqrt((60 - b)/59)
    assert noise[1] == pytest.approx(np.sqrt(1 / 8 * 52 / 59), rel=0.15)


@pytest.mark.parametrize(
    "name, value, error",
    [("p", 0.95, ValueError), ("p", -0.1, ValueError), ("p", "0.5", TypeError), ("batch_size", 1, ValueError),
     ("batch_size", 61, ValueError), ("batch_size", 4.0, TypeError), ("steps", 5, ValueError)],
)
def test_a_refused_setting_leaves_the_state_as_it_was(name, value, error):
    state = DropoutBatchNormState(steps=20)
    before = (state.p, state.batch_size, state.steps, state.curves.copy())
    with pytest.raises(error, match=name):
        setattr(state, name, value)
    assert (state.p, state.batch_size, state.steps) == before[:3] and np.array_equal(state.curves, before[3])


def test_an_update_takes_less_than_a_second():
    state = DropoutBatchNormState()
    start = time.process_time()
    state.p = 0.2
    state.png()
    # one update: training again and the picture, in CPU time (a busy machine stretches wall time)
    assert time.process_time() - start < 1.5


def test_summary_and_picture():
    state = DropoutBatchNormState(p=0.25, batch_size=12, steps=30)
    assert re.fullmatch(STATUS, state.summary())
    assert state.describe() == "DropoutBatchNorm: p 0.25, batch size 12, 30 steps"
    assert state.png().startswith(PNG_MAGIC)


def test_the_view_sets_the_state_and_redraws():
    view = DropoutBatchNorm(steps=30)
    assert {c.description for c in view.controls.values()} == {"p", "batch size"}
    image, status = view.image.value, view.status.value
    view.controls["p"].value = 0.1
    assert view.state.p == 0.1 and view.status.value != status and view.image.value != image
    view.controls["batch_size"].value = 20
    assert view.state.batch_size == 20 and re.fullmatch(STATUS, view.status.value) and view.message.value == ""


def test_the_view_reports_a_refused_value_in_red():
    view = DropoutBatchNorm(steps=20)
    summary = view.status.value
    view._apply(lambda: setattr(view.state, "batch_size", 1))
    assert "batch_size must be" in view.message.value and "#b00" in view.message.value
    assert view.status.value == summary


def test_displayed_without_a_front_end_it_is_a_picture_and_a_deterministic_text():
    view = DropoutBatchNorm(steps=20)
    bundle = view._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert bundle["text/plain"] == view.state.describe() == repr(view)
