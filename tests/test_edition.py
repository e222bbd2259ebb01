"""The student edition: which names are exercises; an nn273 without the answers that still imports
and works; a course folder with no answer to its current assignment; and (slow) that it installs and
runs in a fresh virtual environment."""

import ast
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder.__main__ import main
from autograder.course import ASSIGNMENTS, COURSE, Course
from autograder.edition import build_edition, exercises, graded_functions, write_data, write_nn273

REPO_NN273 = Path(__file__).resolve().parent.parent / "nn273"
EDITIONS = [a for a in ("01_linear", "02_mlp", "03_backprop") if a in COURSE.available()]

LINEAR = """add_constant_feature linear_response predict_sign boundary_x2 sigmoid logistic_nll
    logistic_nll_grad fit_logistic_gd polynomial_features softmax softmax_nll softmax_nll_grad""".split()
MLP = "activation activation_grad count_parameters mlp_forward".split()
BACKPROP = "linear_forward linear_backward mse_loss mlp_loss_and_grads torch_loss_and_grads".split()
CONV = """conv_output_size conv2d_forward conv2d_backward maxpool2d_forward maxpool2d_backward
build_lenet""".split()
RESIDUAL = "residual_forward residual_backward ResidualBlock".split()
ATTENTION = """scaled_dot_product_attention self_attention_forward self_attention_backward
sinusoidal_positional_encoding causal_mask""".split()
SGD = "count_deep_parameters iterate_minibatches sgd_step momentum_step adam_step".split()
REGULARIZATION = "dropout_forward dropout_backward batchnorm_forward batchnorm_backward".split()


# ----------------------------------------------------------------------------------- the map


def test_exercise_map_is_derived_from_the_solution_notebooks():
    found = exercises()
    assert found["linear"] == dict.fromkeys(LINEAR, "01_linear")
    assert found["mlp"] == dict.fromkeys(MLP, "02_mlp")
    assert found["backprop"] == dict.fromkeys(BACKPROP, "03_backprop")
    # an exercise in a shared module: 03's numerical_gradient lives in gradcheck, check_gradient is none
    assert found["gradcheck"] == {"numerical_gradient": "03_backprop"}
    assert found["conv"] == dict.fromkeys(CONV, "04_conv")
    assert found["residual"] == dict.fromkeys(RESIDUAL, "05_residual")
    assert found["attention"] == dict.fromkeys(ATTENTION, "06_attention")
    assert found["sgd"] == dict.fromkeys(SGD, "07_sgd")
    assert found["regularization"] == dict.fromkeys(REGULARIZATION, "08_regularization")
    expected = {"linear", "mlp", "backprop", "gradcheck", "conv", "residual", "attention", "sgd", "regularization"}
    assert set(found) == expected
    # every graded function of every assignment has its reference somewhere in nn273
    for assignment in COURSE.available():
        for name in graded_functions(assignment):
            assert any(name in names for names in found.values()), (
                f"{assignment}: {name} not in nn273"
            )


# ----------------------------------------------------------------------------------- nn273/

# Run in a fresh interpreter whose cwd and PYTHONPATH are the edition, so nothing of the repository
# can be imported first; prints a JSON report of what imports, what raises and what works.
PROBE = r"""
import importlib, inspect, json, sys
import numpy as np

spec = json.loads(sys.argv[1])
import nn273
report = {"nn273": nn273.__file__, "modules": {}, "absent": {}, "stubs": {}}
for m in spec["present"]:
    report["modules"][m] = importlib.import_module("nn273." + m).__file__
for m in spec["absent"]:
    try:
        importlib.import_module("nn273." + m)
        report["absent"][m] = "imported"
    except ModuleNotFoundError:
        report["absent"][m] = "missing"
for m, name in spec["stubs"]:
    fn = getattr(importlib.import_module("nn273." + m), name)
    params = inspect.signature(fn).parameters.values()
    args = [None for p in params if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    try:
        fn(*args)
        report["stubs"][f"{m}.{name}"] = "returned"
    except NotImplementedError as exc:
        report["stubs"][f"{m}.{name}"] = str(exc)

from nn273.gradcheck import GradientCheckError, check_gradient, check_layer
x = np.array([0.3, -1.2, 2.0])
report["check_gradient"] = check_gradient(lambda a: float(np.sum(np.sin(a))), [x], [np.cos(x)])
try:
    check_gradient(lambda a: float(np.sum(np.sin(a))), [x], [np.sin(x)])
    report["check_gradient_wrong"] = "passed"
except GradientCheckError as exc:
    report["check_gradient_wrong"] = str(exc)
W = np.arange(6.0).reshape(3, 2) / 7
report["check_layer"] = check_layer(
    lambda X, W: (X @ W, (X, W)), lambda d, c: (d @ c[1].T, c[0].T @ d), [np.ones((4, 3)), W]
)
from nn273 import data
report["iris"] = list(data.load_iris()[0].shape)
if "linear" in spec["present"]:
    from nn273.linear import sigmoid, softmax
    report["sigmoid"] = float(sigmoid(0.0))
    report["softmax"] = softmax(np.array([[1e4, 0.0]])).tolist()
if "mlp" in spec["present"]:
    from nn273.mlp import activation
    report["tanh"] = float(activation("tanh", 0.5))
print(json.dumps(report))
"""


