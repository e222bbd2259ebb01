"""Known wrong and alternative right implementations, one module per assignment.

Each module defines `ENTRIES`, a list of `Wrong(...)` and `Right(...)`. `python -m autograder check`
executes the solution notebook once, then for every entry replaces the definition of `function` in
the kernel with `source`, runs that function's test cells (`test_<function>` and `hidden_<function>`)
and restores the solution: a `Wrong` entry must fail the hidden test, a `Right` one must pass both.
"""

from dataclasses import dataclass
from importlib import import_module

__all__ = ["Entry", "Right", "Wrong", "entries"]


@dataclass(frozen=True)
class Entry:
    function: str
    description: str
    source: str
    right: bool


def Wrong(function, description, source):
    """A plausible mistake that the hidden test of `function` must reject."""
    return Entry(function, description, source, right=False)


def Right(function, description, source):
    """A different but correct implementation that must keep full marks."""
    return Entry(function, description, source, right=True)


def entries(assignment):
    from ..course import ASSIGNMENTS

    module = import_module(f"{__name__}.{ASSIGNMENTS[assignment]}")
    return list(module.ENTRIES)
