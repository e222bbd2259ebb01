"""The student edition: which names are exercises; an nn273 without the answers that still imports
and works; a course folder with no answer to its current assignment; a student's server on a hub
with nbgrader's student side only; and (slow) that it installs and runs in a fresh virtual
environment."""

import ast
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import sysconfig
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.__main__ import main
from autograder.course import ASSIGNMENTS, COURSE, Course
from autograder.config import COURSE_ID, EXCHANGE_VARIABLE
from autograder.edition import (
    REQUIREMENTS,
    STUDENT_LAB_PLUGINS,
    STUDENT_SERVER_EXTENSIONS,
    build_edition,
    exercises,
    graded_functions,
    write_data,
    write_nn273,
)

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
    for path in package.rglob("*"):
        original = REPO_NN273 / path.relative_to(package)
        if path.is_file() and path.name != "gradcheck.py":
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
        "hub",
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


# Packages that only dask and distributed bring (grading on a cluster); cloudpickle is not in the lock.
ONLY_FOR_A_CLUSTER = """dask distributed click cloudpickle importlib-metadata locket msgpack partd
    sortedcontainers tblib toolz zict zipp""".split()


def _pins(text):
    """{canonical name: pinned line} of a requirements file."""
    return {
        re.sub(r"[-_.]+", "-", line.split("==")[0]).lower(): line
        for line in text.splitlines()
        if "==" in line and not line.startswith("#")
    }


def test_the_folder_installs_what_students_need(edition02):
    requirements = (edition02 / "requirements.txt").read_text().splitlines()
    pins = _pins("\n".join(requirements))
    assert requirements[-1] == "-e ." and requirements.count("-e .") == 1
    assert {
        "numpy",
        "matplotlib",
        "torch",
        "jupyterlab",
        "ipywidgets",
        "ipykernel",
        "nbclient",
    } <= set(pins)
    lock = _pins(REQUIREMENTS.read_text())
    assert all(line == lock[name] for name, line in pins.items())  # the instructors' versions
    # nbgrader's student side (Assignments tab, fetch, submit, validate), with what it needs
    assert pins["nbgrader"] == lock["nbgrader"]
    needs = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", r)[0]).lower()
             for r in importlib.metadata.requires("nbgrader") if "extra ==" not in r}  # fmt: skip
    assert {"alembic", "sqlalchemy", "rapidfuzz", "pyyaml"} <= needs <= set(pins)
    assert "mako" in pins  # alembic's, for nbgrader
    # what dask or distributed need that students' packages need too stays
    assert {"fsspec", "psutil", "pyyaml", "jinja2", "tornado"} <= set(pins)
    assert not set(pins) & {"nbval", "pytest", "hypothesis", "playwright", "coverage"}
    assert not set(pins) & set(ONLY_FOR_A_CLUSTER), set(pins) & set(ONLY_FOR_A_CLUSTER)
    assert 'packages = ["nn273", "nn273.explorers"]' in (edition02 / "pyproject.toml").read_text()
    readme = (edition02 / "README.md").read_text()
    for needle in (
        "pip install -r requirements.txt",
        "jupyter lab notebooks/",
        "notebooks/01_linear/01_linear.ipynb",
        "notebooks/02_mlp/02_mlp.ipynb",
        "Hidden tests run when",
        "does not hold the answers",
        "Assignments tab",
        "nbgrader fetch_assignment 01_linear",
        "RUN cd /opt/nn273 && pip install --no-cache-dir -r requirements.txt",
        f"ENV JUPYTER_CONFIG_PATH=/opt/nn273/hub {EXCHANGE_VARIABLE}=",
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


# ----------------------------------------------------------------------------------- hub/

NBGRADER_LAB = Path(importlib.util.find_spec("nbgrader").origin).parent / "labextension"


def test_hub_settings_keep_nbgrader_s_student_side_only(edition02):
    hub = edition02 / "hub"
    server = json.loads((hub / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.assignment_list": True,
        "nbgrader.server_extensions.validate_assignment": True,
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.course_list": False,
    }
    page = json.loads((hub / "labconfig" / "page_config.json").read_text())
    off = sorted(name for name, disabled in page["disabledExtensions"].items() if disabled)
    instructors = ("course-list", "create-assignment", "formgrader")
    assert off == [f"@jupyter/nbgrader:{plugin}" for plugin in instructors]
    # the names are nbgrader's: its modules and the plugin ids of its lab extension
    bundle = "".join(p.read_text() for p in (NBGRADER_LAB / "static").glob("*.js"))
    for plugin in STUDENT_LAB_PLUGINS:
        assert f'"{plugin}"' in bundle, plugin
    for module in STUDENT_SERVER_EXTENSIONS:
        assert importlib.util.find_spec(module), module
    assert len(page["disabledExtensions"]) == len(page["lockedExtensions"]) == 5

    def loaded(environ):  # as nbgrader reads it, through traitlets
        with _environ(environ):
            c = PyFileConfigLoader("nbgrader_config.py", path=str(hub)).load_config()
        return c.CourseDirectory.course_id, c.Exchange.get("root")

    assert loaded({EXCHANGE_VARIABLE: "/srv/x"}) == (COURSE_ID, "/srv/x")
    assert loaded({EXCHANGE_VARIABLE: None}) == (COURSE_ID, None)  # nbgrader's default then


@contextlib.contextmanager
def _environ(changes):
    """Set (str) or unset (None) environment variables for the block."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        _set_environ(changes)
        yield
    finally:
        _set_environ(saved)


def _set_environ(values):
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_a_student_s_server_with_the_hub_settings(edition02, tmp_path):
    """This environment's Jupyter (nbgrader's every extension on), with JUPYTER_CONFIG_PATH=hub/ as
    a hub's image sets it: the Assignments tab's server side fetches and submits through the
    course's exchange; formgrader and the course list are not there; JupyterLab disables their
    plugins (the slow test checks `jupyter labextension list` in the edition's own environment)."""
    exchange, home = tmp_path / "exchange", tmp_path / "home"
    released = edition02 / "notebooks" / "01_linear" / "01_linear.ipynb"
    (exchange / COURSE_ID / "outbound" / "01_linear").mkdir(parents=True)
    shutil.copyfile(released, exchange / COURSE_ID / "outbound" / "01_linear" / released.name)
    (exchange / COURSE_ID / "inbound").mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env |= {
        "JUPYTER_CONFIG_PATH": str(edition02 / "hub"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "user"),  # not this machine's ~/.jupyter
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),  # nor its nbgrader_cache of submissions
        EXCHANGE_VARIABLE: str(exchange),
    }
    with _student_server(home, env, tmp_path / "server.log") as call:
        assert call("GET", "formgrader")[0] == 404  # formgrader
        assert call("GET", "formgraders")[0] == 404  # course_list
        assert call("GET", "courses") == (200, {"success": True, "value": [COURSE_ID]})
        status, answer = call("GET", f"assignments?course_id={COURSE_ID}")
        assert [(a["assignment_id"], a["status"]) for a in answer["value"]] == [
            ("01_linear", "released")
        ]
        query = f"course_id={COURSE_ID}&assignment_id=01_linear"
        assert call("POST", f"assignments/fetch?{query}")[1]["success"]
        assert (home / "01_linear" / "01_linear.ipynb").read_bytes() == released.read_bytes()
        assert call("POST", f"assignments/submit?{query}")[1]["success"]
        (submitted,) = (exchange / COURSE_ID / "inbound").iterdir()
        assert (submitted / "01_linear.ipynb").is_file()
        page = call("GET", "lab")[1]
        data = re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1]
        config = json.loads(data)
        assert sorted(config["disabledExtensions"]) == sorted(
            name for name, on in STUDENT_LAB_PLUGINS.items() if not on
        )


