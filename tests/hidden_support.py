"""What the in-process tests of every assignment's hidden tests (tests/test_hidden_<m>.py) share.

Those tests pass the solution and every Right entry of the catalogue through the hidden tests, and
expect the stub, every Wrong entry, a cheat and a call of the reference to fail. The harness rejects
any function whose code lives in a guarded nn273 module, so "the solution" there is the module's own
source compiled under another file name (`reference_copy`): the same code, not the guarded module.

Each test file keeps its assignment's parts (which functions, the kernel an entry runs in, how a
hidden test is called) and hands them to the checks below. `run` is always the file's way to call
the hidden test of a graded function on a candidate: `run(name, fn)`.
"""

from pathlib import Path

import pytest

from autograder.hidden.harness import HiddenTestFailure

__all__ = [
    "AlwaysEqual",
    "assert_fails_with_a_message",
    "assert_hidden_tests_and_entries",
    "assert_modifying_the_first_argument_fails",
    "assert_no_reference_function",
    "assert_one_definition",
    "assert_passes_silently",
    "assert_reference_rejected",
    "assert_stub_fails",
    "define",
    "entry_id",
    "failure_message",
    "reference_copy",
    "wrong_and_right",
]


class AlwaysEqual:
    """A cheat's result: equal to everything, so only a conversion to numbers catches it."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def reference_copy(module):
    """The namespace of `module`'s source run under another file name, out of the guard's reach."""
    source = Path(module.__file__).read_text()
    namespace = {"__name__": f"reference_copy_of_{module.__name__}", "__package__": "nn273"}
    filename = f"<copy of {module.__name__.replace('.', '/')}.py>"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (the point)
    return namespace


def wrong_and_right(entries):
    """The catalogue's Wrong entries and its Right ones, each in catalogue order. Cheats attack the
    process they run in, so they are left to `check`, which runs them in a grading kernel."""
    return [e for e in entries if not e.right and not e.cheat], [e for e in entries if e.right]


def define(entry, kernel):
    """Run an entry's source as the grader does, in a copy of `kernel` (the names the notebook has
    defined by then), and return the function it defines."""
    namespace = dict(kernel)
    filename = f"<catalogue entry: {entry.description}>"
    exec(compile(entry.source, filename, "exec"), namespace)  # noqa: S102
    return namespace[entry.function]


def entry_id(entry):
    """The pytest id of a catalogue entry: `function: description`."""
    return f"{entry.function}: {entry.description}"


def failure_message(run, name, fn):
    """The message of the HiddenTestFailure that the hidden test of `name` must raise on `fn`."""
    with pytest.raises(HiddenTestFailure) as failure:
        run(name, fn)
    return str(failure.value)


def assert_hidden_tests_and_entries(hidden, functions, entries):
    """`hidden` tests exactly `functions`, each with two Wrong entries and a Right one at least."""
    assert sorted(hidden.__all__) == sorted(f"test_{name}" for name in functions)
    wrong, right = wrong_and_right(entries)
    for name in functions:
        assert sum(e.function == name for e in wrong) >= 2, f"{name} needs two Wrong entries"
        assert sum(e.function == name for e in right) >= 1, f"{name} needs a Right entry"


def assert_one_definition(entry):
    """An entry is the one definition of its function (or class, for a capitalized name such as
    ResidualBlock), importing nothing and no nn273."""
    kind = "class" if entry.function[:1].isupper() else "def"
    assert entry.source.startswith(f"{kind} {entry.function}("), entry.source
    assert "import" not in entry.source and "nn273" not in entry.source, entry.source
    assert entry.source.count("\ndef ") == 0 and entry.source.count("\nclass ") == 0, entry.source


def assert_no_reference_function(hidden, *reference_names):
    """The hidden-test module holds nothing defined in the reference modules it guards."""
    for value in vars(hidden).values():
        assert getattr(value, "__module__", None) not in reference_names, value


def assert_passes_silently(run, name, fn, capture):
    """The hidden test of `name` passes `fn` and writes nothing (capture: capsys or capfd)."""
    run(name, fn)
    written = capture.readouterr()
    assert written == ("", ""), f"the hidden test of {name} wrote {written}"


def assert_fails_with_a_message(run, name, fn, capture):
    """The hidden test of `name` fails `fn` with a message naming `name`, and writes nothing."""
    message = failure_message(run, name, fn)
    assert name in message, message
    written = capture.readouterr()
    assert written == ("", ""), f"the hidden test of {name} wrote {written}"


def assert_stub_fails(run, name):
    """The released stub (`raise NotImplementedError()`) fails with its own NotImplementedError."""
    stub = {}
    source = (
        f"def {name}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )
    exec(source, stub)  # noqa: S102
    with pytest.raises(NotImplementedError):
        run(name, stub[name])


def assert_reference_rejected(run, name, reference):
    """Calling the reference fails, directly or through a wrapper of the student's own."""
    with pytest.raises(HiddenTestFailure, match="reference implementation"):
        run(name, reference)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)

    with pytest.raises(HiddenTestFailure, match="reference implementation"):
        run(name, wrapper)


def assert_modifying_the_first_argument_fails(run, name, solution):
    """A right result from a function that zeroes its first argument (an array) fails."""

    def vandal(*args):
        out = solution(*args)
        args[0][...] = 0
        return out

    with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
        run(name, vandal)


# ------------------------------------------------------------------ judged calls, in a loopback
class Loopback:
    """A grader's link to a "kernel" in this process: every request crosses the wire both ways, as
    data, and the kernel side's own code (autograder/kernelside/agent.py) makes the call, so a
    hidden test runs here as it does while grading (a Generator crosses as its state; an argument
    comes back changed only where the test lets it, updates=)."""

    def __init__(self, functions):
        self.functions, self.forbid_asked, self.evidence = functions, {}, []
        self.requests = 0  # round trips made

    def request(self, op, target, args=(), kwargs=None, attr=None, guard=None):
        from autograder.kernelside import agent, wire

        assert op in ("call", "calls"), f"the loopback makes calls only, not {op!r}"
        args = wire.decode(wire.encode(list(args)), layout=True)
        kwargs = wire.decode(wire.encode(dict(kwargs or {})), layout=True)
        fn = self.functions[target["name"]]
        outcome = agent._call(fn, args, kwargs, guard or {}) if op == "call" else agent._calls(fn, args, guard or {})
        self.requests += 1
        return wire.decode(wire.encode(outcome))


def judged(function):
    """`function` as a grading test sees a student's: a proxy whose calls go through a Loopback."""
    from autograder.judging.judge import Proxy

    return Proxy(Loopback({function.__name__: function}), function.__name__)
