"""One guarded call of a student's function, the same in a notebook and in a grading kernel.

`guarded_call` runs `fn(*args, **kwargs)` and reports what happened as plain facts: the value or the
exception, the warnings it issued, the functions of forbidden modules it called, whether it called a
required module, which array argument it modified, and the values after the call of the arguments
it may change (batchnorm's running statistics). The hidden-test harness turns the facts into
a verdict: in-process when a solution notebook runs its own tests, in the grader's process (from
facts the kernel sent back as data) while grading.
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = ["guarded_call", "module_places"]

MAX_WARNINGS = 20


def guarded_call(fn, args, kwargs, errstate=None, forbid=(), require=(), inputs=True, forbid_modules=(), updates=()):
    """Call fn; returns {"value", "exception", "warnings", "forbidden", "required", "modified", "updated"}.

    errstate: NumPy's error handling during the call (e.g. {"over": "raise"}).
    forbid, require: sets of files and folders (see `module_places`) whose Python functions fn must
    not call, or must call at least one of.
    forbid_modules: names of modules (e.g. "torch") whose built-in functions, written in C, fn must
    not call either (torch.from_numpy, torch.conv2d and Tensor.numpy run no Python code).
    inputs: check that the array arguments (also inside lists, tuples and dicts) are unchanged.
    updates: positions (0-based) of the arguments fn may change in place, as its contract says; they
    are left out of that check, and "updated" holds them as they are after the call.
    """
    updates = [i for i in updates if type(i) is int and 0 <= i < len(args)]
    before = _snapshot(args, kwargs, skip=updates) if inputs else []
    seen = {"forbidden": [], "required": False}

    def profile(frame, event, arg):
        if event == "call":
            filename = frame.f_code.co_filename
            if len(seen["forbidden"]) < 5 and _inside(filename, forbid):
                seen["forbidden"].append(f"{frame.f_code.co_name}() of {filename}")
            elif require and not seen["required"] and _inside(filename, require):
                seen["required"] = True
        elif event == "c_call" and forbid_modules and len(seen["forbidden"]) < 5:
            module = _builtin_module(arg)
            if any(module == m or module.startswith(m + ".") for m in forbid_modules):
                seen["forbidden"].append(f"{getattr(arg, '__name__', '?')}() of module {module}")

    facts = {"value": None, "exception": None}
    # In a kernel without torch (kernelside/absent.py), what the call did with the stand-ins.
    absent = sys.modules.get(f"{__package__}.absent") if __package__ else None
    if absent is not None:
        absent.USED.clear()
    errstate = {k: v for k, v in (errstate or {}).items() if k in ("over", "divide", "invalid", "under")}
    old_profile = sys.getprofile()
    with warnings.catch_warnings(record=True) as caught, np.errstate(**errstate):
        warnings.simplefilter("always")
        # An object of someone else's collected during the call (an event loop left unclosed) warns
        # then too: not a warning of the student's code, and no sign of a wrong result.
        warnings.simplefilter("ignore", ResourceWarning)
        if forbid or require or forbid_modules:
            sys.setprofile(profile)
        try:
            facts["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 (every failure is a fact for the verdict)
            if isinstance(exc, KeyboardInterrupt):
                raise
            facts["exception"] = exc
        finally:
            sys.setprofile(old_profile)
    facts["warnings"] = [(w.category.__name__, str(w.message)[:1000]) for w in caught[:MAX_WARNINGS]]
    if absent is not None:
        for used in absent.USED:
            package = used.split(".", 1)[0].rstrip("()")
            if len(seen["forbidden"]) < 5 and any(package == m.split(".")[0] for m in forbid_modules):
                seen["forbidden"].append(f"{used} of module {package}, which this kernel does not have")
        absent.USED.clear()
    facts["forbidden"] = seen["forbidden"]
    facts["required"] = seen["required"]
    facts["modified"] = _changed(before, args, kwargs) if inputs else None
    facts["updated"] = [args[i] for i in updates]
    return facts


def module_places(names):
    """The files and folders of the modules named (e.g. "torch.autograd", "nn273.linear") that exist
    here, spelled both as imported and resolved, as code objects name their files."""
    import importlib.util

    found = set()
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            continue
        path = os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin
        found |= {os.path.abspath(path), str(Path(path).resolve())}
    return frozenset(found)


def _builtin_module(builtin):
    """The module a built-in function or method belongs to ('' if it does not say)."""
    module = getattr(builtin, "__module__", None) or getattr(getattr(builtin, "__objclass__", None), "__module__", None)
    return module if isinstance(module, str) else ""


def _inside(filename, places):
    return filename in places or any(filename.startswith(p + os.sep) for p in places)


def _leaves(value, path):
    """(path, array) for every ndarray in value, looking inside lists, tuples and dicts."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}[{key!r}]")


def _inputs(args, kwargs, skip=()):
    for i, a in enumerate(args):
        if i not in skip:
            yield from _leaves(a, f"argument number {i + 1}")
    for k, v in kwargs.items():
        yield from _leaves(v, k)


def _snapshot(args, kwargs, skip=()):
    return [(path, np.array(a, copy=True)) for path, a in _inputs(args, kwargs, skip)]


def _changed(before, args, kwargs):
    now = dict(_inputs(args, kwargs))
    for path, old in before:
        new = now.get(path)
        if new is None or old.shape != new.shape or not np.array_equal(old, new, equal_nan=True):
            return path
    return None
