"""autograder.hidden.harness: the guard every hidden test calls student code through."""

import numpy as np
import pytest
import torch
import torch.autograd

import nn273.gradcheck
from autograder.hidden.harness import Harness, HiddenTestFailure
from hidden_support import judged

H = Harness(nn273.gradcheck)


def test_a_right_function_passes_through_silently(capsys):
    assert np.array_equal(H.call(lambda x, scale=1: x * scale, np.ones(2), scale=3), [3.0, 3.0])
    assert capsys.readouterr() == ("", "")


def test_calling_the_reference_fails_even_through_a_wrapper():
    def mine(x):
        return nn273.gradcheck.rel_error(x, x)

    with pytest.raises(HiddenTestFailure, match="calls rel_error\\(\\) from the course's reference"):
        H.call(mine, np.ones(2))


def test_forbid_and_require_a_library():
    def by_autograd(x):
        t = torch.tensor(x, requires_grad=True)
        (t**2).sum().backward()
        return t.grad.numpy()

    def by_hand(x):
        return 2 * x

    with pytest.raises(HiddenTestFailure, match="torch.autograd"):
        H.call(by_autograd, np.ones(2), forbid=[torch.autograd])
    assert np.array_equal(H.call(by_autograd, np.ones(2), require=[torch.autograd]), [2.0, 2.0])
    with pytest.raises(HiddenTestFailure, match="must use torch.autograd .* never called it"):
        H.call(by_hand, np.ones(2), require=[torch.autograd])


def test_forbidden_library_is_seen_in_its_builtins_too():
    """torch.from_numpy, torch.conv2d and Tensor.numpy are written in C: no Python code of torch runs."""

    def by_builtins(x):
        return torch.conv2d(torch.from_numpy(x), torch.ones(1, 1, 1, 1, dtype=torch.float64)).numpy()

    with pytest.raises(HiddenTestFailure, match="calls from_numpy\\(\\) .* torch"):
        H.call(by_builtins, np.ones((1, 1, 2, 2)), forbid=[torch])
    # a library's builtins count for that library only: none of them is torch.autograd's
    assert H.call(by_builtins, np.ones((1, 1, 2, 2)), forbid=[torch.autograd]).shape == (1, 1, 2, 2)
    assert H.call(lambda x: np.sum(x), np.ones(2), forbid=[torch]) == 2.0


def test_changed_inputs_are_found_inside_lists_and_dicts():
    def vandal(params, state=None):
        params[1][0][0] = 5.0
        return 0.0

    params = [(np.ones(2), np.ones(2)), (np.ones(2), np.ones(1))]
    with pytest.raises(HiddenTestFailure, match=r"modified its argument number 1\[1\]\[0\]"):
        H.call(vandal, params)

    def counter(x, state):
        state["m"] += 1
        return x

    with pytest.raises(HiddenTestFailure, match=r"modified its state\['m'\]"):
        H.call(counter, np.ones(1), state={"m": np.zeros(2)})


def test_warnings_and_crashes_fail_with_the_inputs_that_caused_them():
    def log_loss(x):
        return np.log(x)

    with pytest.raises(HiddenTestFailure, match=r"log_loss\(#1 = \[0\., 1\.\]\) hit a floating-point problem"):
        H.call(log_loss, np.array([0.0, 1.0]))

    def crash(name, params):
        raise KeyError(name)

    with pytest.raises(HiddenTestFailure, match=r"#1 = 'tanh', #2 = \[\(\(2, 3\), \(3,\)\)\]\) raised KeyError"):
        H.call(crash, "tanh", [(np.ones((2, 3)), np.ones(3))])


def test_not_implemented_passes_through_for_stubs():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        H.call(stub, np.ones(1))


def test_results_are_converted_before_comparing():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(HiddenTestFailure, match="must be numbers"):
        H.assert_close(AlwaysEqual(), np.ones(2), "result")
    with pytest.raises(HiddenTestFailure, match="wrong at index \\(1,\\): expected 2, received 3"):
        H.assert_close([1.0, 3.0], [1.0, 2.0], "result")


def test_assert_gradient():
    x = np.array([1e-3, 1.0, -2.0])
    H.assert_gradient(lambda a: float(np.sum(a**3)), x, 3 * x**2, "gradient")
    with pytest.raises(HiddenTestFailure, match="index \\(2,\\)"):
        H.assert_gradient(lambda a: float(np.sum(a**3)), x, 3 * x**2 * np.array([1, 1, -1]), "gradient")