@contextlib.contextmanager
def _student_server(root, env, log):
    """A Jupyter server on 127.0.0.1 serving `root`; yields call(method, path) -> (status, body)."""
    token = secrets.token_hex(16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip

    def call(method, path):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/{path}",
            method=method,
            headers={"Authorization": f"token {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode()
        with contextlib.suppress(ValueError):
            body = json.loads(body)
        return status, body

    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            with contextlib.suppress(OSError):
                if call("GET", "api/status")[0] == 200:
                    break
            time.sleep(0.2)
        yield call
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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
    _check_student_tools(venv, edition02, env, tmp_path)

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


def _check_student_tools(venv, edition, env, tmp_path):
    """What the install gave: exactly the pinned packages; nbgrader's student commands; in Lab,
    with the hub's settings, nbgrader's extension with the instructors' plugins disabled."""
    hub = {
        **env,
        "JUPYTER_CONFIG_PATH": str(edition / "hub"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "user"),
    }
    commands = {
        "pip": [venv / "bin" / "python", "-m", "pip", "list", "--format=json"],
        "fetch": [venv / "bin" / "nbgrader", "fetch_assignment", "--help"],
        "lab": [venv / "bin" / "jupyter", "labextension", "list"],
    }
    running = {
        name: subprocess.Popen(command, cwd=tmp_path, env=hub, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        for name, command in commands.items()
    }  # fmt: skip
    out = {}
    for name, process in running.items():
        out[name] = re.sub(r"\x1b\[[0-9;]*m", "", process.communicate(timeout=300)[0])  # no colours
        assert process.returncode == 0, f"{name}: {out[name][-3000:]}"
    installed = {re.sub(r"[-_.]+", "-", d["name"]).lower() for d in json.loads(out["pip"])}
    pinned = set(_pins((edition / "requirements.txt").read_text()))
    assert installed - {"pip", "nn273"} == pinned  # nothing unpinned, nothing for a cluster
    assert "--course" in out["fetch"]
    assert re.search(r"@jupyter/nbgrader v\S+ enabled OK", out["lab"]), out["lab"]
    disabled = out["lab"].split("Disabled extensions:", 1)[1].split()
    assert sorted(disabled) == sorted(name for name, on in STUDENT_LAB_PLUGINS.items() if not on)
