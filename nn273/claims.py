"""A notebook's seed, and the claims it checks about its own numbers.

Every random draw of a notebook derives from one seed, `notebook_seed()`: the environment
variable NN273_SEED when it is set, else the notebook's default. A sentence of the text that
compares (A beats B, X helps, Y is lower by a factor) is checked by `claim(...)` in a visible cell
right after the numbers it rests on: the notebook checks its own claim, and a student sees it
checked. The course's `claims` command replays each notebook under other seeds and says
which claims held under which seed.

    >>> claim(0.12 < 0.31, "the residual network ends lower than the plain one", residual=0.12, plain=0.31)
    claim holds: the residual network ends lower than the plain one (residual 0.12, plain 0.31)
"""

import math
import numbers
import os

import numpy as np

__all__ = ["SEED_VARIABLE", "ClaimFailed", "claim", "notebook_seed"]

SEED_VARIABLE = "NN273_SEED"


def notebook_seed(default=273):
    """The seed every random draw of the notebook derives from: NN273_SEED, else `default`."""
    value = os.environ.get(SEED_VARIABLE)
    if value is None or value.strip() == "":
        return default
    try:
        seed = int(value)
    except ValueError:
        raise ValueError(
            f"{SEED_VARIABLE} must be a whole number, got {value!r}; unset it to use the notebook's seed {default}"
        ) from None
    if seed < 0:
        raise ValueError(f"{SEED_VARIABLE} must be 0 or more (NumPy and torch seeds are), got {seed}")
    return seed


class ClaimFailed(AssertionError):
    """A claim of the text does not hold on the numbers this run computed."""


def claim(holds, statement, **measured):
    """Check a sentence of the text on this run's numbers.

    holds: the comparison, a bool (or a NumPy bool); statement: the sentence as the text says it;
    measured: the numbers it rests on, printed to 2 significant digits (a precision that survives
    another machine's rounding) with the verdict. Prints "claim holds: ..." or raises ClaimFailed.
    """
    if not isinstance(statement, str) or not statement:
        raise TypeError(f"claim's statement must be the sentence it checks, got {statement!r}")
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(
            f"claim takes the comparison's result (True or False), got {type(holds).__name__}; "
            f"write the comparison itself, e.g. claim(a < b, ...)"
        )
    numbers_ = ", ".join(f"{name} {_short(value)}" for name, value in measured.items())
    text = statement + (f" ({numbers_})" if numbers_ else "")
    if not bool(holds):
        raise ClaimFailed(f"claim does not hold: {text}")
    print(f"claim holds: {text}")


def _short(value):
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value) or value == 0:
            return str(value)
        return f"{value:.2g}"
    return str(value)