def test_case_and_hint_are_added_to_failures():
    def wrong(x):
        return x + 1

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1; .*; this was double"):
        H.call(lambda x: x.__setitem__(0, 9), np.zeros(1), case="double")
    with pytest.raises(HiddenTestFailure, match="expected 1, received 2.*r = 0 must give 1"):
        with H.hint("(r = 0 must give 1)"):
            H.assert_close(H.call(wrong, np.ones(1), case="wrong"), np.ones(1), "result")


# ------------------------------------------------------------------ judged calls, in a loopback
def _batch_mean(x, running):
    running["mean"] = 0.9 * running["mean"] + 0.1 * x.mean(axis=0)  # a new array in the dict
    return x - x.mean(axis=0)


def _batch_mean_in_place(x, running):
    running["mean"] *= 0.9  # the caller's own array
    running["mean"] += 0.1 * x.mean(axis=0)
    return x - x.mean(axis=0)


@pytest.mark.parametrize("function", [_batch_mean, _batch_mean_in_place])
def test_an_argument_the_contract_lets_change_comes_back_from_the_kernel(function):
    x = np.arange(6.0).reshape(3, 2)
    for fn in (function, judged(function)):  # in-process, and judged as in grading
        running = {"mean": np.zeros(2)}
        H.call(fn, x, running, updates=[1])
        np.testing.assert_allclose(running["mean"], [0.2, 0.3])
        np.testing.assert_array_equal(x, np.arange(6.0).reshape(3, 2))  # x itself is untouched


def test_without_updates_the_same_change_is_a_modified_input():
    x = np.arange(6.0).reshape(3, 2)
    for fn in (_batch_mean_in_place, judged(_batch_mean_in_place)):
        with pytest.raises(HiddenTestFailure, match="modified"):
            H.call(fn, x, {"mean": np.zeros(2)})


def test_a_plain_call_passes_its_dicts_by_reference_as_python_does():
    running = {"mean": np.zeros(2)}
    judged(_batch_mean)(np.arange(6.0).reshape(3, 2), running)  # a visible test's call
    np.testing.assert_allclose(running["mean"], [0.2, 0.3])


def test_a_generator_argument_draws_in_the_kernel_what_it_would_here():
    def shuffled(n, rng):
        return rng.permutation(n)

    mine, theirs = np.random.default_rng(7), np.random.default_rng(7)
    drawn = H.call(judged(shuffled), 10, mine)
    assert np.array_equal(drawn, shuffled(10, theirs))


def test_a_batch_of_calls_is_one_request_and_fails_as_a_call_would():
    def square_sum(x, scale=1.0):
        return scale * float(np.sum(np.asarray(x) ** 2))

    def square_sum_warns_at_3(x, scale=1.0):
        if np.asarray(x)[0] == 3.0:
            np.asarray([1.0]) / 0.0  # a warning (grading: an error)
        return scale * float(np.sum(np.asarray(x) ** 2))

    calls = [((np.array([float(i), 1.0]),), {"scale": 2.0}) for i in range(5)]
    expected = [2.0 * (i * i + 1.0) for i in range(5)]
    proxy = judged(square_sum)
    assert H.call_many(square_sum, calls) == expected  # in-process
    assert H.call_many(proxy, calls) == expected and proxy._link.requests == 1  # judged: one round trip
    for fn in (square_sum_warns_at_3, judged(square_sum_warns_at_3)):
        with pytest.raises(HiddenTestFailure, match=r"call 4 of 5 of the test's case"):
            H.call_many(fn, calls, case="the test's case")


def test_a_gradient_from_a_batch_equals_the_one_from_single_calls():
    def J(w):
        return float(np.sum(np.sin(w) * w[::-1]))

    w = np.array([[0.3, -1.2], [2.0, 0.7]])
    proxy = judged(J)
    received = np.cos(w) * w[::-1]  # a term missing: (sin w)[::-1]
    singly = batch = None
    for f, f_many in ((J, None), (None, lambda points: H.call_many(proxy, [((p,), {}) for p in points]))):
        try:
            H.assert_gradient(f, w, received, "dJ/dw", f_many=f_many)
        except HiddenTestFailure as exc:
            if f is not None:
                singly = str(exc)
            else:
                batch = str(exc)
    assert singly is not None and singly == batch  # the same central differences, the same failure
    assert proxy._link.requests == 1


def test_a_student_exception_of_its_own_keeps_its_name_in_the_grader():
    from autograder.judging.judge import KernelError, _error_class

    # a class of the student's deriving directly from Exception, and one from a builtin
    mine = _error_class("ShapeMismatch", ["Exception", "BaseException"])
    assert mine.__name__ == "ShapeMismatch" and issubclass(mine, KernelError) and issubclass(mine, Exception)
    value = _error_class("ValueError", [])
    assert issubclass(value, ValueError) and issubclass(value, KernelError)
