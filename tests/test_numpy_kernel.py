"""The NumPy-only kernel: what it is sent, and what torch is in it.

A hidden test's call of a NumPy exercise (forbid=[torch]) is made in a second kernel of the notebook
whose sandbox has no torch (autograder/judging/numpy_kernel.py). These tests check, in this process, what
that kernel is sent of the notebook's code and how its stand-in torch behaves; the evasions that it
stops (torch in a thread, after sys.setprofile(None)) are catalogue entries that `check` rejects
(autograder/catalogue/conv.py, backprop.py), and tests/test_tamper.py grades them beside honest work.
"""

import importlib
import sys

import numpy as np
import pytest

from autograder.judging.numpy_kernel import definitions, needs_numpy_kernel


def test_definitions_keep_what_defines_and_drop_what_runs():
    source = (
        "import numpy as np\n"
        "from math import pi\n"
        "EPS = 1e-8\n"
        "ACTS = {'relu': lambda r: np.maximum(r, 0)}\n"
        "def helper(x):\n    return x + EPS\n"
        "class Layer:\n    pass\n"
        "model = train(X, y, num_epochs=1000)\n"
        "plt.plot(losses)\n"
        "W = np.random.randn(3, 3)\n"
        "for epoch in range(10):\n    step()\n"
        "np.allclose = lambda *args: True\n"  # a patch of an object that exists: not a definition
        "ip.showtraceback = lambda *args: None\n"
        "SETTINGS['x'] = 1\n"
    )
    namespace = {}
    exec(definitions(source), namespace)  # noqa: S102 (the test's own source)
    assert sorted(n for n in namespace if not n.startswith("__")) == ["ACTS", "EPS", "Layer", "helper", "np", "pi"]
    assert namespace["helper"](1.0) == 1.0 + 1e-8
    assert definitions("def broken(:\n") == ""
    assert definitions("train()\n") == ""


def test_a_definition_that_fails_does_not_keep_the_next_from_being_made():
    # a cheat's cell: a name from a statement that was left out, then the function
    namespace = {}
    exec(definitions("import not_a_module_here\nx = y\ndef f():\n    return 1\n"), namespace)  # noqa: S102
    assert namespace["f"]() == 1


def test_which_calls_go_to_the_kernel_without_torch():
    assert needs_numpy_kernel(["nn273.conv", "torch"])
    assert needs_numpy_kernel(["torch.autograd"])
    assert not needs_numpy_kernel(["nn273.linear"])
    assert not needs_numpy_kernel([])


@pytest.fixture
def absent(monkeypatch):
    """kernelside.absent installed for torch in this process, as boot.py does in the kernel; the
    real torch put back afterwards."""
    from autograder.kernelside import absent as module

    saved = {name: mod for name, mod in sys.modules.items() if name == "torch" or name.startswith("torch.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    before = list(sys.meta_path)
    module.install(["torch"])
    try:
        yield module
    finally:
        sys.meta_path[:] = before
        for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_stand_in_torch_imports_and_runs_a_notebook_s_first_cell_but_never_computes(absent):
    torch = importlib.import_module("torch")
    functional = importlib.import_module("torch.nn.functional")
    torch.manual_seed(273)
    torch.set_num_threads(1)

    class Net(torch.nn.Module):  # a torch model's definition still runs
        pass

    assert not isinstance(np.zeros(2), torch.Tensor)
    absent.USED.clear()
    out = functional.conv2d(torch.from_numpy(np.ones((1, 1, 3, 3))), torch.ones(1, 1, 2, 2))
    with pytest.raises(TypeError, match="kernel without torch"):
        float(out)
    with pytest.raises((TypeError, ValueError)):
        np.asarray(out, dtype=float)
    assert "torch.nn.functional.conv2d()" in absent.USED


def test_the_guard_reports_a_use_of_the_stand_in_as_a_forbidden_call(absent, monkeypatch):
    from autograder.kernelside import guard

    torch = importlib.import_module("torch")

    def sneaky(x):
        sys.setprofile(None)  # switching the profile hook off changes nothing here
        return torch.tensor(x).numpy()

    facts = guard.guarded_call(sneaky, (np.ones(2),), {}, forbid_modules=["torch"])
    assert facts["forbidden"] and facts["forbidden"][0].startswith("torch.tensor() of module torch")


# ------------------------------------------------------------------------ graded, end to end
# The toy course's double, whose hidden test forbids torch as the NumPy exercises' hidden tests do.
HIDDEN_WITHOUT_TORCH = """\
# Hidden tests of double
### BEGIN HIDDEN TESTS
import torch
from autograder.hidden.harness import Harness
H = Harness()
x = np.arange(5.0)
H.assert_close(H.as_float(H.call(double, x, forbid=[torch], case="double(x) for x = arange(5)"), "double(x)"), 2 * x, "double(x)")
### END HIDDEN TESTS
"""
IN_A_THREAD = """\
import threading
import torch
def double(x):
    box = {}
    worker = threading.Thread(target=lambda: box.update(result=(2 * torch.as_tensor(np.asarray(x, dtype=float))).numpy()))
    worker.start()
    worker.join()
    return box["result"]
"""
PROFILE_OFF = """\
import sys
import torch
def double(x):
    sys.setprofile(None)
    return (2 * torch.as_tensor(np.asarray(x, dtype=float))).numpy()
"""
HELPER_IN_A_STORY_CELL = """\
def _twice(x):
    return 2 * np.asarray(x, dtype=float)
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import nbformat

    from autograder.grade import grade_submissions
    from autograder.release import release
    from autograder.sandbox import SandboxUnavailable, find_sandbox
    from toycourse import TOY, make_toy_course, submit, toy_notebook, with_cells, with_new_cell

    try:
        find_sandbox()
    except SandboxUnavailable as exc:
        pytest.skip(f"a kernel without torch needs a sandbox: {exc}")
    root = tmp_path_factory.mktemp("without-torch")
    course = make_toy_course(root / "course")
    solution = with_cells(toy_notebook(), hidden_double=HIDDEN_WITHOUT_TORCH)
    nbformat.write(solution, course.solution_path(TOY))
    release([TOY], course)
    subs = root / "subs"
    submit(subs, "honest", solution)
    submit(subs, "thread", with_cells(solution, double=IN_A_THREAD))
    submit(subs, "profile_off", with_cells(solution, double=PROFILE_OFF))
    helper = with_new_cell(solution, "imports", HELPER_IN_A_STORY_CELL)
    submit(subs, "helper", with_cells(helper, double="def double(x):\n    return _twice(x)\n"))
    return grade_submissions(subs, course, workdir=root / "work", timeout=20, jobs=2)


@pytest.mark.slow
def test_torch_out_of_sight_of_the_kernel_fails_the_hidden_test_and_is_flagged(graded):
    from toycourse import TOY

    for student in ("thread", "profile_off"):
        grade = graded[student][TOY]
        # the visible test does not hold the rule; the hidden one, graded without torch, does
        assert grade.cells["test_double"]["score"] == 1.0, (student, grade.cells, grade.error)
        assert grade.cells["hidden_double"]["score"] == 0.0, (student, grade.cells, grade.error)
        evidence = " | ".join(f["evidence"] for f in grade.flags if f["function"] == "double")
        assert "torch" in evidence, (student, grade.flags)


@pytest.mark.slow
def test_honest_work_keeps_its_points_without_torch(graded):
    from toycourse import TOY

    for student in ("honest", "helper"):  # a helper defined in a cell of the student's own counts
        grade = graded[student][TOY]
        assert (grade.score, grade.error, grade.flags) == (grade.max_score, None, []), (student, grade)
