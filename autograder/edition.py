"""The student edition: the course folder an instructor hands to students working on one assignment.

    python -m autograder edition OUT --through 02_mlp

    OUT/notebooks/<id>/<id>.ipynb   the released notebooks up to and including 02_mlp
    OUT/nn273/                      the helper package, with no answer to 02_mlp or later ones
    OUT/data/                       the data files, their README (sources, licenses) and build.py
    OUT/hub/                        a Jupyter config folder for students' servers on a JupyterHub
    OUT/README.md  requirements.txt  pyproject.toml

An exercise of assignment A is a top-level function or class, in any nn273 module, named like one
of A's graded functions (the grade_id of a solution cell of solutions/A/A.ipynb). The edition's
nn273 keeps the reference modules of earlier assignments as they are, leaves out the modules of
`through` and of later assignments, and keeps the shared modules with every exercise of `through`
or later replaced by a stub that raises NotImplementedError. Stubs replace line spans found with
`ast`, so the rest of each file stays byte for byte. The grading kernel of an assignment imports
the same nn273, so a submission cannot call the answer either.
"""

import ast
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import symtable
import sys
import tempfile
import textwrap
import tokenize
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .config import COURSE_ID, EXCHANGE_VARIABLE
from .course import ANSWER_PREFIX, ASSIGNMENTS, COURSE, ROOT

__all__ = [
    "DATA",
    "PACKAGE",
    "STUDENT_LAB_PLUGINS",
    "STUDENT_SERVER_EXTENSIONS",
    "build_edition",
    "exercises",
    "graded_functions",
    "hub_files",
    "write_data",
    "write_nn273",
]

PACKAGE = ROOT / "nn273"
DATA = ROOT / "data"
REQUIREMENTS = ROOT / "requirements.txt"
PYPROJECT = ROOT / "pyproject.toml"

# What requirements.txt keeps: the closure of what students run and import; what it drops: packages
# that only the grader, grading on a cluster and the course's own tests need. Anything else stays.
# nbgrader is a student tool too: its Assignments tab, fetch_assignment, submit, fetch_feedback and
# validate are how students on a hub get and hand in their work (hub/ hides its instructor side).
STUDENT_TOOLS = ("jupyterlab", "notebook", "ipywidgets", "setuptools", "nbgrader")
INSTRUCTOR_TOOLS = (
    *("nbval", "pytest", "hypothesis", "playwright", "threadpoolctl"),
    *("dask", "distributed"),  # grade --cluster
    "jupyterhub",  # the course on a hub (deploy/, tests/test_hub.py)
)

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ABSENT = "the student edition does not include its answer"
_ORDER = list(ASSIGNMENTS)


# ----------------------------------------------------------------------------------- which names


def graded_functions(assignment, course=COURSE):
    """The grade_ids of the solution code cells of solutions/<assignment> that define a function
    (what students write; answers to questions, `answer_<name> = ...`, are not functions)."""
    nb = nbformat.read(course.solution_path(assignment), as_version=4)
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in nb.cells
        if cell.cell_type == "code"
        and cell.metadata.get("nbgrader", {}).get("solution")
        and not cell.metadata["nbgrader"]["grade_id"].startswith(ANSWER_PREFIX)
    ]


def exercises(course=COURSE, package=PACKAGE):
    """{module: {name: assignment}}: the top-level functions and classes of nn273 that are exercises

    Any module counts, not only an assignment's own: gradcheck.numerical_gradient is an exercise of
    03_backprop (while 01_linear's notebook uses gradcheck.check_gradient, which is none).
    """
    owner = _graded(course)
    found = {}
    for path in sorted(Path(package).rglob("*.py")):
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, _DEFS) and node.name in owner:
                found.setdefault(_module_name(path, package), {})[node.name] = owner[node.name]
    return found


def _module_name(path, package):
    """nn273/mlp.py -> "mlp"; nn273/explorers/attention.py -> "explorers.attention"."""
    return ".".join(Path(path).relative_to(package).with_suffix("").parts)


def _graded(course):
    """{name: assignment} of every graded function of the course."""
    owner = {}
    for assignment in course.available():
        for name in graded_functions(assignment, course):
            owner[name] = assignment  # course order: a name graded twice belongs to the later one
    return owner


