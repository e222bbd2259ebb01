"""The hidden tests of 07_sgd, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified input
(the state dict and its arrays included), and a step that calls torch.

"The solution" here is twofold: the source of nn273/sgd.py compiled under another file name (see
tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells, once the notebook exists. The tests every assignment shares are
tests/hidden_suite.py's; this file names 07_sgd's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import nn273.sgd
from autograder.catalogue import sgd as catalogue
from autograder.hidden import sgd as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, Questions, RunSeeds, equal_to_everything
from hidden_support import assert_modifying_the_first_argument_fails, judged

FUNCTIONS = [
    "count_deep_parameters",
    "iterate_minibatches",
    "sgd_step",
    "momentum_step",
    "adam_step",
]
STEPS = FUNCTIONS[2:]


def _as_list(fn):
    """fn's batches as a list (a generator would stay in the kernel, which the loopback has not)."""

    def iterate_minibatches(X, y, batch_size, rng=None):
        return list(fn(X, y, batch_size, rng))

    return iterate_minibatches


class TestSgd(HiddenSuite, Questions, RunSeeds):
    hidden, catalogue, reference = hidden, catalogue, nn273.sgd
    FUNCTIONS = FUNCTIONS
    ANSWERS = ["answer_epoch_steps", "answer_adam_first_step"]
    ANSWERS_NOT_TOLD = ["63", '"b" is']
    NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "07_sgd" / "07_sgd.ipynb"
    NOTEBOOK_NAMES = {"np": np, "torch": torch}
    CHEATS = equal_to_everything(pair=2)
    CHEAT_FAILURE = "must (be numbers|return)|pair|is wrong"

    def test_the_answers_are_what_the_reference_computes(self):
        X, y = np.zeros((4000, 1)), np.zeros(4000)
        assert len(list(nn273.sgd.iterate_minibatches(X, y, 64))) == 63
        # b: Adam's first step moves each weight by lr (times |dw| / (|dw| + eps)), whatever dw's size
        dw = np.array([1e-3, -2.0, 500.0])
        w, _ = nn273.sgd.adam_step(np.zeros(3), dw, {}, lr=0.01)
        np.testing.assert_allclose(np.abs(w), 0.01, rtol=1e-4)

    @pytest.mark.parametrize("name", STEPS)
    def test_modifying_the_weights_fails(self, name):
        assert_modifying_the_first_argument_fails(self._run, name, self.SOLUTION[name])

    @pytest.mark.parametrize(
        "name, number",
        [("sgd_step", 2), ("momentum_step", 2), ("momentum_step", 3), ("adam_step", 2)],
    )
    def test_modifying_another_array_fails(self, name, number):
        solution = self.SOLUTION[name]

        def vandal(*args, **kwargs):
            result = solution(*args, **kwargs)
            args[number - 1][...] = 0
            return result

        with pytest.raises(HiddenTestFailure, match=f"modified its argument number {number}"):
            self._run(name, vandal)

    def test_modifying_the_state_fails(self):
        solution = self.SOLUTION["adam_step"]

        def vandal_arrays(w, dw, state, lr, **hyper):
            result = solution(w, dw, state, lr, **hyper)
            if state:
                state["m"][...] = 0
            return result

        def vandal_t(w, dw, state, lr, **hyper):
            result = solution(w, dw, state, lr, **hyper)
            state["t"] = result[1]["t"]
            return result

        with pytest.raises(
            HiddenTestFailure, match=r"modified its argument state .*values of state\['m'\] changed"
        ):
            self._run("adam_step", vandal_arrays)
        with pytest.raises(HiddenTestFailure, match=r"modified its argument state .*key 't' added"):
            self._run("adam_step", vandal_t)

    def test_a_step_that_calls_torch_is_rejected(self):
        def by_torch(w, dw, lr):
            p = torch.nn.Parameter(torch.tensor(np.asarray(w, dtype=float)))
            p.grad = torch.tensor(np.asarray(dw, dtype=float))
            torch.optim.SGD([p], lr=lr).step()
            return p.detach().numpy()

        with pytest.raises(
            HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
        ):
            self._run("sgd_step", by_torch)

    def test_a_generator_that_fails_while_iterated_fails_with_a_message(self):
        def broken(X, y, batch_size, rng=None):
            yield X[:batch_size], y[:batch_size]
            raise IndexError("out of range")

        with pytest.raises(HiddenTestFailure, match="going through the batches .* IndexError"):
            self._run("iterate_minibatches", broken)

    def test_messages_say_what_is_wrong(self):
        message = self._failure("count_deep_parameters", "biases counted too")
        assert "biases are not counted" in message
        message = self._failure("iterate_minibatches", "the last, smaller batch dropped")
        assert "exactly once" in message and "last, smaller batch" in message
        message = self._failure("iterate_minibatches", "X shuffled but not y")
        assert "shuffled together" in message
        message = self._failure("iterate_minibatches", "a generator of its own, not the rng given")
        assert "the same batches" in message or "the same order" in message
        message = self._failure(
            "momentum_step",
            "lr inside the velocity: velocity = momentum * velocity + lr * dw; w - velocity",
        )
        assert "velocity returned by momentum_step" in message and "holds neither lr" in message
        message = self._failure("adam_step", "eps inside the square root")
        assert "eps outside the square root" in message
        message = self._failure("adam_step", "t counted after the correction, starting at 1")
        assert "state['t']" in message
        message = self._failure("sgd_step", "w modified in place (w -= lr * dw)")
        assert "modified its argument number 1" in message

    # -------------------------------------------------------------- judged, as while grading
    def test_judged_minibatches_draw_from_the_generator_sent(self):
        self._run("iterate_minibatches", judged(_as_list(self.SOLUTION["iterate_minibatches"])))
        self._run(
            "iterate_minibatches",
            judged(
                self._entry(
                    "iterate_minibatches", "a list, the indices shuffled in place with rng.shuffle"
                )
            ),
        )
        for description in [
            "a generator of its own, not the rng given",
            "the rng ignored: never shuffled",
            "X shuffled but not y",
        ]:
            wrong = _as_list(self._entry("iterate_minibatches", description))
            with pytest.raises(HiddenTestFailure, match="iterate_minibatches"):
                self._run("iterate_minibatches", judged(wrong))

    @pytest.mark.parametrize(
        "description",
        [
            "m and v updated in place in the state",
            "the state dict itself changed and returned",
            "t counted in the caller's dict (state['t'] += 1) from the second step on",
            "m scaled in place on the caller's array (state['m'] *= beta1)",
        ],
    )
    def test_judged_adam_that_changes_the_state_given_fails(self, description):
        """While grading the state dict crosses to the kernel as a copy: only updates=[2] brings the
        kernel's dict back, where a change to it (an int t included) shows."""
        with pytest.raises(HiddenTestFailure, match="adam_step modified its argument state"):
            self._run("adam_step", judged(self._entry("adam_step", description)))

    def test_judged_steps_pass_and_an_in_place_velocity_fails(self):
        for name in STEPS:
            self._run(name, judged(self.SOLUTION[name]))
        for description in [
            "the lecture's formula",
            "torch's arrangement: lr / (1 - beta1**t) and sqrt(v) / sqrt(1 - beta2**t) + eps",
        ]:
            self._run("adam_step", judged(self._entry("adam_step", description)))
        velocity_in_place = self._entry("momentum_step", "the velocity updated in place")
        with pytest.raises(HiddenTestFailure, match="modified its argument number 3"):
            self._run("momentum_step", judged(velocity_in_place))
