"""Replay solution notebooks with nbval under other numerical kernels: `python -m autograder.replay [ID...]`.

A stored output is a promise that the notebook prints the same text on any machine. The BLAS and
the vector code a machine picks round differently (OpenBLAS's SkylakeX kernels against its Haswell
ones, torch's AVX-512 code against its AVX2 one, MKL's code paths), so a number printed with one
digit too many, or a training run that hangs on the last bit, replays only where it was stored.
Each SETTING below forces kernels of another machine on this one, through the environment
variables that the installed libraries read when they load:

- OPENBLAS_CORETYPE: NumPy's OpenBLAS (a DYNAMIC_ARCH build) uses that CPU's kernels
  (threadpoolctl reports them as its `architecture`; Prescott shows as Katmai, its generic
  SSE kernels);
- ATEN_CPU_CAPABILITY: torch's own vectorized code (default = no AVX, avx2);
- MKL_CBWR: the MKL linked into torch's wheel (its matrix products), COMPATIBLE = the code path
  that every x86-64 CPU can run.

This OpenBLAS (NumPy's wheel) has kernels for Katmai (what Prescott, Core2 and Opteron get),
Nehalem, Sandybridge, Haswell, SkylakeX and later; the first three settings run on any x86-64 CPU
(SSE3); the AVX2 one needs AVX2 and FMA, and is skipped
(saying so) on a CPU without them. `pytest` replays each notebook under one setting in turn
(tests/test_replay.py, in the background, conftest.py); this command replays every notebook under
every setting and prints the table.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .course import COURSE, ROOT

__all__ = ["SETTINGS", "Replay", "replay", "setting_for", "unsupported"]


@dataclass(frozen=True)
class Setting:
    name: str
    env: dict
    needs: frozenset = field(default_factory=frozenset)  # CPU flags (/proc/cpuinfo) the kernels use

    def describe(self):
        return " ".join(f"{k}={v}" for k, v in self.env.items())


SETTINGS = [
    # an x86-64 of 2005: OpenBLAS's generic SSE3 kernels (reported as Katmai), torch without AVX,
    # MKL's compatible path
    Setting("sse3", {"OPENBLAS_CORETYPE": "Prescott", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}),
    # OpenBLAS's Nehalem kernels (SSE3 code, which OpenBLAS also runs on AMD's Barcelona and
    # Intel's Atom), torch without AVX, MKL's own choice for this CPU
    Setting("nehalem", {"OPENBLAS_CORETYPE": "Nehalem", "ATEN_CPU_CAPABILITY": "default"}),
    # OpenBLAS's Nehalem kernels, torch's own choice for this CPU, MKL's compatible path
    Setting("nehalem-mkl", {"OPENBLAS_CORETYPE": "Nehalem", "MKL_CBWR": "COMPATIBLE"}),
    # a laptop of the last ten years
    Setting(
        "avx2",
        {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
        needs=frozenset({"avx2", "fma"}),
    ),
]


def setting_for(index):
    """The setting that `pytest` replays the index-th notebook under: the settings in turn."""
    return SETTINGS[index % len(SETTINGS)]


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def unsupported(setting):
    """Why this CPU cannot run the setting's kernels (None when it can): forcing kernels the CPU
    lacks kills the process with an illegal instruction."""
    missing = sorted(setting.needs - _cpu_flags())
    return f"this CPU lacks {', '.join(missing)}" if missing else None


@dataclass
class Replay:
    assignment: str
    setting: str
    passed: bool
    cells: list  # the cells whose outputs differ ("Cell 24"), or that raised
    seconds: float
    skipped: str = None  # why it did not run
    output: str = ""  # the tail of nbval's report, for a failure

    def summary(self):
        if self.skipped:
            return f"{self.assignment} under {self.setting}: skipped ({self.skipped})"
        setting = next(s for s in SETTINGS if s.name == self.setting)
        if self.passed:
            return f"{self.assignment} under {self.setting} ({setting.describe()}): passed"
        return (
            f"{self.assignment} under setting {self.setting!r} ({setting.describe()}): "
            f"{', '.join(self.cells) or 'the run'} differ from the stored outputs "
            f"(or failed). Print these numbers at a precision that survives rounding "
            f"(docs/authoring.md, 'Notebook rules'), then `python -m autograder store {self.assignment}`.\n"
            f"{self.output}"
        )


FAILED_CELL = re.compile(r"^FAILED \S+::(Cell \d+)", re.M)


def replay(assignment, setting, timeout=900):
    """Run nbval on solutions/<id>/<id>.ipynb in a new process whose environment forces the
    setting's kernels (they are chosen when the libraries load, so only a new process can)."""
    if isinstance(setting, str):
        setting = next(s for s in SETTINGS if s.name == setting)
    why = unsupported(setting)
    if why:
        return Replay(assignment, setting.name, True, [], 0.0, skipped=why)
    path = COURSE.solution_path(assignment).relative_to(ROOT)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    env.update(setting.env, OMP_NUM_THREADS="1")
    # the project's own options (pyproject's addopts: --nbval, the sanitizers); -p no:randomly and
    # the like are not needed: one notebook, its cells in order
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "--color=no", str(path)]
    start = time.perf_counter()
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Replay(assignment, setting.name, False, [], time.perf_counter() - start,
                      output=f"nbval did not finish in {timeout} s")
    seconds = time.perf_counter() - start
    cells = FAILED_CELL.findall(run.stdout)
    passed = run.returncode == 0
    tail = "" if passed else _differences(run.stdout + run.stderr)
    return Replay(assignment, setting.name, passed, cells, seconds, output=tail)


def _differences(text, limit=6000):
    """nbval's report of what differs, without pytest's long tracebacks around it."""
    keep = [line for line in text.splitlines() if not line.startswith(("    ", "E   ", "../"))]
    text = "\n".join(keep)
    return text if len(text) <= limit else text[:limit] + "\n..."


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", metavar="ID", help="default: every solution notebook")
    parser.add_argument("--setting", action="append", choices=[s.name for s in SETTINGS], help="default: all")
    parser.add_argument("-v", "--verbose", action="store_true", help="print nbval's report of each failure")
    args = parser.parse_args(argv)
    assignments = COURSE.check_assignments(args.assignments)
    settings = [s for s in SETTINGS if not args.setting or s.name in args.setting]
    for s in settings:
        print(f"{s.name:>8}: {s.describe()}" + (f"  (skipped: {unsupported(s)})" if unsupported(s) else ""))
    width = max(len(a) for a in assignments)
    print(f"\n{'':{width}} " + "".join(f"{s.name:>24}" for s in settings))
    failures = []
    for assignment in assignments:
        row = []
        for s in settings:
            result = replay(assignment, s)
            if result.skipped:
                row.append("skipped")
            elif result.passed:
                row.append(f"ok {result.seconds:.0f} s")
            else:
                row.append(", ".join(c.replace("Cell ", "") for c in result.cells) or "FAILED")
                failures.append(result)
        print(f"{assignment:{width}} " + "".join(f"{r:>24}" for r in row), flush=True)
    print("\n(a number: the cells whose outputs differ)")
    for result in failures:
        print("\n" + (result.summary() if args.verbose else result.summary().split("\n")[0]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
