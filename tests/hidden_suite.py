"""The tests that every assignment's hidden tests must pass, written once for tests/test_hidden_<m>.py.

Every assignment's hidden tests must pass its solution and every Right entry of its catalogue
silently, and fail the stub, every Wrong entry, an object equal to everything and a call of the
reference. Those checks are the same for every assignment; only its parts differ (which functions,
which modules, which notebook, how a hidden test is called), so each test file holds a subclass of
`HiddenSuite` that names its parts in class attributes, plus the tests of its own special cases.

Some assignments have more in common than others; the mixins below add what they share:
`Questions` (questions answered by a value, with Right and Wrong answers in the catalogue),
`NumpyLayers` (NumPy forward and backward passes written beside torch) and `RunSeeds` (hidden tests
that draw their inputs from the run's seed). A subclass lists the ones that fit it.

A parametrized test declares the class attributes it runs over with `each`; `pytest_generate_tests`
reads them from the assignment's class, so every test still runs once per function, entry, seed or
solution source, with the ids a `pytest.mark.parametrize` over those lists would give (see `each`).
"""

import itertools
import secrets
from functools import cache, partial

import nbformat
import pytest

from autograder.catalogue import Entry
from autograder.hidden import harness
from autograder.hidden.harness import HiddenTestFailure
from hidden_support import (
    AlwaysEqual,
    assert_fails_with_a_message,
    assert_hidden_tests_and_entries,
    assert_no_reference_function,
    assert_one_definition,
    assert_passes_silently,
    assert_reference_rejected,
    assert_stub_fails,
    define,
    entry_id,
    failure_message,
    reference_copy,
    wrong_and_right,
)

__all__ = [
    "HiddenSuite",
    "NumpyLayers",
    "Questions",
    "RunSeeds",
    "each",
    "equal_to_everything",
    "notebook_cells",
    "notebook_namespace",
]


@cache
def notebook_cells(path):
    """{grade_id: cell} of the notebook at `path`, for its cells that have a grade_id."""
    nb = nbformat.read(path, as_version=4)
    cells = ((c.metadata.get("nbgrader", {}).get("grade_id"), c) for c in nb.cells)
    return {grade_id: cell for grade_id, cell in cells if grade_id}