# -I -S: no PYTHONPATH, no user site, and no .pth hooks. The instructors' environment installs the
# repository editable, through a finder that would serve nn273.mlp from the repository to anyone
# whose nn273 lacks it; only the environment's packages (numpy, torch, ...) are added back.
ISOLATED = "import sys; sys.path[:0] = [{dest!r}]; sys.path += {site!r}\n"
SITE = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})


def _run_isolated(dest, code, *args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NN273_DATA")}
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED.format(dest=str(dest), site=SITE) + code, *args],
        cwd=dest, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _expected(through):
    order = ["01_linear", "02_mlp", "03_backprop"]
    later = order[order.index(through) :]
    absent = {"01_linear": "linear", "02_mlp": "mlp", "03_backprop": "backprop"}
    stubs = [(m, n) for m, names in exercises().items() for n, a in names.items() if a in later]
    stubs = [(m, n) for m, n in stubs if m not in {absent[a] for a in later}]
    return [absent[a] for a in later], stubs


@pytest.mark.parametrize("through", EDITIONS)
def test_edition_package_imports_alone_and_keeps_what_earlier_notebooks_need(through, tmp_path):
    package = write_nn273(tmp_path, through)
    write_data(tmp_path)  # nn273.data finds <package parent>/data
    absent, stubs = _expected(through)
    present = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    assert not set(absent) & set(present)
    assert (
        "gradcheck",
        "numerical_gradient",
    ) in stubs  # 03's exercise is stubbed in every edition up to 03

    report = _run_isolated(
        tmp_path, PROBE, json.dumps({"present": present, "absent": absent, "stubs": stubs})
    )

    assert Path(report["nn273"]).resolve().is_relative_to(tmp_path.resolve()), report["nn273"]
    assert all(
        Path(f).resolve().is_relative_to(tmp_path.resolve()) for f in report["modules"].values()
    )
    assert report["absent"] == dict.fromkeys(absent, "missing")
    for name, message in report["stubs"].items():
        assignment = exercises()[name.split(".")[0]][name.split(".")[1]]
        assert (
            f"is an exercise of {assignment}" in message
            and "does not include its answer" in message
        )
    assert report["check_gradient"] < 1e-8 and report["check_layer"] < 1e-7
    assert (
        "index (0,)" in report["check_gradient_wrong"] or "index" in report["check_gradient_wrong"]
    )
    assert report["iris"] == [150, 4]
    if through in ("02_mlp", "03_backprop"):
        assert report["sigmoid"] == 0.5 and report["softmax"] == [[1.0, 0.0]]
    else:
        assert "sigmoid" not in report
    if through == "03_backprop":
        assert report["tanh"] == pytest.approx(0.46211715726)


def test_edition_package_is_the_repository_s_outside_the_removed_spans(tmp_path):
    package = write_nn273(tmp_path, "02_mlp")
    for path in package.iterdir():
        original = REPO_NN273 / path.name
        if path.name != "gradcheck.py":
            assert path.read_bytes() == original.read_bytes(), f"{path.name} changed"
    before = (REPO_NN273 / "gradcheck.py").read_text()
    after = (package / "gradcheck.py").read_text()
    head = before.index("def numerical_gradient(")
    tail = before.index("\n\n\ndef ", head)
    assert after.startswith(before[:head]) and after.endswith(before[tail:])
    stub = after[head : len(after) - len(before) + tail]
    assert '"""Central-difference gradient' in stub  # the docstring (the contract) stays
    assert (
        "NotImplementedError" in stub
        and "_central_difference" not in stub
        and "ndindex" not in stub
    )