# ----------------------------------------------------------------------------------- nn273/


@dataclass
class _Package:
    """What the edition's nn273/ holds, computed before anything is written."""

    files: dict = field(default_factory=dict)  # file name -> bytes
    earlier: list = field(default_factory=list)  # reference modules of earlier assignments
    shared: list = field(default_factory=list)  # modules of no assignment, exercises stubbed
    left_out: list = field(default_factory=list)  # modules of `through` and later assignments
    stubs: list = field(default_factory=list)  # (module, name, assignment)
    dropped: list = field(default_factory=list)  # (module, import statement) only stubs needed

    def summary(self):
        stubs = [f"{m}.{name} ({a})" for m, name, a in self.stubs]
        parts = [
            f"reference of earlier assignments: {', '.join(self.earlier) or 'none'}",
            f"shared: {', '.join(self.shared)}",
            f"left out: {', '.join(self.left_out) or 'none'}",
            f"stubs: {', '.join(stubs) or 'none'}",
        ]
        if self.dropped:
            dropped = "; ".join(f"{m}: {line}" for m, line in self.dropped)
            parts.append(f"imports dropped: {dropped}")
        return "; ".join(parts)


def write_nn273(dest, through, course=COURSE, *, package=PACKAGE):
    """Write `dest/nn273/`, the package for a student working on `through`; returns its path.

    Raises ValueError when `through` is unknown, dest/nn273 exists, or kept code needs a left-out
    module or a removed exercise (the message names both).
    """
    plan = _plan_package(through, course, package)
    target = Path(dest) / "nn273"
    if target.exists():
        raise ValueError(f"{target} exists already; write the edition's package into a new folder")
    _write_files(target, plan.files)
    return target


def _plan_package(through, course, package):
    through = _check_through(through, course)
    later = _ORDER[_ORDER.index(through) :]
    left_out = {ASSIGNMENTS[a] for a in later}
    earlier = {ASSIGNMENTS[a] for a in _ORDER[: _ORDER.index(through)]}
    removed = {
        module: {name: a for name, a in names.items() if a in later}
        for module, names in exercises(course, package).items()
    }
    graded = {name: a for name, a in _graded(course).items() if a in later}
    package = Path(package)
    plan = _Package()
    for path in _package_files(package):
        name = path.relative_to(package).as_posix()
        if path.suffix != ".py":
            plan.files[name] = path.read_bytes()
            continue
        module = _module_name(path, package)
        if module in left_out:  # only top-level modules belong to an assignment
            plan.left_out.append(module)
            continue
        (plan.earlier if module in earlier else plan.shared).append(module)
        source, stubs, dropped = _edition_source(
            module, path.read_text(), removed, graded, left_out, through
        )
        plan.files[name] = source.encode()
        plan.stubs += [(module, name, a) for name, a in stubs]
        plan.dropped += [(module, line) for line in dropped]
    return plan


def _package_files(folder):
    """The package's files, its subpackages' (nn273/explorers/) included, without caches and dotfiles."""
    for path in sorted(folder.iterdir()):
        if path.name == "__pycache__" or path.name.startswith("."):
            continue
        if path.is_dir():
            if not (path / "__init__.py").is_file():
                raise ValueError(f"{path} is a folder without __init__.py; the edition copies packages and modules only")
            yield from _package_files(path)
        else:
            yield path


def _check_through(through, course):
    (through,) = course.check_assignments([through])
    if through not in _ORDER:
        raise ValueError(f"{through} is not a course assignment; expected one of {_ORDER}")
    return through


