"""The hidden tests of 02_mlp, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a cheat, and a call of the reference.

"The solution" here is twofold: nn273/mlp.py's own source compiled under another file name (see
tests/hidden_support.py), and the notebook's cells. The tests every assignment shares are
tests/hidden_suite.py's; this file names 02_mlp's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest

import nn273.linear
import nn273.mlp
from autograder.catalogue import mlp as catalogue
from autograder.hidden import mlp as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, Questions
from hidden_support import define


class TestMlp(HiddenSuite, Questions):
    hidden, catalogue, reference = hidden, catalogue, nn273.mlp
    FUNCTIONS = ["activation", "activation_grad", "count_parameters", "mlp_forward"]
    ANSWERS = ["answer_mnist_parameters", "answer_widest_layer"]
    ANSWERS_NOT_TOLD = ["266610", "266,610", '"b" is']
    NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "02_mlp" / "02_mlp.ipynb"
    # The notebook's first cell puts np and the softmax and sigmoid of 01_linear there.
    NOTEBOOK_NAMES = {"np": np, "sigmoid": nn273.linear.sigmoid, "softmax": nn273.linear.softmax}
    KERNEL_NAMES = {"np": np}
    CHEAT_FAILURE = "must be numbers"

    def _cheat_result(self, name, result):
        """mlp_forward returns a pair (F, cache): a cheat of it, F equal to everything."""
        return (result, []) if name == "mlp_forward" else result

    def test_the_parameter_answer_is_what_count_parameters_gives(self):
        answers = self._notebook_answers()
        assert answers["answer_mnist_parameters"] == nn273.mlp.count_parameters(
            [784, 300, 100, 10]
        )
        sizes = {"a": (784, 2000), "b": (2000, 2000), "c": (2000, 10)}
        counts = {letter: nn273.mlp.count_parameters(pair) for letter, pair in sizes.items()}
        assert max(counts, key=counts.get) == answers["answer_widest_layer"]

    def test_calling_the_reference_activation_inside_mlp_forward_is_rejected(self):
        namespace = {"np": np, "activation": nn273.mlp.activation}
        exec(compile(self.RIGHT[-1].source, "<student>", "exec"), namespace)
        assert self.RIGHT[-1].function == "mlp_forward"
        with pytest.raises(HiddenTestFailure, match="calls activation"):
            hidden.test_mlp_forward(namespace["mlp_forward"])

    def test_modifying_an_input_fails(self):
        solution = self.SOLUTION

        def vandal_activation(name, r):
            out = solution["activation"](name, r)
            if isinstance(r, np.ndarray):
                r[...] = 0
            return out

        with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
            hidden.test_activation(vandal_activation)

        def vandal_forward(X, params, hidden="tanh", output="softmax"):
            out = solution["mlp_forward"](X, params, hidden, output)
            params[0][1][...] = 0
            return out

        with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]\[1\]"):
            hidden.test_mlp_forward(vandal_forward)

        def vandal_count(layer_sizes):
            out = solution["count_parameters"](layer_sizes)
            if isinstance(layer_sizes, list):
                layer_sizes.append(1)
            return out

        with pytest.raises(HiddenTestFailure, match="changed layer_sizes"):
            hidden.test_count_parameters(vandal_count)

    def test_results_of_the_wrong_kind_fail(self):
        solution = self.SOLUTION

        def float_count(layer_sizes):
            return float(solution["count_parameters"](layer_sizes))

        with pytest.raises(HiddenTestFailure, match="must return an int"):
            hidden.test_count_parameters(float_count)

        def forward_without_cache(X, params, hidden="tanh", output="softmax"):
            return solution["mlp_forward"](X, params, hidden, output)[0]

        with pytest.raises(HiddenTestFailure, match=r"must return a pair \(F, cache\)"):
            hidden.test_mlp_forward(forward_without_cache)

        def forward_with_no_cache(X, params, hidden="tanh", output="softmax"):
            return solution["mlp_forward"](X, params, hidden, output)[0], None

        with pytest.raises(HiddenTestFailure, match="cache = None"):
            hidden.test_mlp_forward(forward_with_no_cache)

    def test_forgotten_transpose_fails_on_square_weights_alone(self):
        [entry] = [e for e in self.WRONG if "transpose" in e.description]
        forward = define(entry, self.KERNEL)
        square = [c for c in hidden._forward_cases(hidden.H.rng("mlp_forward")) if "square" in c[4]]
        assert square
        for X, params, hidden_name, output, _ in square:
            F, _ = forward(X, params, hidden=hidden_name, output=output)
            assert not np.allclose(F, hidden._torch_forward(X, params, hidden_name, output))

    def test_wrong_defaults_fail(self):
        solution = self.SOLUTION["mlp_forward"]

        def relu_by_default(X, params, hidden="relu", output="softmax"):
            return solution(X, params, hidden, output)

        with pytest.raises(HiddenTestFailure, match="defaults hidden='tanh'"):
            hidden.test_mlp_forward(relu_by_default)

    def test_messages_say_what_is_wrong(self):
        message = self._failure(
            "activation", "logistic as 1 / (1 + exp(-r)): overflows for r = -1e4"
        )
        assert (
            "overflow" in message
            and "this was activation('logistic', r) for r = [-1.e+04," in message
        )
        message = self._failure("activation_grad", "relu derivative 1 at r = 0 (r >= 0)")
        assert "expected 0, received 1" in message and "derivative at 0 is 0" in message
        message = self._failure(
            "activation_grad", "tanh derivative 1 - tanh(r) instead of 1 - tanh(r)**2"
        )
        assert "activation_grad('tanh', r)" in message and "1 - tanh(r)**2" in message
        message = self._failure("count_parameters", "weights only, no biases")
        assert "expected 13, received 9" in message and "H (n + 1) + (H + 1)" in message
        message = self._failure(
            "mlp_forward", "softmax over the wrong axis (each column normalized)"
        )
        assert "output='softmax'" in message and "softmax normalizes each row" in message
        message = self._failure(
            "mlp_forward",
            "softmax without subtracting the row maximum: overflows for responses of 1e4",
        )
        assert "overflow" in message
