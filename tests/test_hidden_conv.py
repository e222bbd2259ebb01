"""The hidden tests of 04_conv, run in-process: they pass the solution and every Right entry of the
catalogue silently, and fail the stub, every Wrong entry, a call of the reference, a modified input,
and a NumPy exercise that calls torch.

"The solution" here is twofold: the source of nn273/conv.py compiled under another file name (see
tests/hidden_support.py), the same code, not the module the harness guards; and the notebook's
solution cells. The tests every assignment shares are tests/hidden_suite.py's; this file names
04_conv's parts and tests its own cases.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

import nn273.conv
from autograder.catalogue import conv as catalogue
from autograder.hidden import conv as hidden
from autograder.hidden.harness import HiddenTestFailure
from hidden_suite import HiddenSuite, NumpyLayers, Questions, equal_to_everything
from hidden_support import AlwaysEqual, assert_modifying_the_first_argument_fails


# A NumPy exercise that calls torch fails. Each of these reaches torch's Python code (the guard
# watches Python functions; see the last test of this file for builtins alone).
def _conv_forward_by_torch(x, w, b, stride=1, pad=0):
    t = torch.nn.functional.conv2d(
        torch.as_tensor(x), torch.as_tensor(w), torch.as_tensor(b), stride=stride, padding=pad
    )
    return np.asarray(t), (x, w, b, stride, pad)  # np.asarray calls Tensor.__array__


def _conv_backward_by_autograd(dout, cache):
    x, w, b, stride, pad = cache[:5]
    leaves = [torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for v in (x, w, b)]
    out = torch.nn.functional.conv2d(*leaves, stride=stride, padding=pad)
    out.backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in leaves)


def _pool_forward_by_torch(x, size, stride):
    out = torch.nn.functional.max_pool2d(torch.tensor(np.asarray(x, dtype=float)), size, stride)
    return out.numpy(), (x, size, stride)


def _pool_backward_by_autograd(dout, cache):
    x, size, stride = cache[:3]
    leaf = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)
    torch.nn.functional.max_pool2d(leaf, size, stride).backward(torch.tensor(dout))
    return leaf.grad.numpy()


def _output_size_by_torch(n, k, stride=1, pad=0):
    shape = torch.nn.functional.max_pool2d(
        torch.zeros(1, 1, n + 2 * pad, 1), (k, 1), (stride, 1)
    ).shape
    return int(shape[2])


class TestConv(HiddenSuite, Questions, NumpyLayers):
    hidden, catalogue, reference = hidden, catalogue, nn273.conv
    FUNCTIONS = [
        "conv_output_size",
        "conv2d_forward",
        "conv2d_backward",
        "maxpool2d_forward",
        "maxpool2d_backward",
        "build_lenet",
    ]
    ANSWERS = ["answer_lenet_parameters", "answer_shifted_map"]
    ANSWERS_NOT_TOLD = ["10842", "10,842", '"b" is']
    NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "04_conv" / "04_conv.ipynb"
    NOTEBOOK_NAMES = {"np": np, "torch": torch, "sliding_window_view": sliding_window_view}
    KERNEL_NAMES = {"np": np, "torch": torch}
    FORWARD = {"conv2d_backward": "conv2d_forward", "maxpool2d_backward": "maxpool2d_forward"}
    CHEATS = equal_to_everything(pair=2, triple=3)
    CHEATED = FUNCTIONS[:-1]  # the NumPy exercises
    BY_TORCH = [
        ("conv_output_size", _output_size_by_torch),
        ("conv2d_forward", _conv_forward_by_torch),
        ("conv2d_backward", _conv_backward_by_autograd),
        ("maxpool2d_forward", _pool_forward_by_torch),
        ("maxpool2d_backward", _pool_backward_by_autograd),
    ]
    BACKWARD_FROM_CACHE = ["conv2d_backward", "maxpool2d_backward"]
    WRONG_FORWARDS = [
        ("conv2d_forward", "the kernel flipped: a true convolution, not torch's cross-correlation"),
        ("maxpool2d_forward", "the average of each window (average pooling)"),
    ]

    def test_the_notebooks_caches_start_as_the_catalogue_expects(self):
        """Catalogue entries read (x, w, b, stride, pad) and (x, size, stride) from the solution's
        caches."""
        solution = self.SOLUTIONS["notebook"]
        x, w, b = np.ones((1, 2, 5, 6)), np.ones((3, 2, 3, 3)), np.zeros(3)
        _, cache = solution["conv2d_forward"](x, w, b, stride=2, pad=1)
        assert len(cache) == 5 and cache[3:] == (2, 1)
        assert [np.shape(v) for v in cache[:3]] == [x.shape, w.shape, b.shape]
        _, cache = solution["maxpool2d_forward"](x, 3, 2)
        assert np.shape(cache[0]) == x.shape and cache[1:3] == (3, 2)
        assert isinstance(solution["conv_output_size"](28, 5, 2, 0), int)

    def test_the_answers_are_what_the_reference_computes(self):
        answers = self._notebook_answers()
        lenet = nn273.conv.build_lenet(num_classes=26)
        assert answers["answer_lenet_parameters"] == sum(p.numel() for p in lenet.parameters())
        # a digit with blank borders, shifted 3 pixels right: the maps shift 3 pixels right (b)
        rng = np.random.default_rng(0)
        x = np.zeros((1, 1, 28, 28))
        x[0, 0, 4:24, 4:24] = rng.random((20, 20))
        shifted = np.zeros_like(x)
        shifted[..., 3:] = x[..., :-3]
        w = rng.standard_normal((3, 1, 5, 5))
        maps, _ = nn273.conv.conv2d_forward(x, w, np.zeros(3))
        maps_shifted, _ = nn273.conv.conv2d_forward(shifted, w, np.zeros(3))
        assert np.allclose(maps_shifted[..., 3:], maps[..., :-3])
        assert not np.allclose(maps_shifted, maps)
        assert answers["answer_shifted_map"] == "b"

    def test_modifying_an_input_fails(self):
        assert_modifying_the_first_argument_fails(
            self._run, "maxpool2d_forward", self.SOLUTION["maxpool2d_forward"]
        )
        solution = self.SOLUTION["conv2d_forward"]

        def vandal(x, w, b, **kwargs):  # conv2d_forward is called with stride= and pad=
            out = solution(x, w, b, **kwargs)
            w[...] = 0
            return out

        with pytest.raises(HiddenTestFailure, match="modified its argument number 2"):
            self._run("conv2d_forward", vandal)

    def test_build_lenet_may_use_torch(self):
        hidden.test_build_lenet(self.SOLUTION["build_lenet"])

    @pytest.mark.parametrize(
        "value", [None, AlwaysEqual(), torch.nn.Linear(784, 10)], ids=["None", "object", "one layer"]
    )
    def test_build_lenet_of_something_else_fails(self, value):
        with pytest.raises(HiddenTestFailure, match="build_lenet"):
            hidden.test_build_lenet(lambda num_classes=10: value)

    def test_messages_say_what_is_wrong(self):
        message = self._failure(
            "conv2d_forward", "the kernel flipped: a true convolution, not torch's cross-correlation"
        )
        assert (
            "out of conv2d_forward" in message
            and "cross-correlation" in message
            and "expected" in message
        )
        message = self._failure(
            "conv2d_backward", "padding forgotten: dx of the padded image returned"
        )
        assert "dx of conv2d_backward" in message and "must have shape" in message
        message = self._failure(
            "conv2d_backward", "db summed over the wrong axes: over the filters, not the examples"
        )
        assert "db of conv2d_backward" in message
        message = self._failure(
            "maxpool2d_backward", "overlapping windows' gradients written over instead of added"
        )
        assert "add up" in message
        message = self._failure(
            "maxpool2d_backward", "on ties, the gradient to the last maximum (torch: the first)"
        )
        assert "ties" in message and "first one in row-major order" in message
        message = self._failure(
            "conv_output_size", "rounds up: counts a last window that does not fit"
        )
        assert "does not fit is dropped" in message
        message = self._failure("build_lenet", "a sigmoid for the ReLU")
        assert "the second layer" in message

    def test_conv_forward_by_torch_builtins_alone_is_rejected(self):
        """torch.from_numpy, torch.conv2d and Tensor.numpy run no Python code of torch: the guard
        sees them as built-ins of the module torch."""

        def conv2d_forward(x, w, b, stride=1, pad=0):
            x, w, b = (torch.from_numpy(np.asarray(v, dtype=float)) for v in (x, w, b))
            return torch.nn.functional.conv2d(x, w, b, stride=stride, padding=pad).numpy(), None

        with pytest.raises(HiddenTestFailure, match="asks you to do without"):
            self._run("conv2d_forward", conv2d_forward)