def _edition_source(module, source, removed, graded, left_out, through):
    """nn273/<module>.py for the edition: (source, [(stubbed name, assignment)], [dropped import]).

    removed: {module: {name: assignment}}, the exercises to stub; graded: {name: assignment} of
    every graded function of `through` and later, which no other top-level statement may bind.
    """
    where = f"nn273/{module.replace('.', '/')}.py"
    mine = removed.get(module, {})
    tree = ast.parse(source, where)
    _refuse_other_bindings(tree, graded, where)
    lines = source.splitlines(keepends=True)
    edits, stubs = [], []
    for node in tree.body:
        if isinstance(node, _DEFS) and node.name in mine:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            last = _end_with_comments(lines, node.end_lineno)
            edits.append((first, last, _stub(node, lines, mine[node.name])))
            stubs.append((node.name, mine[node.name]))
    source = _apply(lines, edits)

    # Imports of left-out modules: dropped when only removed code needed them, an error otherwise.
    tree = ast.parse(source, where)
    lines = source.splitlines(keepends=True)
    used = _global_references(source, where)
    edits, dropped = [], []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        imported = _imports(node)
        gone = [m for m, _ in imported if m in left_out]
        if not gone:
            continue
        what = f"{where} imports nn273.{gone[0]} (line {node.lineno}), which the edition leaves out"
        if node not in tree.body:
            raise ValueError(f"{what}, inside code that the edition keeps")
        needed = sorted({bound for _, bound in imported} & set(used))
        if needed:
            users = ", ".join(sorted({scope for name in needed for scope in used[name]}))
            raise ValueError(f"{what}, and kept code uses {', '.join(needed)} (in {users})")
        if any(m not in left_out for m, _ in imported):
            raise ValueError(f"{what}, with modules it keeps; split that import to drop it")
        edits.append((node.lineno, node.end_lineno, ""))
        dropped.append(ast.get_source_segment(source, node))
    source = _apply(lines, edits)
    _refuse_removed_uses(source, where, removed, through)
    compile(source, where, "exec")
    return source, stubs, dropped


def _refuse_other_bindings(tree, graded, where):
    # A stub replaces a top-level def or class; an exercise bound any other way would slip through.
    for node in tree.body:
        if isinstance(node, (*_DEFS, ast.Import, ast.ImportFrom)):
            continue
        for sub in ast.walk(node):
            name = getattr(sub, "name", None) if isinstance(sub, _DEFS) else None
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                name = sub.id
            if name in graded:
                raise ValueError(
                    f"{where} binds {name} (line {sub.lineno}), an exercise of {graded[name]}, "
                    "other than by a top-level def or class; the edition can only replace those"
                )


def _refuse_removed_uses(source, where, removed, through):
    """Kept code must not need an exercise the edition removes (check_gradient does without one)."""
    tree = ast.parse(source, where)
    module = where.removeprefix("nn273/").removesuffix(".py").replace("/", ".")
    names = dict(removed.get(module, {}))  # bound name -> assignment
    aliases = {}  # bound name -> nn273 module
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target, bound in _imports(node):
                if target is None:
                    continue
                if isinstance(node, ast.ImportFrom) and node.module not in (None, "nn273"):
                    original = _alias_source(node, bound)
                    if original in removed.get(target, {}):
                        names[bound] = removed[target][original]
                else:
                    aliases[bound] = target
    used = _global_references(source, where)
    for name, assignment in names.items():
        if name in used:
            raise ValueError(
                f"{where}: {', '.join(sorted(used[name]))} uses {name}, an exercise of "
                f"{assignment} that the edition through {through} removes; make it do without"
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = _attribute_module(node.value, aliases)
            if owner and node.attr in removed.get(owner, {}):
                raise ValueError(
                    f"{where} uses nn273.{owner}.{node.attr} (line {node.lineno}), an exercise of "
                    f"{removed[owner][node.attr]} that the edition through {through} removes"
                )


def _attribute_module(value, aliases):
    if isinstance(value, ast.Name):
        return aliases.get(value.id)
    if isinstance(value, ast.Attribute) and _is_name(value.value, "nn273"):
        return value.attr
    return None


def _is_name(node, name):
    return isinstance(node, ast.Name) and node.id == name


def _alias_source(node, bound):
    return next(a.name for a in node.names if (a.asname or a.name) == bound)


def _imports(node):
    """[(nn273 module or None, bound name)] of one import statement, in nn273 or outside."""
    if isinstance(node, ast.Import):
        found = []
        for alias in node.names:
            parts = alias.name.split(".")
            module = parts[1] if parts[0] == "nn273" and len(parts) > 1 else None
            found.append((module, alias.asname or parts[0]))
        return found
    if node.level == 1:
        base = node.module or ""
    elif node.level == 0 and (node.module or "").split(".")[0] == "nn273":
        base = node.module.removeprefix("nn273").lstrip(".")
    else:
        return [(None, a.asname or a.name) for a in node.names]
    if base:  # from .mlp import activation: names of the module nn273.mlp
        return [(base.split(".")[0], a.asname or a.name) for a in node.names]
    return [(a.name, a.asname or a.name) for a in node.names]  # from . import mlp: modules


def _global_references(source, where):
    """{name: [scopes]}: the module-level names that some scope of the source reads."""
    found = {}

    def visit(table):
        module = table.get_type() == "module"
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (module or symbol.is_global()):
                scope = "module level" if module else table.get_name()
                found.setdefault(symbol.get_name(), []).append(scope)
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(source, where, "exec"))
    return found


