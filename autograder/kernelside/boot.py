"""The grading kernel: IPython with a cap on its address space (`NN273_KERNEL_MEMORY_MB`).

Run inside the sandbox as `python -I <site>/kernelside/boot.py -f CONNECTION_FILE`: isolated, so the
student's folder (the working folder) is not on sys.path while the kernel starts, and the site (the
folder above this one) is put first. With the cap, a submission
that asks for too much memory gets a MemoryError in the cell that asked, which scores that cell zero,
instead of being killed by the system, which would lose the whole notebook's grades. The cap is set
before any student code runs, hard and soft alike, so the kernel cannot raise it again. The cap is
per process (a forked child has one of its own): the sandbox's memory and tasks as a whole are held by
its launcher, outside it (autograder/sandbox/limits.py).
"""

import os
import resource
import sys
import types


def main():
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:1] = [site]  # the site in place of this script's own folder
    limit_mb = int(os.environ.get("NN273_KERNEL_MEMORY_MB", "0"))
    if limit_mb > 0:
        limit = limit_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    _font_cache(site)
    without = [name for name in os.environ.get("NN273_WITHOUT", "").split(",") if name]
    if without:  # a NumPy-only kernel: `import torch` gives stand-ins (kernelside/absent.py)
        from kernelside import absent

        absent.install(without)
    else:
        _dynamo_on_demand()
    from ipykernel.kernelapp import launch_new_instance

    # Only errors from the kernel's own log: its notices are noise in an instructor's grading run.
    launch_new_instance(argv=[*sys.argv[1:], "--IPKernelApp.log_level=ERROR"])


def _font_cache(site):
    """Start matplotlib from the font list built for the site, not by scanning every font again."""
    built, target = os.path.join(site, "matplotlib"), os.environ.get("MPLCONFIGDIR")
    if not (target and os.path.isdir(built)):
        return
    import shutil

    os.makedirs(target, exist_ok=True)
    for name in os.listdir(built):
        if name.endswith(".json") and not os.path.exists(os.path.join(target, name)):
            shutil.copyfile(os.path.join(built, name), os.path.join(target, name))


class _DynamoOnDemand(types.ModuleType):
    """What torch needs of torch._dynamo when nothing is compiled, without importing it.

    Eager torch calls torch._dynamo on an optimizer's first step (`disable`, to keep the compiler out
    of the step, and `graph_break` around it), and importing torch._dynamo then costs 1.8 s of every
    grading kernel's CPU. Uncompiled, both do nothing. Anything else asked of torch._dynamo (a
    submission that compiles) imports the real module, which takes this one's place."""

    @staticmethod
    def disable(fn=None, recursive=True, **kwargs):
        return fn if fn is not None else (lambda f: f)

    @staticmethod
    def graph_break(msg=""):
        return None

    def __getattr__(self, name):
        # dunders other than __path__ are looked up by tools that walk sys.modules: not a reason to
        # import; __path__ is asked for by the import of a submodule (torch._dynamo.config, ...)
        if name.startswith("__") and name != "__path__":
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        import importlib

        return getattr(importlib.import_module(self.__name__), name)


def _dynamo_on_demand():
    if "torch._dynamo" not in sys.modules:
        sys.modules["torch._dynamo"] = _DynamoOnDemand("torch._dynamo")


if __name__ == "__main__":
    main()