def _toy_package(root, **modules):
    package = root / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A toy nn273."""\n')
    for name, source in modules.items():
        (package / f"{name}.py").write_text(textwrap.dedent(source).lstrip())
    return package


MLP_MODULE = """
    def activation(name, r):
        return r
    """


def test_an_import_only_removed_code_needs_is_dropped_and_the_rest_kept_byte_for_byte(tmp_path):
    helpers = '''
        """Helpers."""

        import functools
        from .mlp import activation  # only the exercises need it


        @functools.cache
        def count_parameters(layer_sizes):
            """How many weights."""
            return activation("linear", layer_sizes)
            # a comment under the answer goes with it


        class mlp_forward(object):
            """A class exercise."""

            def __call__(self, X):
                return activation("tanh", X)


        def kept(x):
            return x + 1
        '''
    expected = '''
        """Helpers."""

        import functools


        def count_parameters(layer_sizes):
            """How many weights."""
            raise NotImplementedError(
                "count_parameters is an exercise of 02_mlp; "
                "the student edition does not include its answer"
            )


        class mlp_forward(object):
            """A class exercise."""

            def __init__(self, *args, **kwargs):
                raise NotImplementedError(
                    "mlp_forward is an exercise of 02_mlp; "
                    "the student edition does not include its answer"
                )


        def kept(x):
            return x + 1
        '''
    package = _toy_package(tmp_path, mlp=MLP_MODULE, helpers=helpers)
    out = write_nn273(tmp_path / "ed", "02_mlp", package=package)
    assert sorted(p.name for p in out.iterdir()) == ["__init__.py", "helpers.py"]
    assert (out / "helpers.py").read_text() == textwrap.dedent(expected).lstrip()
    code = (
        "import json; from nn273 import helpers\n"
        "out = {'kept': helpers.kept(1)}\n"
        "for f, args in ((helpers.count_parameters, [[2, 1]]), (helpers.mlp_forward, [])):\n"
        "    try: f(*args)\n"
        "    except NotImplementedError as e: out[f.__name__] = str(e)\n"
        "print(json.dumps(out))"
    )
    report = _run_isolated(out.parent, code)
    assert report["kept"] == 2
    assert report["count_parameters"].startswith("count_parameters is an exercise of 02_mlp")
    assert report["mlp_forward"].startswith("mlp_forward is an exercise of 02_mlp")


def test_kept_code_that_needs_a_left_out_module_is_refused(tmp_path):
    helpers = """
        from .mlp import activation


        def kept(r):
            return activation("tanh", r)
        """
    package = _toy_package(tmp_path, mlp=MLP_MODULE, helpers=helpers)
    with pytest.raises(
        ValueError,
        match=r"nn273/helpers.py imports nn273.mlp .*leaves out.*kept code uses activation \(in kept\)",
    ):
        write_nn273(tmp_path / "ed", "02_mlp", package=package)
    lazy = """
        def kept(r):
            from nn273.mlp import activation
            return activation("tanh", r)
        """
    package = _toy_package(tmp_path / "lazy", mlp=MLP_MODULE, helpers=lazy)
    with pytest.raises(
        ValueError, match="helpers.py imports nn273.mlp .* inside code that the edition keeps"
    ):
        write_nn273(tmp_path / "ed", "02_mlp", package=package)


def test_kept_code_that_calls_a_removed_exercise_is_refused(tmp_path):
    checks = """
        def numerical_gradient(f, x, h=1e-5):
            return x


        def check(f, x):
            return numerical_gradient(f, x)
        """
    package = _toy_package(tmp_path, checks=checks)
    with pytest.raises(
        ValueError, match="check uses numerical_gradient, an exercise of 03_backprop"
    ):
        write_nn273(tmp_path / "ed", "03_backprop", package=package)
    aliased = "sigmoid = abs  # an exercise bound by assignment cannot be stubbed\n"
    package = _toy_package(tmp_path / "aliased", shared=aliased)
    with pytest.raises(ValueError, match="binds sigmoid .* an exercise of 01_linear"):
        write_nn273(tmp_path / "ed", "01_linear", package=package)


# ----------------------------------------------------------------------------------- the folder


@pytest.fixture(scope="module")
def edition02(tmp_path_factory):
    if "02_mlp" not in COURSE.available():
        pytest.skip("02_mlp not written yet")
    return build_edition(tmp_path_factory.mktemp("edition") / "nn273-course", "02_mlp")


# Lines of a solution that legitimately appear elsewhere (an earlier reference uses the same idiom).
COMMON = {"r = np.asarray(r, dtype=float)", "X = np.asarray(X, dtype=float)", "return A, cache"}


def _solution_lines(assignment):
    lines = set()
    for cell in nbformat.read(COURSE.solution_path(assignment), as_version=4).cells:
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        if cell.cell_type == "code":
            body = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        else:  # a model answer in words, released as "YOUR ANSWER HERE"
            body = cell.source
        lines |= {line.strip() for line in body.splitlines() if len(line.strip()) >= 20}
    return lines - COMMON


def _texts(folder):
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            yield (
                path,
                "\n".join(c.source for c in nb.cells)
                + json.dumps([c.get("outputs") for c in nb.cells]),
            )
        elif path.suffix != ".npz":
            yield path, path.read_text()


def test_no_answer_to_02_anywhere_in_its_edition(edition02):
    answers = _solution_lines("02_mlp")
    assert len(answers) >= 10
    for path, text in _texts(edition02):
        leaked = [line for line in answers if line in text]
        assert not leaked, f"{path.relative_to(edition02)} holds 02's answer: {leaked[:3]}"
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "autograder", "catalogue"):
            assert marker not in text, f"{path.relative_to(edition02)} contains {marker!r}"
    names = {p.relative_to(edition02).parts[0] for p in edition02.iterdir()}
    assert names == {
        "README.md",
        "data",
        "notebooks",
        "nn273",
        "pyproject.toml",
        "requirements.txt",
    }
    assert sorted(p.name for p in (edition02 / "notebooks").iterdir()) == ["01_linear", "02_mlp"]
    assert (
        not (edition02 / "nn273" / "mlp.py").exists()
        and not (edition02 / "nn273" / "backprop.py").exists()
    )
    for path in (edition02 / "nn273").glob("*.py"):
        for node in ast.parse(
            path.read_text()
        ).body:  # a top-level definition of 02's names: a stub at most
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in MLP:
                assert isinstance(node.body[-1], ast.Raise), f"{path.name}: {node.name}"


def test_the_folder_installs_what_students_need(edition02):
    requirements = (edition02 / "requirements.txt").read_text().splitlines()
    pins = {line.split("==")[0].lower() for line in requirements if "==" in line}
    assert requirements[-1] == "-e ." and requirements.count("-e .") == 1
    assert {
        "numpy",
        "matplotlib",
        "torch",
        "jupyterlab",
        "ipywidgets",
        "ipykernel",
        "nbclient",
    } <= pins
    assert not pins & {"nbgrader", "nbval", "pytest", "hypothesis"}
    assert 'packages = ["nn273"]' in (edition02 / "pyproject.toml").read_text()
    readme = (edition02 / "README.md").read_text()
    for needle in (
        "pip install -r requirements.txt",
        "jupyter lab notebooks/",
        "notebooks/01_linear/01_linear.ipynb",
        "notebooks/02_mlp/02_mlp.ipynb",
        "Hidden tests run when",
        "does not hold the answers",
    ):
        assert needle in readme, needle
    data = sorted(p.name for p in (edition02 / "data").iterdir())
    assert data == [
        "README.md",
        "build.py",
        "iris.csv",
        "mcycle.csv",
        "mnist_5k.npz",
        "requirements.txt",
    ]


def test_refusals(tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("")
    with pytest.raises(ValueError, match="not an empty folder"):
        build_edition(busy, "01_linear")
    assert main(["edition", str(busy), "--through", "01_linear"]) == 2
    assert "error: " in capsys.readouterr().err
    planned = [a for a in ASSIGNMENTS if a not in COURSE.available()]  # in the syllabus, not written
    if planned:
        with pytest.raises(ValueError, match=f"unknown assignment {planned[0]}"):
            build_edition(tmp_path / "new", planned[0])
    with pytest.raises(ValueError, match="unknown assignment"):
        write_nn273(tmp_path, "nope")

    release = tmp_path / "release"
    (release / "01_linear").mkdir(parents=True)
    (release / "01_linear" / "01_linear.ipynb").write_bytes(
        COURSE.release_path("01_linear").read_bytes()
    )
    course = Course(solutions=COURSE.solutions, release=release)
    with pytest.raises(
        ValueError,
        match="no released notebook at .*02_mlp.ipynb: run `python -m autograder release 02_mlp`",
    ):
        build_edition(tmp_path / "new", "02_mlp", course=course, check_release=False)

    nb = nbformat.read(COURSE.release_path("02_mlp"), as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import nn273.mlp as reference  # a notebook using its own answers"
        )
    )
    (release / "02_mlp").mkdir()
    nbformat.write(nb, release / "02_mlp" / "02_mlp.ipynb")
    with pytest.raises(
        ValueError,
        match="02_mlp.ipynb imports nn273.mlp, which the edition through 02_mlp leaves out",
    ):
        build_edition(tmp_path / "new", "02_mlp", course=course, check_release=False)
    assert not (tmp_path / "new").exists()  # nothing written when refused


@pytest.mark.slow
def test_a_stale_released_notebook_is_refused(tmp_path):
    release = tmp_path / "release"
    (release / "01_linear").mkdir(parents=True)
    nb = nbformat.read(COURSE.release_path("01_linear"), as_version=4)
    nb.cells[0].source += "\n\nAn edit made by hand, not by release."
    nbformat.write(nb, release / "01_linear" / "01_linear.ipynb")
    course = Course(solutions=COURSE.solutions, release=release)
    with pytest.raises(
        ValueError,
        match="01_linear.ipynb is older than solutions/01_linear: run `python -m autograder release",
    ):
        build_edition(tmp_path / "new", "01_linear", course=course)


# ----------------------------------------------------------------------------------- fresh venv

EXECUTE = r"""
import json, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