def _stub(node, lines, assignment):
    """The text that replaces an exercise: its signature and docstring, then NotImplementedError."""
    message = f"{node.name} is an exercise of {assignment}; " + _ABSENT
    header, header_end = _header(lines, node)
    first = node.body[0]
    indent = " " * (node.col_offset + 4)
    doc = ""
    if ast.get_docstring(node, clean=False) is not None and first.lineno > header_end:
        indent = " " * first.col_offset
        doc = "".join(lines[first.lineno - 1 : first.end_lineno])
    if isinstance(node, ast.ClassDef):
        init = f"{indent}def __init__(self, *args, **kwargs):\n"
        return header + "\n" + doc + ("\n" if doc else "") + init + _raise(indent + "    ", message)
    return header + "\n" + doc + _raise(indent, message)


def _raise(indent, message):
    first, rest = message.split("; ", 1)
    inner = indent + "    "
    return f'{indent}raise NotImplementedError(\n{inner}"{first}; "\n{inner}"{rest}"\n{indent})\n'


def _header(lines, node):
    """The definition's first line(s) up to the colon that opens its body, and that line."""
    text = "".join(lines[node.lineno - 1 : node.end_lineno])
    depth = 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type != tokenize.OP:
            continue
        if tok.string in "([{":
            depth += 1
        elif tok.string in ")]}":
            depth -= 1
        elif tok.string == ":" and depth == 0:
            row, col = tok.end
            head = text.splitlines(keepends=True)[:row]
            head[-1] = head[-1][:col]
            return "".join(head), node.lineno + row - 1
    raise ValueError(f"cannot find where the body of {node.name} (line {node.lineno}) starts")


def _end_with_comments(lines, end):
    # Comments indented under a definition's last line belong to it (they may discuss the answer).
    def inside(line):
        return not line.strip() or (line[0] in " \t" and line.lstrip().startswith("#"))

    j = end
    while j < len(lines) and inside(lines[j]):
        j += 1
    while j > end and not lines[j - 1].strip():
        j -= 1
    return j


def _apply(lines, edits):
    """Replace 1-based inclusive line spans, the rest byte for byte."""
    lines = list(lines)
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1 : last] = [text] if text else []
    return "".join(lines)


def _write_files(folder, files):
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


# ----------------------------------------------------------------------------------- data/


def write_data(dest, *, source=DATA, link=False):
    """Write `dest/data/`: the data files, README.md and build.py; returns its path.

    Files are copies, or with `link` hard links where dest is on the same filesystem (a grading
    kernel's read-only site: an edition handed out must not share the course's files). A data file
    whose sha256 is not the one nn273.data expects is refused (ValueError) rather than handed out.
    """
    target = Path(dest) / "data"
    if target.exists():
        raise ValueError(f"{target} exists already; write the edition's data into a new folder")
    files = _data_files(source)
    target.mkdir(parents=True)
    for path in files:
        try:
            if not link:
                raise OSError("copy")
            os.link(path, target / path.name)
        except OSError:  # asked to copy, or another filesystem, or one without hard links
            shutil.copy2(path, target / path.name)
    return target


def _data_files(source):
    from nn273.data import CHECKSUMS

    source = Path(source)
    for name, expected in CHECKSUMS.items():
        path = source / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise ValueError(
                f"{path} is missing or does not have the sha256 nn273.data expects ({expected}); "
                "rebuild it with `python data/build.py`"
            )
    return [p for p in sorted(source.iterdir()) if p.is_file() and not p.name.startswith(".")]


# ----------------------------------------------------------------------------------- hub/

