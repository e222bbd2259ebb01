"""Known wrong and alternative right implementations, one module per assignment.

Each module defines `ENTRIES`, a list of `Wrong(...)` and `Right(...)`. `python -m autograder check`
starts the solution notebook's kernel (sandboxed, as in grading), then for every entry replaces the
definition of `function` in the kernel with `source`, judges that function's test cells
(`test_<function>` and `hidden_<function>`) in the grader and restores the solution: a `Wrong` entry
must fail the hidden test, a `Right` one must pass both.

A `Cheat` is a `Wrong` that also attacks the grading itself (it patches numpy, the test helpers,
builtins or IPython, or returns objects that pretend to be right): it must earn neither test's point.
Cheats run only in a grading kernel, never in-process (tests/test_hidden_*.py skip them).

An `Evasion` is a cheat whose answer is right but made with what the exercise forbids (torch in a
NumPy exercise), out of sight of any check made in the student's kernel (in a thread, after
`sys.setprofile(None)`): the hidden test, which holds the rule, must reject it; the visible test,
which does not, may pass it.

A `Wrong` entry's `explain` is what a student whose result equals the entry's is told, in the hidden
test's failure and the feedback page ("Diagnosis: ..."; see autograder/hidden/harness.py): the
mistake in a sentence, addressed to the student, never the right code.
"""

from dataclasses import dataclass
from importlib import import_module

__all__ = ["Cheat", "Entry", "Evasion", "Right", "Wrong", "entries"]


@dataclass(frozen=True)
class Entry:
    function: str
    description: str
    source: str
    right: bool
    cheat: bool = False
    explain: str = ""  # a Wrong's student-facing account of the mistake, for a diagnosis
    evasion: bool = False  # a cheat that only the hidden test must reject (see Evasion)


def Wrong(function, description, source, explain=""):
    """A plausible mistake that the hidden test of `function` must reject; `explain` tells a student
    whose result equals this one what the mistake is."""
    return Entry(function, description, source, right=False, explain=explain)


def Right(function, description, source):
    """A different but correct implementation that must keep full marks."""
    return Entry(function, description, source, right=True)


def Cheat(function, description, source):
    """A submission out to forge the grade of `function`: both of its test cells must fail."""
    return Entry(function, description, source, right=False, cheat=True)


def Evasion(function, description, source):
    """A right answer made with a forbidden library out of sight of the kernel's own checks: the
    hidden test of `function` must reject it."""
    return Entry(function, description, source, right=False, cheat=True, evasion=True)


def entries(assignment):
    from ..course import ASSIGNMENTS

    module = import_module(f"{__name__}.{ASSIGNMENTS[assignment]}")
    return list(module.ENTRIES)