folder = Path(sys.argv[1])
report = {}
for path in sorted(folder.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    try:
        NotebookClient(nb, kernel_name=sys.argv[2], timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
        error = None
    except CellExecutionError as exc:
        error = str(exc)[-4000:]
    where = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
    report[path.stem] = {"seconds": time.perf_counter() - start, "error": error, "where": where}
print(json.dumps(report))
"""

WHERE = "import json, sys, nn273\nprint(json.dumps({'python': sys.executable, 'nn273': nn273.__file__}))"


def _filled(released, solution):
    """The released notebook with every graded solution cell's source put back."""
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nbformat.read(solution, as_version=4).cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    assert not answers, f"solution cells missing from {released}: {sorted(answers)}"
    nb.cells.append(nbformat.v4.new_code_cell(WHERE))
    return nb


@pytest.mark.slow
def test_edition_installs_and_runs_in_a_fresh_virtual_environment(edition02, tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "NN273_DATA", "VIRTUAL_ENV", "JUPYTER_PATH")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    venv = tmp_path / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = str(venv / "bin" / "python")
    probe = subprocess.run(
        [python, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path / "probe"), "six==1.17.0"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(
            f"the package registry cannot be reached: {(probe.stdout + probe.stderr).strip()[-500:]}"
        )
    install = subprocess.run(
        # as a student installs it, without byte-compiling every module at install time (half of the
        # install, for torch): Python compiles what it imports when it imports it
        [python, "-m", "pip", "install", "--no-compile", "-r", "requirements.txt"],
        cwd=edition02, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert install.returncode == 0, (install.stdout + install.stderr)[-4000:]
    installed = time.perf_counter() - start

    run = tmp_path / "run"
    run.mkdir()
    for assignment in ("01_linear", "02_mlp"):
        released = edition02 / "notebooks" / assignment / f"{assignment}.ipynb"
        nbformat.write(
            _filled(released, COURSE.solution_path(assignment)), run / f"{assignment}.ipynb"
        )
    kernel = tmp_path / "jupyter" / "kernels" / "nn273-edition"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nn273 edition",
        "language": "python",
        "env": {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},  # as the course's kernels: torch threads fight on 2 cores
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    (tmp_path / "execute.py").write_text(EXECUTE)
    start = time.perf_counter()
    result = subprocess.run(
        [python, str(tmp_path / "execute.py"), str(run), "nn273-edition"],
        cwd=run, env={**env, "JUPYTER_PATH": str(tmp_path / "jupyter")}, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    ran = time.perf_counter() - start
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"\nfresh venv: install {installed:.0f} s, notebooks {ran:.0f} s "
          + ", ".join(f"({name} {r['seconds']:.0f} s)" for name, r in report.items()))  # fmt: skip
    assert sorted(report) == ["01_linear", "02_mlp"]
    for name, r in report.items():
        assert r["error"] is None, f"{name}: {r['error']}"
        where = json.loads(r["where"])
        assert Path(where["python"]).is_relative_to(venv), where
        assert Path(where["nn273"]).resolve().is_relative_to(edition02.resolve()), where