def notebook_namespace(path, names, defined=None):
    """{name: value} for each of `names`, as the notebook's cells of those grade_ids define them, run
    in that order where `defined` holds what the notebook's earlier cells have defined by then."""
    namespace = dict(defined or {})
    cells = notebook_cells(path)
    for name in names:
        exec(compile(cells[name].source, f"<notebook cell {name}>", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in names}


def each(argnames, attribute):
    """Run the decorated test once per item of the class attribute `attribute` of the assignment,
    as `pytest.mark.parametrize(argnames, ...)` would (several argnames: each item is a tuple).

    A test with several `each` runs once per combination, the top one varying slowest, and its id
    joins the items' ids in that order: a name as itself, an entry as `entry_id` gives it, a
    function by its name. A dict's keys are the ids of its values, and name them only where it has
    more than one (a single solution source or a single cheat adds nothing to the id). An empty
    attribute is an error, not a test that tests nothing."""

    def declare(test):
        test.axes = [(argnames, attribute), *getattr(test, "axes", [])]
        return test

    return declare


def equal_to_everything(**sizes):
    """{shape: a result equal to everything}: "object", an AlwaysEqual, and for each other shape a
    tuple of `size` of them (a cheat of a function that returns a pair, a triple...)."""
    tuples = {shape: tuple(AlwaysEqual() for _ in range(size)) for shape, size in sizes.items()}
    return {"object": AlwaysEqual(), **tuples}


def _choices(items, several_args):
    """[(a test's arguments, their id, or None where they add nothing to it)] for each item of an
    attribute that `each` names."""
    if isinstance(items, dict):
        named = len(items) > 1
        return [((value,), key if named else None) for key, value in items.items()]
    return [(item if several_args else (item,), _item_id(item)) for item in items]


def _item_id(value):
    if isinstance(value, Entry):
        return entry_id(value)
    if isinstance(value, tuple):
        return "-".join(_item_id(v) for v in value)
    return getattr(value, "__name__", None) or str(value)


class HiddenSuite:
    """The tests of every assignment's hidden tests. A subclass names its assignment's parts:

    - `hidden`, `catalogue`, `reference`: its modules autograder.hidden.<m>,
      autograder.catalogue.<m> and nn273.<m> (the reference's functions, whose calls are rejected);
    - `FUNCTIONS`: the graded functions (or classes), `ANSWERS`: the questions answered by a value;
    - `NOTEBOOK`: the solution notebook, and `NOTEBOOK_SOLUTION`, whether its solution cells are a
      second solution, tested as the reference copy is (once the notebook exists);
    - `NOTEBOOK_NAMES`: the names the notebook's first cell defines, which its solution cells use;
      `KERNEL_NAMES`: those a catalogue entry runs with besides the solution (by default the same);
    - `GUARDED_MODULES`: the modules whose functions the hidden module must not hold (by default
      the reference's); `FORWARD`: {backward pass: the forward pass its hidden test is given};
    - `CHEATS`: {shape: a result equal to everything}, `CHEATED`: the functions that return one
      (by default all), `CHEAT_FAILURE`: what the failure then says (a regular expression).

    From these the subclass gets, when it is defined: `SOLUTION` ({function: the reference copy's},
    see hidden_support.reference_copy), `SOLUTIONS` ({source: a solution}, the reference copy and
    where tested the notebook's), `KERNEL` (what a catalogue entry runs with: the kernel names and
    the solution, as in the grader's kernel), and the catalogue's entries of the graded functions,
    `WRONG`, `RIGHT` and both as `ENTRIES`, and of the questions, `WRONG_ANSWERS`, `RIGHT_ANSWERS`.

    Where an assignment differs beyond that, its subclass overrides `_run` (how its hidden cell
    calls a hidden test), `_reference_solution` (where the reference copy comes from) or
    `_cheat_result` (what a cheat returns), or a test of its own replaces the suite's.
    """

    ANSWERS = []
    NOTEBOOK_SOLUTION = True
    NOTEBOOK_NAMES = {}
    KERNEL_NAMES = None
    GUARDED_MODULES = None
    FORWARD = {}
    CHEATS = equal_to_everything()
    CHEATED = None
    CHEAT_FAILURE = "must (be numbers|return)"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.WRONG, cls.RIGHT = wrong_and_right(
            [e for e in cls.catalogue.ENTRIES if e.function not in cls.ANSWERS]
        )
        cls.ENTRIES = cls.WRONG + cls.RIGHT
        cls.WRONG_ANSWERS, cls.RIGHT_ANSWERS = wrong_and_right(
            [e for e in cls.catalogue.ENTRIES if e.function in cls.ANSWERS]
        )
        cls.SOLUTION = cls._reference_solution()
        cls.SOLUTIONS = {"reference copy": cls.SOLUTION}
        if cls.NOTEBOOK_SOLUTION and cls.NOTEBOOK.exists():
            cls.SOLUTIONS["notebook"] = notebook_namespace(
                cls.NOTEBOOK, cls.FUNCTIONS, cls.NOTEBOOK_NAMES
            )
        kernel_names = cls.NOTEBOOK_NAMES if cls.KERNEL_NAMES is None else cls.KERNEL_NAMES
        cls.KERNEL = {**kernel_names, **cls.SOLUTION}
        if cls.GUARDED_MODULES is None:
            cls.GUARDED_MODULES = (cls.reference.__name__,)
        if cls.CHEATED is None:
            cls.CHEATED = cls.FUNCTIONS

    @classmethod
    def _reference_solution(cls):
        """{function: its definition in the reference module's source, compiled elsewhere}."""
        copy = reference_copy(cls.reference)
        return {name: copy[name] for name in cls.FUNCTIONS}

    def pytest_generate_tests(self, metafunc):
        """Parametrize a test over the attributes its `each` name, as this assignment sets them."""
        axes = getattr(metafunc.function, "axes", [])
        if not axes:
            return
        argnames, choices = [], []
        for names, attribute in axes:
            items = getattr(self, attribute)
            if not items:
                raise ValueError(
                    f"{type(self).__name__}.{attribute} is empty: "
                    f"{metafunc.function.__name__} would test nothing"
                )
            argnames += [name.strip() for name in names.split(",")]
            choices.append(_choices(items, several_args="," in names))
        metafunc.parametrize(
            argnames,
            [
                pytest.param(
                    *(arg for args, _ in combination for arg in args),
                    id="-".join(part for _, part in combination if part is not None),
                )
                for combination in itertools.product(*choices)
            ],
        )

    def _run(self, name, fn, solution=None):
        """The hidden test of `name` on fn, as the notebook's hidden cell calls it (a backward pass
        with the forward pass of `solution`, by default the reference copy)."""
        test = getattr(self.hidden, f"test_{name}")
        if name in self.FORWARD:
            return test(fn, (self.SOLUTION if solution is None else solution)[self.FORWARD[name]])
        return test(fn)

    def _entry(self, function, description):
        """What the catalogue entry of `function` with this description defines, in the kernel."""
        [entry] = [e for e in self.ENTRIES if (e.function, e.description) == (function, description)]
        return define(entry, self.KERNEL)

    def _failure(self, function, description):
        """The hidden test's message on the Wrong entry of `function` with this description."""
        return failure_message(self._run, function, self._entry(function, description))

    def _answer(self, entry):
        """The value an answer entry assigns, as the notebook's answer cell would."""
        namespace = {}
        exec(compile(entry.source, f"<catalogue entry: {entry.description}>", "exec"), namespace)  # noqa: S102
        return namespace[entry.function]

    def _notebook_answers(self):
        """The values the notebook's answer cells assign (the solution's answers)."""
        return notebook_namespace(self.NOTEBOOK, self.ANSWERS)

    def _cheat_result(self, name, result):
        """What a cheat of `name` returns for a result equal to everything of one shape."""
        return result

    def test_every_graded_function_has_a_hidden_test_and_catalogue_entries(self):
        assert_hidden_tests_and_entries(
            self.hidden, self.FUNCTIONS + self.ANSWERS, self.catalogue.ENTRIES
        )
        assert set(self.FUNCTIONS) <= set(self.reference.__all__)

    @each("entry", "ENTRIES")  # cheats: see check
    def test_entry_is_one_definition_using_only_the_notebooks_names(self, entry):
        assert_one_definition(entry)

    def test_hidden_module_holds_no_reference_function(self):
        assert_no_reference_function(self.hidden, *self.GUARDED_MODULES)

    @each("name", "FUNCTIONS")
    @each("solution", "SOLUTIONS")
    def test_solution_passes_silently(self, name, solution, capfd):
        run = partial(self._run, solution=solution)
        assert_passes_silently(run, name, solution[name], capfd)

    @each("entry", "RIGHT")
    def test_right_entry_passes_silently(self, entry, capfd):
        assert_passes_silently(self._run, entry.function, define(entry, self.KERNEL), capfd)

    @each("entry", "WRONG")
    def test_wrong_entry_fails_with_a_message(self, entry, capfd):
        assert_fails_with_a_message(self._run, entry.function, define(entry, self.KERNEL), capfd)

    @each("name", "FUNCTIONS")
    def test_stub_fails(self, name):
        assert_stub_fails(self._run, name)

    @each("name", "FUNCTIONS")
    def test_calling_the_reference_is_rejected(self, name):
        assert_reference_rejected(self._run, name, getattr(self.reference, name))

    @each("result", "CHEATS")
    @each("name", "CHEATED")
    def test_object_equal_to_everything_fails(self, result, name):
        cheat_result = self._cheat_result(name, result)

        def cheat(*args, **kwargs):
            return cheat_result

        with pytest.raises(HiddenTestFailure, match=self.CHEAT_FAILURE):
            self._run(name, cheat)


class Questions:
    """The questions answered by a value (`answer_<name> = ...`), each with a hidden test and Right
    and Wrong answers in the catalogue: the notebook's answers and the Right ones pass, the Wrong
    ones and no answer fail, and a failure tells none of `ANSWERS_NOT_TOLD` (the solution's answers,
    as a message could give them away)."""

    @each("name", "ANSWERS")
    def test_notebook_answer_passes(self, name):
        if not self.NOTEBOOK.exists():
            pytest.skip("the solution notebook is not written yet")
        getattr(self.hidden, f"test_{name}")(self._notebook_answers()[name])

    @each("entry", "RIGHT_ANSWERS")
    def test_right_answer_passes(self, entry):
        getattr(self.hidden, f"test_{entry.function}")(self._answer(entry))

    @each("entry", "WRONG_ANSWERS")
    def test_wrong_answer_fails_without_telling_the_answer(self, entry):
        with pytest.raises(HiddenTestFailure, match="the answer to") as failure:
            getattr(self.hidden, f"test_{entry.function}")(self._answer(entry))
        message = str(failure.value).replace(repr(self._answer(entry)), "")
        for told in self.ANSWERS_NOT_TOLD:
            assert told not in message, message

    @each("name", "ANSWERS")
    def test_unanswered_question_fails(self, name):
        with pytest.raises(HiddenTestFailure, match="the answer to"):
            getattr(self.hidden, f"test_{name}")(None)


class NumpyLayers:
    """NumPy forward passes and the backward passes that read their caches, written in a notebook
    that imports torch. `BY_TORCH`: [(exercise, a version of it that calls torch)], each rejected;
    `BACKWARD_FROM_CACHE`: the backward passes called as (dout, cache), the forward pass's input
    first in the cache, neither of which they may change; `WRONG_FORWARDS`: [(forward pass, the
    description of one of its Wrong entries)], which the backward pass's hidden test must name."""

    @each("name, fn", "BY_TORCH")
    def test_numpy_exercise_that_calls_torch_is_rejected(self, name, fn):
        with pytest.raises(
            HiddenTestFailure, match=r"a library this exercise asks you to do without \(.*torch"
        ):
            self._run(name, fn)

    @each("name", "BACKWARD_FROM_CACHE")
    def test_modifying_dout_or_the_cache_fails(self, name):
        solution = self.SOLUTION[name]

        def vandal_dout(dout, cache):
            result = solution(dout, cache)
            dout[...] = 0
            return result

        def vandal_cache(dout, cache):
            result = solution(dout, cache)
            cache[0][...] = 0  # the input, kept in the cache
            return result

        with pytest.raises(HiddenTestFailure, match="modified its argument number 1"):
            self._run(name, vandal_dout)
        with pytest.raises(HiddenTestFailure, match=r"modified its argument number 2\[0\]"):
            self._run(name, vandal_cache)

    def test_a_wrong_forward_is_named_in_the_backward_test(self):
        backward_of = {forward: backward for backward, forward in self.FORWARD.items()}
        for forward, description in self.WRONG_FORWARDS:
            backward = backward_of[forward]
            with pytest.raises(HiddenTestFailure, match=f"Fix {forward} first"):
                getattr(self.hidden, f"test_{backward}")(
                    self.SOLUTION[backward], self._entry(forward, description)
                )


class RunSeeds:
    """Hidden tests that draw their inputs from the run's seed (`grade --seed`): every solution
    passes under seeds drawn afresh each run (in the test ids, to replay one)."""

    SEEDS = [secrets.randbits(32) for _ in range(3)]

    @each("name", "FUNCTIONS")
    @each("seed", "SEEDS")
    def test_solution_passes_under_any_run_seed(self, name, seed):
        """Grading draws the inputs from a fresh seed: a correct solution passes them all."""
        before = harness.seed()
        harness.set_seed(seed)
        try:
            for solution in self.SOLUTIONS.values():
                self._run(name, solution[name], solution)
        finally:
            harness.set_seed(before)