# nbgrader on a student's server: on, its Assignments tab (fetch, submit, fetch feedback) and
# Validate; off, the instructors' formgrader, course list and Create Assignment (a lab plugin only).
# A lab plugin without its server extension would show a panel that fails.
STUDENT_SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
}
STUDENT_LAB_PLUGINS = {
    "@jupyter/nbgrader:assignment-list": True,
    "@jupyter/nbgrader:validate-assignment": True,
    "@jupyter/nbgrader:formgrader": False,
    "@jupyter/nbgrader:course-list": False,
    "@jupyter/nbgrader:create-assignment": False,
}


def hub_files():
    """{path: text} of hub/, a Jupyter config folder for students' servers (JUPYTER_CONFIG_PATH).

    The folders JUPYTER_CONFIG_PATH names come before the user's, the environment's and the
    system's, so these settings win over the ones nbgrader installs (every extension on).
    """
    server = {"ServerApp": {"jpserver_extensions": STUDENT_SERVER_EXTENSIONS}}
    page = {
        "disabledExtensions": {name: not on for name, on in STUDENT_LAB_PLUGINS.items()},
        "lockedExtensions": dict.fromkeys(STUDENT_LAB_PLUGINS, True),  # no toggle in Lab's UI
    }
    nbgrader = f"""\
# nbgrader on a student's server: the course and its exchange, the folder through which students
# fetch assignments, submit them and fetch feedback. The exchange is the folder ${EXCHANGE_VARIABLE}
# names, as on the instructors' side: on a hub, one that every user reaches, such as
# /srv/nbgrader/exchange. Without it, nbgrader's default (/usr/local/share/nbgrader/exchange).
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.CourseDirectory.course_id = "{COURSE_ID}"
if os.environ.get("{EXCHANGE_VARIABLE}"):
    c.Exchange.root = os.environ["{EXCHANGE_VARIABLE}"]
"""
    return {
        "jupyter_server_config.json": json.dumps(server, indent=2) + "\n",
        "labconfig/page_config.json": json.dumps(page, indent=2) + "\n",
        "nbgrader_config.py": nbgrader,
    }


# ----------------------------------------------------------------------------------- the folder


def build_edition(out, through, course=COURSE, *, check_release=True, progress=None):
    """Write the student edition through assignment `through` into `out`, a new or empty folder.

    Writes notebooks/ (the released notebooks up to `through`), nn273/, data/, hub/, README.md,
    requirements.txt and pyproject.toml; returns `out`; `progress` gets a line per part. With
    check_release, every released notebook must be what `python -m autograder release` makes now.
    Raises ValueError, before writing anything, when `out` is not empty, a released notebook is
    missing or stale, or a notebook imports an nn273 module that the edition leaves out.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} is not an empty folder; write the edition into a new or empty one")
    through = _check_through(through, course)
    upto = _ORDER[: _ORDER.index(through) + 1]
    notebooks = _released_notebooks([a for a in course.available() if a in upto], course)
    plan = _plan_package(through, course, PACKAGE)
    kept = {name.removesuffix(".py") for name in plan.files if name.endswith(".py")}
    known = set(ASSIGNMENTS.values()) | {p.stem for p in PACKAGE.glob("*.py")}
    for path in notebooks.values():
        for module in sorted((_notebook_modules(path) & known) - kept):
            raise ValueError(
                f"{path} imports nn273.{module}, which the edition through {through} leaves out; "
                "a notebook may use the reference implementations of earlier assignments only"
            )
    if check_release:
        _check_fresh(notebooks, course)
    _data_files(DATA)
    lock = REQUIREMENTS.read_text()
    requirements, note = _requirements(lock, _third_party_imports(notebooks, plan))
    say = progress or (lambda line: None)

    out.mkdir(parents=True, exist_ok=True)
    for assignment, path in notebooks.items():
        (out / "notebooks" / assignment).mkdir(parents=True)
        shutil.copyfile(path, out / "notebooks" / assignment / path.name)
    fresh = " (each as a fresh release makes it)" if check_release else ""
    say(f"notebooks/: {', '.join(notebooks)}{fresh}")
    _write_files(out / "nn273", plan.files)
    say(f"nn273/: {plan.summary()}")
    data = write_data(out)
    size = sum(p.stat().st_size for p in data.iterdir())
    say(f"data/: {', '.join(sorted(p.name for p in data.iterdir()))} ({size / 1e6:.1f} MB)")
    for name, text in hub_files().items():
        (out / "hub" / name).parent.mkdir(parents=True, exist_ok=True)
        (out / "hub" / name).write_text(text)
    off = [name.split(":")[1] for name, on in STUDENT_LAB_PLUGINS.items() if not on]
    say(f"hub/: nbgrader's Assignments tab and Validate; off: {', '.join(off)}")
    (out / "README.md").write_text(_readme(through, notebooks, plan))
    say(f"README.md: the course, how to install, {len(notebooks)} notebooks, what is left out")
    (out / "requirements.txt").write_text(requirements)
    say(f"requirements.txt: {note}")
    (out / "pyproject.toml").write_text(_pyproject(through))
    say(f"pyproject.toml: packages = {_packages()}")
    _check_clean(out)
    say(f"wrote {out}")
    return out


def _released_notebooks(assignments, course):
    found = {}
    for assignment in assignments:
        path = course.release_path(assignment)
        if not path.is_file():
            raise ValueError(
                f"no released notebook at {path}: run `python -m autograder release {assignment}`"
            )
        found[assignment] = path
    return found


def _check_fresh(notebooks, course):
    from .release import release

    def comparable(path):
        return nbformat.writes(nbformat.read(path, as_version=4))

    with tempfile.TemporaryDirectory(prefix="nn273-edition-") as tmp:
        fresh = release(list(notebooks), course, release_dir=Path(tmp))
        for (assignment, path), new in zip(notebooks.items(), fresh, strict=True):
            if comparable(path) != comparable(new):
                raise ValueError(
                    f"{path} is older than solutions/{assignment}: "
                    f"run `python -m autograder release {assignment}`"
                )


def _notebook_modules(path):
    """The nn273 modules that a notebook's code cells import or use as nn273.<module>."""
    found = set()
    for tree in _code_cells(path):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) or isinstance(node, ast.ImportFrom) and not node.level:
                found |= {module for module, _ in _imports(node) if module}
            elif isinstance(node, ast.Attribute) and _is_name(node.value, "nn273"):
                found.add(node.attr)
    return {module for module in found if not module.startswith("_")}


