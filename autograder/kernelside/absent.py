"""Stand-ins for libraries that a NumPy-only grading kernel does not have.

The hidden tests of a NumPy exercise (forbid=[torch]) call the student's function in a second
kernel whose sandbox has no torch on its file system (autograder/sandbox/launch.py masks its folders). A
notebook's first cell still says `import torch` and `torch.manual_seed(273)`, and the course's
package imports torch in modules the exercise never needs, so `import torch` must not fail there:
it gives a stand-in instead. Every name of a stand-in is another stand-in; calling one gives one;
none is ever a number or an array, so a result that needs torch cannot come out right.

Each use of a stand-in is noted (`USED`): kernelside/guard.py reports the uses made during a call
as that call's forbidden calls, which the hidden test turns into a failure that says what was used.
A submission can silence the note (it runs here); it cannot make a stand-in compute.
"""

import importlib.abc
import importlib.machinery
import sys

__all__ = ["USED", "install"]

USED = []  # "torch.conv2d" for each use, while a call is watched (guard.py empties and reads it)
MAX_USED = 20


def _note(name):
    if len(USED) < MAX_USED:
        USED.append(name)


class _Missing(type):
    """The type of every stand-in: a class, so that `class Net(torch.nn.Module)` and
    `isinstance(x, torch.Tensor)` still work (the latter is always False)."""

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _missing(f"{cls.__qualname__}.{name}")

    def __call__(cls, *args, **kwargs):
        _note(f"{cls.__qualname__}()")
        return _missing(f"{cls.__qualname__}()")

    def __repr__(cls):
        return f"<{cls.__qualname__}: not available in this kernel>"

    def __bool__(cls):
        return False

    def _refuse(cls, *args):
        _note(cls.__qualname__)
        raise TypeError(
            f"{cls.__qualname__} is not available: this exercise is graded in a kernel without torch "
            "(write it with NumPy)"
        )

    __float__ = __int__ = __index__ = __complex__ = _refuse

    def _operation(cls, *args):
        _note(cls.__qualname__)
        return cls

    __add__ = __sub__ = __mul__ = __matmul__ = __truediv__ = __floordiv__ = __mod__ = __pow__ = _operation
    __radd__ = __rsub__ = __rmul__ = __rmatmul__ = __rtruediv__ = __rfloordiv__ = __rmod__ = __rpow__ = _operation
    __neg__ = __pos__ = __abs__ = __getitem__ = __lt__ = __le__ = __gt__ = __ge__ = _operation


def _missing(qualname):
    name = qualname.rsplit(".", 1)[-1]
    cls = _Missing(name, (), {"__module__": qualname.split(".", 1)[0], "__array_priority__": -1000})
    cls.__qualname__ = qualname
    return cls


class _AbsentModule(type(sys)):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _missing(f"{self.__name__}.{name}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, packages):
        self.packages = tuple(packages)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".", 1)[0] in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _AbsentModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def install(packages):
    """Make `import <package>` (and its submodules) give stand-ins, for each of `packages`."""
    packages = [p for p in packages if p]
    if packages:
        sys.meta_path.insert(0, _Finder(packages))
