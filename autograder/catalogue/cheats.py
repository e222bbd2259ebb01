"""Cheats: submissions out to forge a grade rather than earn it, as `check` runs them.

Each is built for one graded function of one assignment by `cheats(function, wrong_body)`: the
function is answered wrongly (`wrong_body`) and the rest of the source attacks the grading from the
kernel: it patches numpy's comparisons, the hidden-test helpers, builtins or IPython's exception
handling, calls the course's reference, or returns objects that pretend to equal anything. Graded in
the judged path, none of them may earn the visible or the hidden test's point.
"""

from . import Cheat

__all__ = ["cheats"]

_PATCH_NUMPY = """\
import numpy as np
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
"""

_PATCH_HARNESS = """\
import os, sys
try:
    from autograder.hidden import harness
    harness.Harness.call = lambda self, fn, *args, **kwargs: fn(*args)
    harness.Harness.assert_close = lambda *args, **kwargs: None
    harness.Harness.as_float = lambda self, value, *args, **kwargs: value
except ImportError:
    pass
# and a fake autograder package of its own, first on sys.path, whose tests all pass
os.makedirs("autograder/hidden", exist_ok=True)
open("autograder/__init__.py", "w").close()
with open("autograder/hidden/__init__.py", "w") as f:
    f.write("def __getattr__(name):\\n    return lambda *args, **kwargs: None\\n")
sys.path.insert(0, os.getcwd())
for name in [m for m in sys.modules if m.startswith("autograder")]:
    del sys.modules[name]
"""

_PATCH_BUILTINS = """\
import builtins
builtins.isinstance = lambda *args: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
"""

_PATCH_IPYTHON = """\
ip = get_ipython()
ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
ip.showtraceback = lambda *args, **kwargs: None
"""

_EQUAL_TO_EVERYTHING = """\
class _Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, dtype=None, copy=None): return _expected()
    __hash__ = float.__hash__
def _expected():
    import inspect  # look for the test's expected values in the caller's frames
    frame = inspect.currentframe()
    while frame is not None:
        for name in ("expected", "exact", "want"):
            if name in frame.f_locals:
                return frame.f_locals[name]
        frame = frame.f_back
    return 0.0
"""


def cheats(function, signature, wrong_body, reference_module):
    """Cheat entries for `function` (defined as `def function(signature):`), each answering with
    `wrong_body` (an indented block) while attacking the grading some other way."""
    define = f"def {function}({signature}):\n{wrong_body}"
    return [
        Cheat(function, "patches numpy's comparisons, answers wrongly", _PATCH_NUMPY + define),
        Cheat(function, "replaces the hidden-test helpers and ships a fake autograder", _PATCH_HARNESS + define),
        Cheat(function, "patches builtins (isinstance, AssertionError)", _PATCH_BUILTINS + define),
        Cheat(function, "swallows every exception in IPython", _PATCH_IPYTHON + define),
        Cheat(
            function,
            f"calls the course's reference, nn273.{reference_module}.{function}",
            f"def {function}({signature}):\n    from nn273.{reference_module} import {function} as reference\n"
            f"    return reference({_call(signature)})\n",
        ),
        Cheat(
            function,
            "returns an object equal to everything whose array is the test's expected value",
            _EQUAL_TO_EVERYTHING + f"def {function}({signature}):\n    return _Anything(0.0)\n",
        ),
    ]


def _call(signature):
    return ", ".join(p.split("=")[0].strip() for p in signature.split(","))