def _code_cells(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            yield from _parsed(cell.source)


def _parsed(source):
    """A code cell as Python (IPython's % and ! lines read as `pass`), or its import lines alone."""
    lines = [
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.splitlines()
    ]
    try:
        return [ast.parse("\n".join(lines))]
    except SyntaxError:
        imports = [line.strip() for line in lines if re.match(r"\s*(from|import)\s+nn273\b", line)]
        return [ast.parse(line) for line in imports if _parses(line)]


def _parses(line):
    try:
        ast.parse(line)
    except SyntaxError:
        return False
    return True


def _third_party_imports(notebooks, plan):
    """Top-level names of the non-standard modules the notebooks and the edition's nn273 import."""
    trees = [tree for path in notebooks.values() for tree in _code_cells(path)]
    trees += [ast.parse(content) for name, content in plan.files.items() if name.endswith(".py")]
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return sorted(names - set(sys.stdlib_module_names) - {"nn273", "__future__"})


def _requirements(lock, imports):
    """The edition's requirements.txt and a line saying what it kept.

    The lock's pins minus packages that only INSTRUCTOR_TOOLS need: every pin reachable from
    STUDENT_TOOLS or from the distributions of `imports` stays. Told from this environment's package
    metadata; when that does not match the lock, the whole lock is kept.
    """
    pins, body = {}, []
    for line in lock.splitlines():
        if not line.strip() or line.startswith("#") or line.strip() in ("-e .", "-e."):
            continue  # comments are rewritten below, and -e . becomes this folder's own
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line.strip())
        if match:
            pins[canonicalize_name(match[1])] = line.strip()
        else:
            body.append(line.strip())  # an option or a requirement the pruning cannot follow
    reason = (
        _cannot_prune(pins, imports)
        if not body
        else f"the lock has lines that are not pins: {body[0]}"
    )
    dropped = []
    if reason is None:
        roots = {canonicalize_name(n) for n in STUDENT_TOOLS}
        distributions = importlib.metadata.packages_distributions()
        roots |= {canonicalize_name(d) for m in imports for d in distributions.get(m, [])}
        needed = _closure(roots, pins)
        dropped = sorted(
            (set(pins) - needed) & _closure({canonicalize_name(n) for n in INSTRUCTOR_TOOLS}, pins)
        )
    kept = [line for name, line in pins.items() if name not in dropped] + body
    header = [
        "# The pinned stack of the nn273 course (Python 3.11, CPU), for this student edition.",
        "# In a fresh virtual environment, from this folder: pip install -r requirements.txt",
    ]
    if dropped:
        header.append(
            "# It is the instructors' lock without what only grading and the course's tests need:"
        )
        header += textwrap.wrap(
            ", ".join(dropped), 98, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False
        )
        note = (
            f"{len(kept)} pins + -e .; dropped {len(dropped)} instructor-only: {', '.join(dropped)}"
        )
    else:
        note = f"{len(kept)} pins + -e . (the whole lock: {reason})"
    text = "\n".join(
        [*header, *kept, "", "# the course's helper package nn273, from this folder", "-e ."]
    )
    return text + "\n", note


def _cannot_prune(pins, imports):
    """Why this environment cannot tell which pins students need, or None when it can."""
    for name, line in pins.items():
        wanted = line.split("==", 1)[1]
        try:
            have = Version(importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            return f"{name} is not installed here"
        except InvalidVersion:
            return f"{name} has a version that cannot be read"
        if have.public != Version(wanted).public:
            return f"{name} {have} is installed here, the lock pins {wanted}"
    distributions = importlib.metadata.packages_distributions()
    unknown = [m for m in imports if m not in distributions]
    if unknown:
        return f"no installed distribution provides {', '.join(unknown)}"
    return None


# Platforms a student may use: a dependency needed on any of them stays.
_PLATFORMS = (
    {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
    {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
)


def _closure(roots, pins):
    """The pinned distributions that `roots` need, following extras and every platform's markers."""
    seen = {}  # name -> extras asked for
    todo = [(name, frozenset()) for name in roots]
    while todo:
        name, extras = todo.pop()
        if name not in pins or (name in seen and extras <= seen[name]):
            continue
        seen[name] = seen.get(name, frozenset()) | extras
        for text in importlib.metadata.requires(name) or []:
            req = Requirement(text)
            wanted = ("", *seen[name])
            if req.marker is None or any(
                req.marker.evaluate({**p, "extra": e}) for p in _PLATFORMS for e in wanted
            ):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return set(seen)


def _pyproject(through):
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return f"""[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "nn273"
version = "{project["version"]}"
description = "nn273 (student edition through {through}): the helper package of the notebooks"
readme = "README.md"
requires-python = "{project["requires-python"]}"
license = "{project["license"]}"

[tool.setuptools]
packages = [{", ".join(f'"{name}"' for name in _packages())}]
"""


def _packages(package=PACKAGE):
    """nn273 and its subpackages, as setuptools names them."""
    folders = [Path(package), *(p.parent for p in sorted(Path(package).glob("*/__init__.py")))]
    return [".".join(f.relative_to(Path(package).parent).parts) for f in folders]


def _title(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].splitlines()[0].strip()
    return path.stem


def _readme(through, notebooks, plan):
    rows = "\n".join(
        f"| [`{a}`](notebooks/{a}/{a}.ipynb) | {_title(path)} |" for a, path in notebooks.items()
    )
    left_out = [
        "`nn273` is the helper package every notebook imports (data, plots, gradient checks, the "
        "playground)."
    ]
    if plan.earlier:
        earlier = ", ".join(f"`nn273.{m}`" for m in plan.earlier)
        left_out.append(
            f"It holds the reference implementations of earlier notebooks ({earlier}), for later "
            "ones to build on."
        )
    left_out.append(
        f"It does not hold the answers of the current notebook ({through}) or of any later one: "
        "their modules are not in this folder."
    )
    if plan.stubs:
        stubs = ", ".join(f"`nn273.{m}.{name}` of {a}" for m, name, a in plan.stubs)
        left_out.append(
            f"A helper that is itself an exercise of one of them ({stubs}) is there but raises "
            "`NotImplementedError`."
        )
    left_out.append(
        "Your notebook is graded with this same package, so the course's answers are not there to "
        "call."
    )
    left_out = textwrap.fill(" ".join(left_out), 100)
    return f"""# nn273 — neural networks from scratch (student edition, through {through})

nn273 is a course on neural networks in Jupyter notebooks, after the CS273A lecture "Neural
Networks" (Ihler). You implement each idea yourself — linear classifiers, multi-layer perceptrons,
backpropagation and, in later notebooks, convolutional, residual and attention networks, stochastic
gradient, dropout and batch normalization — first in NumPy, then in PyTorch, and see it work on the
lecture's examples.

## Notebooks in this edition

| notebook | topic |
|---|---|
{rows}

Later notebooks come with later editions of this folder.

## Install

Python 3.11 on a CPU is all it needs (no GPU, no downloads while you work). From this folder, in a
fresh virtual environment:

```bash
python3 -m venv .venv && . .venv/bin/activate      # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
jupyter lab notebooks/
```

`requirements.txt` pins the whole stack and installs this folder's `nn273` helper package, so
`import nn273` works from any folder; `nn273` finds the data files in `data/` next to it.

## Working on a notebook

Read, fill in each `# YOUR CODE HERE`, and run the test cell under it. The visible tests catch the
common mistakes. Hidden tests run when your instructor grades your notebook: they try more inputs
and shapes, compare with an independent answer and check every gradient numerically, so a function
that only passes the visible test may still lose points. Hand in the notebook file itself
(`notebooks/<id>/<id>.ipynb`), or on your course's JupyterHub through its Assignments tab (below).

## On a JupyterHub

On a hub, students get and hand in notebooks with nbgrader, which `requirements.txt` installs. Its
Assignments tab fetches an assignment into your home folder, validates it, submits it (as often as
you like: the latest counts) and fetches your feedback once it is released. In a terminal, the same
is `nbgrader fetch_assignment 01_linear`, `nbgrader submit 01_linear` and
`nbgrader fetch_feedback 01_linear`.

For the hub's administrator: an image that holds this folder at `/opt/nn273` needs two lines.

```dockerfile
RUN cd /opt/nn273 && pip install --no-cache-dir -r requirements.txt
ENV JUPYTER_CONFIG_PATH=/opt/nn273/hub NN273_EXCHANGE=/srv/nbgrader/exchange
```

`hub/` is a Jupyter configuration folder for students' servers:

- `jupyter_server_config.json` and `labconfig/page_config.json` keep nbgrader's student side on
  (the Assignments tab, Validate) and turn the instructors' side off (formgrader, the course list,
  Create Assignment);
- `nbgrader_config.py` sets the course id `{COURSE_ID}` and nbgrader's exchange to the folder
  `$NN273_EXCHANGE` names: the folder the instructors release into and collect from, mounted at
  the same path in every student's server and writable by all.

Jupyter reads the folders of `JUPYTER_CONFIG_PATH` before the user's, the environment's and the
system's, so these settings win over nbgrader's own (everything on). A hub without images (The
Littlest JupyterHub, say) sets the same two variables with `c.Spawner.environment` in
`jupyterhub_config.py`. To check an image, `jupyter labextension list` names formgrader,
course-list and create-assignment under "Disabled extensions". (`jupyter server extension list`
does not read `JUPYTER_CONFIG_PATH` and still shows formgrader as enabled; the server reads it,
and answers 404 at `/formgrader`.) Turning these tools off tidies the students' screen; it protects
nothing. What protects the grades is the exchange's permissions and the instructors' own server.

## What this edition leaves out, on purpose

{left_out}

## Data

`data/` holds the data files the notebooks use; `data/README.md` says where each comes from, its
license and its checksum.
"""


def _check_clean(out):
    # The last line of defence: nothing of the instructors' side may be in the folder.
    forbidden_parts = {"solutions", "autograder", ".git", "catalogue", "hidden"}
    markers = (b"BEGIN HIDDEN TESTS", b"BEGIN SOLUTION", b"autograder")
    for path in out.rglob("*"):
        if forbidden_parts & set(path.relative_to(out).parts):
            raise RuntimeError(f"the edition holds {path}, which is for instructors only")
        if path.is_file() and path.suffix != ".npz":
            content = path.read_bytes()
            for marker in markers:
                if marker in content:
                    raise RuntimeError(f"the edition's {path} contains {marker.decode()!r}")
